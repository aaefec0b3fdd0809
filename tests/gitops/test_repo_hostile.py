"""Hostile repositories (issue 14 item 8): each bad file or object is skipped with a note naming
it, the model goes on with everything else, nothing outside the repository is read, and a name
holding a newline never reaches a field path, a file path or a diff header."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from domain.changes import FileChange
from domain.errors import InputError
from gitops.diff import unified_diff
from gitops.repo import GitOpsRepo
from gitops.yaml_load import resolve_in_repo
from guardrails import load_policy, validate
from playbooks import load_playbooks, plan
from tests.guardrails.helpers import GOOD_EVIDENCE, context, make_change, rightsize, write_repo

MINI = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  template:
    spec:
      containers:
        - name: {container}
          resources: {{requests: {{cpu: 500m, memory: 1Gi}}, limits: {{memory: 1Gi}}}}
"""


def _deployment(name: str, container: str = "app") -> str:
    return MINI.format(name=name, container=container)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    repo = write_repo(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(_deployment("outsider"))
    os.symlink(outside / "secret.yaml", repo / "base" / "link.yaml")
    os.symlink(outside, repo / "linked-dir")
    nested = "a: " + "[" * 500 + "]" * 500 + "\n"
    (repo / "deep.yaml").write_text(nested)
    (repo / "brackets.yaml").write_text(_deployment('"api[0]"'))
    (repo / "colon.yaml").write_text(_deployment('"ns:api"'))
    (repo / "newline.yaml").write_text(_deployment('"evil\\nname"'))
    (repo / "container.yaml").write_text(_deployment("fine", container='"app]x"'))
    (repo / "name\nbreak.yaml").write_text(_deployment("hidden"))
    os.mkfifo(repo / "pipe.yaml")  # opening it for reading would block a naive reader forever
    (repo / "overlays" / "evil").mkdir()
    (repo / "overlays" / "evil" / "kustomization.yaml").write_text(
        'namespace: "shop\\nprod"\nresources: [../../base]\n'
    )
    return repo


def test_each_hostile_file_is_skipped_with_a_note_and_the_rest_is_indexed(hostile: Path) -> None:
    repo = GitOpsRepo.load(hostile)
    notes = "\n".join(repo.notes)
    assert "base/link.yaml: resolves outside the repository (symlink) (file skipped)" in repo.notes
    assert "linked-dir: symlinked folder leads outside the repository; skipped" in repo.notes
    assert "deep.yaml: line 1: nested deeper than 64 levels; refused (file skipped)" in repo.notes
    assert "pipe.yaml: not a regular file; refused (file skipped)" in repo.notes
    assert "'name\\nbreak.yaml': control character in the file name; skipped" in repo.notes
    assert "brackets.yaml: Deployment skipped: not a valid Kubernetes name: name 'api[0]'" in repo.notes
    assert "colon.yaml: Deployment skipped: not a valid Kubernetes name: name 'ns:api'" in repo.notes
    assert "newline.yaml: Deployment skipped: not a valid Kubernetes name: name 'evil\\nname'" in repo.notes
    assert (
        "container.yaml: Deployment skipped: not a valid Kubernetes name: container name 'app]x'"
        in repo.notes
    )
    assert (
        "overlays/evil/kustomization.yaml: namespace 'shop\\nprod' is not a valid Kubernetes namespace; skipped"
        in repo.notes
    )
    assert all("\n" not in n for n in repo.notes)  # every note is one line
    # Everything else is indexed as before; nothing from outside the repository is.
    names = {(s.namespace, s.obj.name) for s in repo.workload_sites()}
    assert {("shop-prod", "api"), ("shop-dev", "web"), ("kube-system", "metrics")} <= names
    assert not {"outsider", "hidden", "api[0]", "ns:api", "evil\nname", "fine"} & {n for _, n in names}
    assert "outsider" not in notes and not any("outside" in p for p in repo.files)
    facts = repo.manifest_facts()
    assert facts.notes == tuple(repo.notes)
    assert all("\n" not in c.workload and "[" not in c.workload for c in facts.containers)


def test_scan_goes_on_in_a_hostile_repository(hostile: Path) -> None:
    findings = [
        rightsize("shop-prod", "api", {"cpu_request": "1.9"}, {**GOOD_EVIDENCE, "cpu_p95": "1.5"}),
        rightsize("default", "api[0]", {"cpu_request": "0.3"}),
        rightsize("default", "evil\nname", {"cpu_request": "0.3"}),
    ]
    policy = load_policy(hostile)
    result = plan(findings, hostile, load_playbooks(), policy)
    assert [c.target_slug for c in result.changes] == ["shop-prod"]  # one PR per namespace
    skipped = dict(result.skipped)
    assert skipped[findings[1].id] == f"finding {findings[1].id}: workload api[0] not found in the repository"
    assert "not found in the repository" in skipped[findings[2].id]
    (change,) = result.changes
    assert [f.path for f in change.files] == ["overlays/prod/patches/api.yaml"]
    assert "evil" not in change.diff and "api[0]" not in change.diff
    report = validate(change, context(hostile, policy=policy))
    assert report.passed, [f"{r.rule_id}: {r.message}" for r in report.failures]


def test_a_newline_in_a_path_never_forges_a_diff_header(hostile: Path) -> None:
    with pytest.raises(InputError, match=r"control character in the path; refused"):
        resolve_in_repo(hostile, "overlays/prod/patches/x\n+++ b/evil.yaml")
    diff = unified_diff([FileChange(path="a\n+++ b/evil.yaml", before="a: 1\n", after="a: 2\n")])
    assert diff.splitlines()[:2] == ['--- "a/a\\n+++ b/evil.yaml"', '+++ "b/a\\n+++ b/evil.yaml"']
    change = make_change(
        hostile,
        {"overlays/prod/patches/x\n.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"},
        [rightsize("shop-prod", "api", {"cpu_request": "1.9"})],
    )
    report = validate(change, context(hostile))
    assert "path-inside-repo" in {r.rule_id for r in report.failures}


def test_a_symlinked_policy_leading_outside_is_refused(tmp_path: Path) -> None:
    from domain.errors import ConfigError

    repo = write_repo(tmp_path / "repo", {"a.yaml": "a: 1\n"})
    (tmp_path / "evil-policy.yaml").write_text("cooldown_hours: 0\n")
    (repo / ".costpilot").mkdir()
    os.symlink(tmp_path / "evil-policy.yaml", repo / ".costpilot" / "policy.yaml")
    with pytest.raises(
        ConfigError, match=r"^\.costpilot/policy\.yaml: resolves outside the repository \(symlink\)$"
    ):
        load_policy(repo)
