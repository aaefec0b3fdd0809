"""Round-trip patching: only the edited bytes change; hostile YAML and paths are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitops.yaml_patch import (
    FieldEdit,
    PatchError,
    UnsafeYamlError,
    check_safe_yaml,
    load_documents,
    read_field,
    resolve_in_repo,
    set_fields,
)
from gitops.yaml_path import MISSING, format_path, parse_path, pattern_matches

MANIFEST = """# checkout — owned by team shop
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  labels:
    app: checkout   # keep me
spec:
  replicas: 3 # three for the peak
  template:
    spec:
      containers:
        - name: api
          image: "registry/checkout:1.2.3"
          resources:
            requests:
              cpu: "500m"
              memory: 1Gi
            limits:
              memory: 2Gi
          # trailing comment
        - name: sidecar
          image: envoy:1.29
          resources: {requests: {cpu: 100m}}
        - name: empty
          resources:
---
apiVersion: v1
kind: Service
metadata:
  name: checkout
spec:
  ports: [{port: 80}]
"""
API = "spec.template.spec.containers[api].resources"


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    return [(b, a) for b, a in zip(before.splitlines(), after.splitlines(), strict=False) if b != a]


def test_scalar_edit_keeps_quotes_comments_and_every_other_byte() -> None:
    out = set_fields(
        MANIFEST, [FieldEdit(0, f"{API}.requests.cpu", "250m"), FieldEdit(0, "spec.replicas", 2)]
    )
    assert changed_lines(MANIFEST, out) == [
        ("  replicas: 3 # three for the peak", "  replicas: 2 # three for the peak"),
        ('              cpu: "500m"', '              cpu: "250m"'),
    ]
    assert len(out.splitlines()) == len(MANIFEST.splitlines())


@pytest.mark.parametrize("locator", ["libyaml", "ruamel"])
def test_missing_keys_are_inserted_at_the_mapping_indentation(locator: str) -> None:
    out = set_fields(
        MANIFEST,
        [
            FieldEdit(0, f"{API}.limits.cpu", "1"),
            FieldEdit(0, 'metadata.labels["costpilot.io/team"]', "shop"),
        ],
        locator=locator,
    )
    assert '              memory: 2Gi\n              cpu: "1"\n          # trailing comment' in out
    assert "    app: checkout   # keep me\n    costpilot.io/team: shop\nspec:" in out
    assert read_field(out, 0, f"{API}.limits.cpu") == "1"  # a quoted string: "1" plain would read as an int


@pytest.mark.parametrize("locator", ["libyaml", "ruamel"])
def test_flow_mapping_and_empty_value_get_the_new_keys(locator: str) -> None:
    out = set_fields(
        MANIFEST,
        [
            FieldEdit(0, "spec.template.spec.containers[sidecar].resources.requests.memory", "64Mi"),
            FieldEdit(0, "spec.template.spec.containers[sidecar].resources.limits.memory", "128Mi"),
            FieldEdit(0, "spec.template.spec.containers[empty].resources.requests.cpu", "10m"),
        ],
        locator=locator,
    )
    assert "resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}" in out
    assert (
        "        - name: empty\n          resources:\n            requests:\n              cpu: 10m\n---"
        in out
    )


def test_second_document_untouched_when_first_is_edited_and_vice_versa() -> None:
    first, second = MANIFEST.split("---\n")
    out = set_fields(MANIFEST, [FieldEdit(0, f"{API}.requests.memory", "768Mi")])
    assert out.endswith("---\n" + second)
    out = set_fields(MANIFEST, [FieldEdit(1, "metadata.name", "checkout-v2")])
    assert out.startswith(first + "---\n")


def test_values_that_would_change_type_are_quoted() -> None:
    out = set_fields("a: x\nb: y\n", [FieldEdit(0, "a", "yes"), FieldEdit(0, "b", "1.5")])
    assert out == 'a: "yes"\nb: "1.5"\n'
    assert load_documents(out) == [{"a": "yes", "b": "1.5"}]


def test_single_quoted_style_is_kept() -> None:
    assert set_fields("model: 'gpt-4o'\n", [FieldEdit(0, "model", "gpt-4o-mini")]) == "model: 'gpt-4o-mini'\n"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            FieldEdit(0, "spec.template.spec.containers[nope].resources.requests.cpu", "1"),
            "no list item named 'nope'",
        ),
        (FieldEdit(0, "spec.template", "1"), "is a mapping, not a value"),
        (FieldEdit(3, "spec.replicas", 1), "no YAML document #3"),
        (FieldEdit(0, "spec.replicas.deeper", 1), "parent is not a mapping"),
    ],
)
def test_impossible_edits_name_the_document_and_path(edit: FieldEdit, message: str) -> None:
    with pytest.raises(PatchError, match=message) as info:
        set_fields(MANIFEST, [edit], "base/checkout.yaml")
    assert "base/checkout.yaml" in str(info.value)


def test_alias_bomb_is_refused_before_expansion() -> None:
    bomb = (
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n"
    )
    with pytest.raises(UnsafeYamlError, match="line 1: YAML anchor &a"):
        load_documents(bomb, "bomb.yaml")
    with pytest.raises(UnsafeYamlError):
        set_fields(bomb, [FieldEdit(0, "a", "y")], "bomb.yaml")


def test_alias_merge_key_and_size_limits_are_refused() -> None:
    with pytest.raises(UnsafeYamlError, match="alias"):
        check_safe_yaml("a: 1\nb: *x\n")
    with pytest.raises(UnsafeYamlError, match="merge key"):
        check_safe_yaml("a:\n  <<: {b: 1}\n")
    with pytest.raises(UnsafeYamlError, match="larger than"):
        check_safe_yaml("a: " + "x" * 1_000_001)
    with pytest.raises(UnsafeYamlError, match="more than 200 YAML documents"):
        check_safe_yaml("---\na: 1\n" * 201)


def test_broken_yaml_is_one_line_error() -> None:
    with pytest.raises(PatchError, match=r"^f.yaml: not valid YAML: ") as info:
        load_documents("a: [1, 2\n", "f.yaml")
    assert "\n" not in str(info.value)


def test_paths_must_stay_in_the_repo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "base").mkdir(parents=True)
    (tmp_path / "secret.yaml").write_text("a: 1\n")
    os.symlink(tmp_path / "secret.yaml", repo / "base" / "link.yaml")
    assert resolve_in_repo(repo, "base/api.yaml") == (repo / "base" / "api.yaml").resolve()
    for bad, why in [
        ("../secret.yaml", "escapes"),
        ("/etc/passwd", "not a relative path"),
        ("base/link.yaml", "symlink"),
        (".git/config", ".git"),
    ]:
        with pytest.raises(PatchError, match=why):
            resolve_in_repo(repo, bad)


def test_path_syntax_round_trips_and_patterns_match() -> None:
    path = "spec.template.spec.containers[api].resources.requests.cpu"
    assert format_path(parse_path(path)) == path
    assert (
        format_path(parse_path('metadata.labels["costpilot.io/opt-out"]'))
        == 'metadata.labels["costpilot.io/opt-out"]'
    )
    assert pattern_matches("spec.template.spec.containers[*].resources.requests.cpu", "Deployment/x", path)
    assert not pattern_matches("spec.template.spec.containers[*].resources.requests.cpu", None, path + "x")
    assert pattern_matches("metadata.labels.*", None, 'metadata.labels["costpilot.io/team"]')
    assert pattern_matches(
        "HorizontalPodAutoscaler/*:spec.minReplicas", "HorizontalPodAutoscaler/web", "spec.minReplicas"
    )
    assert not pattern_matches(
        "HorizontalPodAutoscaler/*:spec.minReplicas", "Deployment/web", "spec.minReplicas"
    )
    with pytest.raises(Exception, match="malformed field path"):
        parse_path("a..b")
    assert read_field(MANIFEST, 0, "spec.nothing") is MISSING
