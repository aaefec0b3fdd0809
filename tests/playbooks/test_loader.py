"""Playbook loading: bundled playbooks are valid; every error names file, playbook and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from domain.errors import ConfigError
from domain.findings import FindingKind
from playbooks import ACTIONS, load_playbooks
from playbooks.loader import BUILTIN

GOOD = (BUILTIN / "rightsize-requests.yaml").read_text()


def test_bundled_playbooks_load() -> None:
    books = load_playbooks()
    assert sorted(books) == ["cheaper-model", "enforce-cost-tags", "rightsize-requests", "scale-idle-nonprod"]
    rs = books["rightsize-requests"]
    assert rs.detector is FindingKind.rightsize and rs.action == "set-resources"
    assert "above-observed-peak" in rs.guardrails
    assert rs.approvers.production == ["group:platform-leads"] and rs.approvers.four_eyes_in_production
    # one PR per namespace: "right-size api in shop-prod", "right-size 7 workloads in shop-prod"
    assert rs.grouping == "namespace" and rs.min_monthly_saving == 20
    assert (
        rs.pr.title.format(subject="7 workloads", namespace="shop-prod")
        == "costpilot: right-size 7 workloads in shop-prod"
    )
    assert rs.pr.increase_title.format(subject="api", namespace="shop-prod") == (
        "costpilot: raise requests of api in shop-prod (reliability)"
    )
    assert books["enforce-cost-tags"].min_monthly_saving == 0  # tag hygiene: exempt from the floor
    assert books["cheaper-model"].targets.sources == ["routing"]
    assert {b.action for b in books.values()} == set(ACTIONS)


def one(tmp_path: Path, text: str, name: str = "rightsize-requests") -> Path:
    folder = tmp_path / "books"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda t: t + "colour: blue\n",
            "rightsize-requests.yaml: playbook rightsize-requests: colour: unknown key",
        ),
        (lambda t: t.replace("  title:", "  titel:"), "playbook rightsize-requests: pr.titel: unknown key"),
        (
            lambda t: t.replace("detector: rightsize", "detector: magic"),
            "detector: Input should be 'rightsize'",
        ),
        (
            lambda t: t.replace("action: set-resources", "action: delete-all"),
            "action: unknown action 'delete-all'; valid: add-labels, scale-replicas, set-model, set-resources",
        ),
        (
            lambda t: t.replace("  - enough-evidence\n", "  - vibes\n"),
            "guardrails.4: unknown guardrail 'vibes'; valid: above-observed-peak",
        ),
        (
            lambda t: t.replace("detector: rightsize", "detector: idle"),
            "detector: action set-resources handles rightsize, not idle",
        ),
        (
            lambda t: t.replace("  resources: [cpu_request", "  resources: [gpu_request"),
            "options.resources.0: Input should be",
        ),
        (lambda t: t.replace("options:\n", "options:\n  force: true\n"), "options.force: unknown key"),
        (
            lambda t: t.replace('{subject} in {namespace}"', '{subject} in {region}"'),
            "pr.title: unknown placeholder {region}",
        ),
        (
            lambda t: t.replace("  - spec.template.spec.containers[*].resources.requests.cpu\n", ""),
            "fields: action set-resources writes spec.template.spec.containers[*].resources.requests.cpu",
        ),
        (
            lambda t: t.replace("name: rightsize-requests", "name: other"),
            "playbook other: name: must match the file name",
        ),
        (
            lambda t: t.replace('  default: ["group:platform"]', "  default: []"),
            "approvers.default: List should have at least 1 item",
        ),
        (lambda t: "- just\n- a list\n", "a playbook file holds one YAML mapping"),
        (lambda t: t + "x: &a 1\n", "anchors and aliases are refused"),
    ],
)
def test_errors_name_file_playbook_and_key(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    folder = one(tmp_path, mutate(GOOD))
    with pytest.raises(ConfigError) as info:
        load_playbooks(folder)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no playbooks"):
        load_playbooks(tmp_path)
    with pytest.raises(ConfigError, match="playbook folder not found"):
        load_playbooks(tmp_path / "nope")


def test_a_custom_folder_replaces_the_bundled_one(tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    shutil.copy(BUILTIN / "cheaper-model.yaml", folder)
    assert list(load_playbooks(folder)) == ["cheaper-model"]
