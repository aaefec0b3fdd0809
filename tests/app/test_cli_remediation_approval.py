"""Approval against the current base, and the PR body kept with the PR record.

The approval binds to the SHA-256 of the exact patch: ``approve`` (and the resume after a failed
forge call) re-plans the proposal on the GitOps repo as it is now; a changed patch voids the
approval, records a new proposal and opens no PR. Real playbooks, guardrails and local forge on a
git repository in tmp_path; only the detector registry is replaced.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.errors import ExternalError
from domain.findings import Finding, FindingKind
from gitops import forges
from gitops.forges import PublishRequest, PublishResult
from guardrails.report import render_report_markdown
from services import remediation
from services.deps import Deps
from services.settings import load_settings
from store import audit
from tests.app.github_workspace import github_forge_for

GIB = 1024**3
BRANCH = "costpilot/rightsize-requests/shop"
MANIFEST = """\
# api deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2
          resources:
            requests:
              cpu: "2"
              memory: 4Gi
            limits:
              memory: 4Gi
"""
REMEDIATION_TOML = """\
ttl_hours = 24
[approvers.groups]
platform = ["U_ALICE", "U_BOB"]
platform-leads = ["U_CAROL", "U_DAVE"]
"""
VOID = "the base moved and the patch changed; approval void: re-validated as {new}, ask again"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def commit_on_main(repo: Path, path: str, old: str, new: str) -> str:
    """Someone else's commit on the GitOps repo's main (the checkout costpilot plans on)."""
    file = repo / path
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new, 1))
    git(repo, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-q", "-am", f"edit {path}")
    return git(repo, "rev-parse", "HEAD").strip()


def api_finding(namespace: str = "shop") -> Finding:
    return Finding(
        kind=FindingKind.rightsize,
        target={
            "cluster": "c1",
            "namespace": namespace,
            "kind": "Deployment",
            "workload": "api",
            "container": "api",
        },
        title="Right-size api",
        current={"cpu_request": "2", "memory_request": 4 * GIB, "memory_limit": 4 * GIB},
        proposed={"cpu_request": "1.5", "memory_request": 3 * GIB, "memory_limit": 3 * GIB},
        evidence={"cpu_p95": "0.9", "memory_peak": 2 * GIB, "days": 14, "samples": 4032},
        monthly_cost_now=Decimal("120"),
        monthly_cost_after=Decimal("90"),
    )


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    repo = tmp_path / "gitops"
    (repo / "apps" / "api").mkdir(parents=True)
    (repo / "apps" / "api" / "deployment.yaml").write_text(MANIFEST)
    (repo / "README.md").write_text("# gitops\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "initial")
    return repo


@pytest.fixture
def env(workspace: Path, gitops: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "remediation.toml").write_text(REMEDIATION_TOML)
    monkeypatch.setattr(remediation, "DETECTORS", {"fake": lambda ctx: [api_finding()]})
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(gitops))
    for var in ("GITHUB_TOKEN", "COSTPILOT_GITHUB_APP_ID"):
        monkeypatch.delenv(var, raising=False)
    return workspace


def scan_for_api(run_cli) -> str:  # type: ignore[no-untyped-def]
    result = run_cli("scan", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["awaiting_approval"] == [data["proposals"][0]["id"]]
    return str(data["awaiting_approval"][0])


class BrokenForge:
    name = "local"

    def __init__(self) -> None:
        self.calls = 0

    def publish(self, request: PublishRequest) -> PublishResult:
        self.calls += 1
        raise ExternalError("git update-ref in /repo: simulated crash")


def states(run_cli) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p["id"]: p["state"] for p in run_cli("proposals", "list", "--json").json()}


# ----- the base moved and the patch changed: the approval is void -----


def test_approved_then_main_moved_then_approve_opens_no_branch_and_asks_again(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = scan_for_api(run_cli)
    old_base = git(gitops, "rev-parse", "HEAD").strip()
    broken = BrokenForge()
    monkeypatch.setitem(forges.FORGES, "local", lambda config: broken)
    first = run_cli("approve", pid, "--as", "U_ALICE")
    assert first.code == 2 and first.err == "costpilot: error: git update-ref in /repo: simulated crash\n"
    assert states(run_cli) == {pid: "pr_failed"}  # approved, the PR step failed: retried later
    monkeypatch.undo()  # the real local forge again (and the env below set anew)
    monkeypatch.setattr(remediation, "DETECTORS", {"fake": lambda ctx: [api_finding()]})
    monkeypatch.setenv("COSTPILOT_HOME", str(env))
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(gitops))

    new_base = commit_on_main(gitops, "apps/api/deployment.yaml", 'cpu: "2"', 'cpu: "1800m"')
    result = run_cli("approve", pid, "--as", "U_ALICE")

    assert result.code == 2 and result.out == ""
    listed = states(run_cli)
    (new,) = set(listed) - {pid}
    assert result.err == f"costpilot: error: {VOID.format(new=new)}\n"
    assert result.err.count("\n") == 1
    assert listed == {pid: "superseded", new: "awaiting_approval"}
    assert git(gitops, "branch", "--list", "costpilot/*") == ""  # no PR on the old base
    assert (gitops / "apps/api/deployment.yaml").read_text().count('cpu: "1800m"') == 1

    old = run_cli("proposals", "show", pid, "--json").json()
    assert (old["superseded_by"], old["pull_requests"], old["pr_body"]) == (new, [], None)
    assert [e["action"] for e in old["audit"]] == [
        "drafted",
        "awaiting_approval",
        "approved",
        "pr_failed",
        "superseded",
    ]
    service = service_for(env)
    (void,) = [e for e in audit.events_for(service.engine, pid) if e.action == "superseded"]
    assert void.actor == "costpilot"
    assert void.data == (
        f'{{"approval_void":true,"reason":"base moved from {old_base[:12]} to {new_base[:12]} and the '
        f'patch changed","superseded_by":"{new}"}}'
    )
    fresh = run_cli("proposals", "show", new, "--json").json()
    assert '-              cpu: "1800m"' in fresh["diff"] and '+              cpu: "1500m"' in fresh["diff"]
    assert {g["rule_id"] for g in fresh["guardrails"]} >= {"above-observed-peak", "no-secrets"}
    assert fresh["approved_by"] is None

    # Asked again, the new proposal opens the branch on the current base with the current values.
    again = run_cli("approve", new, "--as", "U_BOB")
    assert again.code == 0, again.err
    assert git(gitops, "rev-parse", f"{BRANCH}^").strip() == new_base
    assert git(gitops, "diff", "--stat", new_base, BRANCH).strip().startswith("apps/api/deployment.yaml")
    assert 'cpu: "1500m"' in git(gitops, "show", f"{BRANCH}:apps/api/deployment.yaml")
    assert broken.calls == 1
    assert run_cli("audit", "verify").code == 0


def test_awaiting_proposal_approved_after_main_moved_is_void_at_once(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli
) -> None:
    pid = scan_for_api(run_cli)
    commit_on_main(
        gitops,
        "apps/api/deployment.yaml",
        "memory: 4Gi\n            limits",
        "memory: 5Gi\n            limits",
    )
    result = run_cli("approve", pid, "--as", "U_ALICE", "--json")
    assert result.code == 2 and result.out == ""
    (new,) = set(states(run_cli)) - {pid}
    assert result.err == f"costpilot: error: {VOID.format(new=new)}\n"
    assert states(run_cli)[pid] == "superseded"
    assert git(gitops, "branch", "--list", "costpilot/*") == ""
    # The void approval cannot be reused.
    late = run_cli("approve", pid, "--as", "U_BOB")
    assert late.code == 2 and late.err == (
        f"costpilot: error: proposal {pid} cannot be approved: superseded by {new} "
        "(the patch changed; the approval is void)\n"
    )


def test_change_already_made_on_main_voids_the_approval_without_a_new_proposal(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli
) -> None:
    pid = scan_for_api(run_cli)
    path = gitops / "apps/api/deployment.yaml"
    path.write_text(
        path.read_text().replace('cpu: "2"', 'cpu: "1500m"').replace("memory: 4Gi", "memory: 3Gi")
    )
    git(gitops, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-q", "-am", "done by hand")
    result = run_cli("approve", pid, "--as", "U_ALICE")
    assert result.code == 2
    assert result.err == (
        "costpilot: error: the base moved and nothing is left to change; approval void: "
        f"{pid} superseded, no PR opened\n"
    )
    assert states(run_cli) == {pid: "superseded"}
    assert git(gitops, "branch", "--list", "costpilot/*") == ""


def test_scan_resume_of_a_void_approval_is_a_note_and_no_branch(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli
) -> None:
    pid = scan_for_api(run_cli)
    service = service_for(env)
    broken = BrokenForge()
    service.forge = lambda: broken  # type: ignore[assignment,return-value]
    with pytest.raises(ExternalError):
        service.approve(pid, "U_ALICE")
    commit_on_main(gitops, "apps/api/deployment.yaml", 'cpu: "2"', 'cpu: "1800m"')
    pipeline = pipeline_for(env, service)
    # The detectors no longer report api (say its data aged out): only the resume sees it.
    summary = service.scan([], pipeline.plan, pipeline.validate)
    (new,) = set(states(run_cli)) - {pid}
    assert summary.resumed == []
    assert summary.notes == [f"{pid}: {VOID.format(new=new)}"]
    assert states(run_cli) == {pid: "superseded", new: "awaiting_approval"}
    assert broken.calls == 1 and git(gitops, "branch", "--list", "costpilot/*") == ""


def test_the_new_proposal_keeps_the_requester_so_four_eyes_still_holds(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = gitops / "apps/api/deployment.yaml"
    path.write_text(MANIFEST.replace("namespace: shop", "namespace: payments-prod"))
    git(gitops, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-q", "-am", "to prod")
    monkeypatch.setattr(remediation, "DETECTORS", {"fake": lambda ctx: [api_finding("payments-prod")]})
    data = run_cli("scan", "--json", "--as", "U_CAROL").json()
    (pid,) = data["awaiting_approval"]
    assert data["proposals"][0]["environment"] == "production"
    commit_on_main(gitops, "apps/api/deployment.yaml", 'cpu: "2"', 'cpu: "1800m"')
    void = run_cli("approve", pid, "--as", "U_DAVE")
    (new,) = set(states(run_cli)) - {pid}
    assert void.code == 2 and void.err == f"costpilot: error: {VOID.format(new=new)}\n"
    fresh = run_cli("proposals", "show", new, "--json").json()
    assert (fresh["requested_by"], fresh["environment"]) == ("U_CAROL", "production")
    own = run_cli("approve", new, "--as", "U_CAROL")
    assert own.code == 2 and own.err == (
        f"costpilot: error: U_CAROL may not approve {new}: in production the requester may not approve "
        "their own change\n"
    )
    assert run_cli("approve", new, "--as", "U_DAVE").code == 0


# ----- the base moved but the patch is the same: the approval stands -----


def test_unchanged_patch_on_a_moved_base_is_committed_on_the_current_base(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli
) -> None:
    pid = scan_for_api(run_cli)
    shown = run_cli("proposals", "show", pid, "--json").json()
    # Another file and a line far from the patch in the same file change on main.
    commit_on_main(gitops, "README.md", "# gitops", "# gitops (owned by platform)")
    new_base = commit_on_main(gitops, "apps/api/deployment.yaml", "# api deployment", "# api deployment!")
    result = run_cli("approve", pid, "--as", "U_ALICE")
    assert result.code == 0, result.err
    url = f"file://{gitops.resolve()}#refs/heads/{BRANCH}"
    assert result.out.splitlines() == [f"{pid}: approved by U_ALICE; opened {url}", f"branch {BRANCH}"]
    assert states(run_cli) == {pid: "pr_opened"}
    # The branch sits on today's main; nothing made there since the scan is reverted.
    assert git(gitops, "rev-list", "--parents", "-n", "1", BRANCH).split()[1:] == [new_base]
    patched = git(gitops, "show", f"{BRANCH}:apps/api/deployment.yaml")
    assert patched.startswith("# api deployment!\n") and 'cpu: "1500m"' in patched
    assert git(gitops, "show", f"{BRANCH}:README.md") == "# gitops (owned by platform)\n"
    assert _changed_lines(git(gitops, "diff", new_base, BRANCH)) == _changed_lines(shown["diff"])
    after = run_cli("proposals", "show", pid, "--json").json()
    assert after["patch_sha256"] == shown["patch_sha256"]
    assert f"(base `{new_base[:12]}`)" in after["pr_body"]


def test_without_a_base_move_approve_proceeds_and_a_second_click_is_answered(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli
) -> None:
    pid = scan_for_api(run_cli)
    base = git(gitops, "rev-parse", "HEAD").strip()
    assert run_cli("approve", pid, "--as", "U_ALICE").code == 0
    assert git(gitops, "rev-list", "--parents", "-n", "1", BRANCH).split()[1:] == [base]
    again = run_cli("approve", pid, "--as", "U_BOB")
    assert again.code == 0 and again.out.startswith(f"{pid}: already approved by U_ALICE; PR file://")
    assert states(run_cli) == {pid: "pr_opened"}


# ----- the PR body, kept with the PR record and in the local commit -----


def test_pr_body_is_stored_shown_and_in_the_local_commit_message(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = scan_for_api(run_cli)
    base = git(gitops, "rev-parse", "HEAD").strip()
    assert run_cli("approve", pid, "--as", "U_ALICE").code == 0
    shown = run_cli("proposals", "show", pid, "--json").json()
    body = shown["pr_body"]
    (record,) = shown["pull_requests"]
    assert record["body"] == body and record["forge"] == "local" and record["created"] is True

    approved_at = shown["approved_at"]  # ISO, UTC
    when = f"{approved_at[:10]} {approved_at[11:16]} UTC"
    service = service_for(env)
    proposal = service.show(pid)
    stored_md = render_report_markdown(proposal.report)
    # The PR carries the report made right before it was written (guardrails judged again on the
    # current base): the same verdicts as the stored one, checked at a later time.
    report_md = body.split("### Guardrails\n\n", 1)[1].split("\n### Approval", 1)[0]
    stamp = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00")
    assert stamp.sub("T", report_md) == stamp.sub("T", stored_md)
    sha = proposal.patch_sha256
    # The audit chain's head when the PR was written, anchored outside the state DB.
    anchor = body.rsplit("<!-- costpilot:audit-head=", 1)[1].split(" -->", 1)[0]
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", anchor)
    assert body == (
        f"<!-- costpilot:proposal={pid} -->\n"
        "## costpilot: right\\-size api in shop\n"
        "\n"
        f"{_intro()}"
        "Monthly cost: **$120.00 → $90.00** (-$30.00 per month).\n"
        "\n"
        "| workload | change | now $/month | after $/month | delta |\n"
        "|---|---|---:|---:|---:|\n"
        "| shop/Deployment/api | api: cpu request 2 → 1500m, memory request 4Gi → 3Gi, memory limit 4Gi → 3Gi "
        "| $120.00 | $90.00 | -$30.00 |\n"
        "| **total** (1 workload) | | **$120.00** | **$90.00** | **-$30.00** |\n"
        "\n"
        "### Evidence\n"
        "\n"
        f"- shop/Deployment/api/api: cpu\\_p95: 0\\.9; memory\\_peak: {2 * GIB}; days: 14; samples: 4032\n"
        "\n"
        "### Guardrails\n"
        "\n"
        f"{report_md}\n"
        "### Approval\n"
        "\n"
        f"- Approved by U\\_ALICE at {when}.\n"
        f"- Patch SHA-256: `{sha}` (base `{base[:12]}`)\n"
        "- Files: `apps/api/deployment.yaml`\n"
        "\n"
        f"<sub>Opened by costpilot for proposal {pid}. Edits to this branch are overwritten on the "
        "next approved change for the same target.</sub>\n"
        f"<!-- costpilot:audit-head={anchor} -->\n"
    )
    assert report_md.startswith("**Guardrails ") and "| `above-observed-peak` |" in report_md

    message = git(gitops, "log", "-1", "--format=%B", BRANCH)
    assert message == (
        "costpilot: right-size api in shop\n\n"
        + body.rstrip("\n")
        + f"\n\ncostpilot proposal {pid}\nPatch-SHA256: {sha}\nApproved-by: U_ALICE\nAudit-Head: {anchor}\n\n"
    )

    text = run_cli("proposals", "show", pid).out
    head, _, printed = text.partition("pull request body (local):\n")
    assert "audit:" in head and printed == body


@contextlib.contextmanager
def github_forge(env: Path, gitops: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """The workspace's forge: real PyGithub against the GitHub stand-in over a bare clone."""
    (env / "remediation.toml").write_text(f'gitops_checkout = "{gitops}"\n' + REMEDIATION_TOML)
    with github_forge_for(gitops, monkeypatch, tmp_path) as server:
        yield server


def test_github_pr_body_is_stored_with_the_pr_record(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with github_forge(env, gitops, monkeypatch, tmp_path) as server:
        pid = scan_for_api(run_cli)
        result = run_cli("approve", pid, "--as", "U_ALICE")
        assert result.code == 0, result.err
        shown = run_cli("proposals", "show", pid, "--json").json()
        (record,) = shown["pull_requests"]
        assert (record["forge"], record["number"]) == ("github", 1)
        assert shown["pr_body"] == record["body"] == server.pulls[1]["body"]
        assert "- Approved by U\\_ALICE at " in shown["pr_body"]  # data in the body is escaped
        text = run_cli("proposals", "show", pid).out
        assert text.endswith("pull request body (github):\n" + server.pulls[1]["body"])


def test_audit_verify_checks_the_chain_against_the_github_pr_anchors(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with github_forge(env, gitops, monkeypatch, tmp_path) as server:
        pid = scan_for_api(run_cli)
        assert run_cli("approve", pid, "--as", "U_ALICE").code == 0
        seq = int(server.pulls[1]["body"].split("<!-- costpilot:audit-head=")[1].split(":")[0])
        intact = run_cli("audit", "verify")
        assert intact.code == 0 and intact.out.endswith("events, 1 PR anchor checked\n"), intact.err
        with sqlite3.connect(env / "state.sqlite") as conn:  # truncated, the head reset to match
            conn.execute("DELETE FROM audit_events WHERE seq >= ?", (seq,))
            tip = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (seq - 1,)).fetchone()[0]
            conn.execute("UPDATE audit_head SET seq = ?, last_hash = ? WHERE id = 1", (seq - 1, tip))
        tampered = run_cli("audit", "verify")
        assert tampered.code == 2
        assert (
            f"PR https://github.test/acme/gitops/pull/1 records event {seq}, but the chain ends at event {seq - 1}"
            in tampered.err
        )
        # GitHub unreachable: the verification fails, it does not pass without the anchors.
        monkeypatch.setenv("COSTPILOT_GITHUB_BASE_URL", "http://127.0.0.1:9/")
        down = run_cli("audit", "verify")
        assert down.code != 0 and "GitHub" in down.err and "Traceback" not in down.err


def _intro() -> str:
    """The playbook's own PR intro paragraph, as the body renders it (empty when it has none)."""
    intro = remediation.playbook_meta().intros["rightsize-requests"].strip()
    return f"{intro}\n\n" if intro else ""


# ----- helpers -----


def _changed_lines(diff: str) -> list[str]:
    return [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]


def service_for(home: Path) -> remediation.RemediationService:
    settings = load_settings(home)
    return remediation.build_service(Deps(settings))


def pipeline_for(home: Path, service: remediation.RemediationService) -> Any:
    settings = load_settings(home)
    pipeline = remediation.build_pipeline(Deps(settings), service)
    service.environment_of = pipeline.environment_of
    return pipeline
