"""scan → proposals → approve/reject → PR through the CLI and the service, on a real git repo.

Detectors are replaced by a registry entry returning Findings built here; playbooks and
guardrails are the real ones; the forge is the local one (a git repository on disk).
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.errors import ExternalError, InputError
from domain.findings import Finding, FindingKind
from gitops.forges import PublishRequest, PublishResult
from services import remediation
from services.deps import Deps
from services.settings import load_settings
from store import audit
from store.proposals import ProposalState
from tests.app.github_workspace import github_forge_for

GIB = 1024**3
MANIFEST = """\
# {name} deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
spec:
  replicas: 3
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: {name}
          image: ghcr.io/acme/{name}:1.4.2
          resources:
            requests:
              cpu: "2"
              memory: 4Gi
            limits:
              memory: 4Gi
"""
# One namespace per workload: right-sizing opens one PR per namespace (costpilot/<playbook>/<namespace>).
WORKLOADS = {"api": "shop", "web": "shop-web", "pay": "payments-prod"}
REMEDIATION_TOML = """\
ttl_hours = 24
[approvers.groups]
platform = ["U_ALICE", "U_BOB"]
platform-leads = ["U_CAROL", "U_DAVE"]
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def finding(workload: str, cpu: str = "1.5", *, days: int = 14) -> Finding:
    return Finding(
        kind=FindingKind.rightsize,
        target={
            "cluster": "c1",
            "namespace": WORKLOADS[workload],
            "kind": "Deployment",
            "workload": workload,
            "container": workload,
        },
        title=f"Right-size {workload}",
        current={"cpu_request": "2", "memory_request": 4 * GIB, "memory_limit": 4 * GIB},
        proposed={"cpu_request": cpu, "memory_request": 3 * GIB, "memory_limit": 3 * GIB},
        evidence={"cpu_p95": "0.9", "memory_peak": 2 * GIB, "days": days, "samples": 4032},
        monthly_cost_now=Decimal("120"),
        monthly_cost_after=Decimal("90"),
    )


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    repo = tmp_path / "gitops"
    for name, namespace in WORKLOADS.items():
        (repo / "apps" / name).mkdir(parents=True)
        (repo / "apps" / name / "deployment.yaml").write_text(MANIFEST.format(name=name, namespace=namespace))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "initial")
    return repo


@pytest.fixture
def found(monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    """The findings the (only) detector returns; tests edit this list between scans."""
    current: list[Finding] = [finding("api"), finding("web", days=2)]
    monkeypatch.setattr(remediation, "DETECTORS", {"fake": lambda ctx: list(current)})
    return current


@pytest.fixture
def env(workspace: Path, gitops: Path, monkeypatch: pytest.MonkeyPatch, found: list[Finding]) -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "remediation.toml").write_text(REMEDIATION_TOML)
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(gitops))
    for var in ("GITHUB_TOKEN", "COSTPILOT_GITHUB_APP_ID"):
        monkeypatch.delenv(var, raising=False)
    return workspace


def service_for(home: Path) -> remediation.RemediationService:
    settings = load_settings(home)
    return remediation.build_service(Deps(settings))


def scan_json(run_cli, *args: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = run_cli("scan", "--json", *args)
    assert result.code == 0, result.err
    return result.json()


def awaiting_id(data: dict[str, Any], workload: str) -> str:
    return next(p["id"] for p in data["proposals"] if p["branch"].endswith(f"/{WORKLOADS[workload]}"))


# ----- scan -----


def test_scan_summarises_blocked_with_rule_ids_and_awaiting(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    data = scan_json(run_cli)
    assert data["findings"] == 2
    by_branch = {p["branch"]: p for p in data["proposals"]}
    api = by_branch["costpilot/rightsize-requests/shop"]
    web = by_branch["costpilot/rightsize-requests/shop-web"]
    assert (api["state"], api["blocked_rules"], api["environment"]) == ("awaiting_approval", [], "nonprod")
    assert (web["state"], web["blocked_rules"]) == ("blocked", ["enough-evidence"])
    assert data["blocked"] == [web["id"]] and data["awaiting_approval"] == [api["id"]]
    assert (api["monthly_cost_now"], api["monthly_cost_after"]) == ("120", "90")

    text = run_cli("scan")
    assert text.code == 0
    lines = text.out.splitlines()
    assert lines[0] == "scan: 2 findings, 2 proposals"
    assert lines[1:5] == [
        "blocked (1):",
        f"  {web['id']}  costpilot/rightsize-requests/shop-web  failing rules: enough-evidence",
        "awaiting approval (1):",
        f"  {api['id']}  costpilot/rightsize-requests/shop  -$30.00/month  (unchanged)",
    ]


def test_the_repository_policy_sets_the_floor_per_playbook(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    (gitops / ".costpilot").mkdir()
    (gitops / ".costpilot" / "policy.yaml").write_text(
        "cost:\n  min_monthly_saving:\n    rightsize-requests: 50\n    no-such-playbook: 1\n"
    )
    git(gitops, "add", "-A")
    git(gitops, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "floor")
    data = scan_json(run_cli)
    # api and web save $30/month each: under the repository's $50 floor, counted, not proposed.
    assert data["proposals"] == []
    notes = " ".join(data["notes"])
    assert "below the floor: 2 finding(s) in 2 change(s) saving $60.00/month" in notes
    assert "rightsize-requests $50" in notes and "unknown playbook 'no-such-playbook'" in notes
    (gitops / ".costpilot" / "policy.yaml").write_text(
        "cost:\n  min_monthly_saving:\n    rightsize-requests: -1\n"
    )
    git(gitops, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "bad floor")
    bad = run_cli("scan")
    assert bad.code == 2 and "min_monthly_saving" in bad.err and bad.err.count("\n") == 1


def test_scan_notes_a_detector_without_data(env: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from domain.errors import DataError

    def no_data(deps: Deps) -> list[Finding]:
        raise DataError("no utilization samples; run `costpilot ingest utilization PATH` first")

    monkeypatch.setattr(remediation, "DETECTORS", {"rightsize": no_data})
    result = run_cli("scan")
    assert result.code == 0
    assert result.out.splitlines()[0] == "scan: 0 findings, 0 proposals"
    assert result.out.splitlines()[-1] == (
        "note: rightsize: skipped: no utilization samples; run `costpilot ingest utilization PATH` first"
    )


def test_scan_without_gitops_repo_is_one_line_error(
    env: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COSTPILOT_GITOPS_REPO")
    result = run_cli("scan")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(
        "costpilot: error: costpilot scan needs the GitOps checkout: COSTPILOT_GITOPS_REPO"
    )
    assert result.err.count("\n") == 1


# ----- approve through the local forge -----


def test_approve_opens_one_branch_and_a_second_click_changes_nothing(
    env: Path, gitops: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    branch = "costpilot/rightsize-requests/shop"
    base = git(gitops, "rev-parse", "HEAD").strip()

    result = run_cli("approve", pid, "--as", "U_ALICE")
    assert result.code == 0, result.err
    url = f"file://{gitops.resolve()}#refs/heads/{branch}"
    assert result.out.splitlines() == [f"{pid}: approved by U_ALICE; opened {url}", f"branch {branch}"]
    patched = git(gitops, "show", f"{branch}:apps/api/deployment.yaml")
    assert 'cpu: "1500m"' in patched and "memory: 3Gi" in patched and patched.startswith("# api deployment\n")
    assert git(gitops, "rev-list", "--count", f"{base}..{branch}").strip() == "1"
    message = git(gitops, "log", "-1", "--format=%B", branch)
    assert f"costpilot proposal {pid}" in message and "Approved-by: U_ALICE" in message
    assert (
        git(gitops, "status", "--porcelain") == ""
        and git(gitops, "symbolic-ref", "--short", "HEAD").strip() == "main"
    )

    again = run_cli("approve", pid, "--as", "U_BOB", "--json")
    assert again.code == 0
    outcome = again.json()
    assert (outcome["state"], outcome["approved_by"], outcome["pr_url"]) == ("pr_opened", "U_ALICE", url)
    assert outcome["message"] == f"already approved by U_ALICE; PR {url}"
    assert git(gitops, "branch", "--list", "costpilot/*").split() == [branch]

    shown = run_cli("proposals", "show", pid, "--json").json()
    assert shown["state"] == "pr_opened" and shown["approved_by"] == "U_ALICE"
    assert [e["action"] for e in shown["audit"]] == ["drafted", "awaiting_approval", "approved", "pr_opened"]
    assert [r["url"] for r in shown["pull_requests"]] == [url]
    assert {g["rule_id"] for g in shown["guardrails"]} >= {
        "above-observed-peak",
        "enough-evidence",
        "no-secrets",
    }
    assert '+              cpu: "1500m"' in shown["diff"]

    verify = run_cli("audit", "verify")
    assert verify.code == 0 and verify.out.startswith("audit log intact: ")


def test_unauthorised_approver_is_refused_in_one_line_and_audited(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    result = run_cli("approve", pid, "--as", "U_MALLORY")
    assert result.code == 2 and result.out == ""
    assert result.err == (
        f"costpilot: error: U_MALLORY may not approve {pid}: not an approver of rightsize-requests in nonprod\n"
    )
    shown = run_cli("proposals", "show", pid, "--json").json()
    assert shown["state"] == "awaiting_approval"
    assert shown["audit"][-1]["action"] == "approve_refused" and shown["audit"][-1]["actor"] == "U_MALLORY"


def test_production_needs_a_lead_and_four_eyes(env: Path, run_cli, found: list[Finding]) -> None:  # type: ignore[no-untyped-def]
    found[:] = [finding("pay")]
    data = scan_json(run_cli, "--as", "U_CAROL")
    pid = data["awaiting_approval"][0]
    assert data["proposals"][0]["environment"] == "production"
    own = run_cli("approve", pid, "--as", "U_CAROL")
    assert own.code == 2
    assert own.err == (
        f"costpilot: error: U_CAROL may not approve {pid}: in production the requester may not approve their own change\n"
    )
    not_lead = run_cli("approve", pid, "--as", "U_ALICE")
    assert not_lead.code == 2 and "not an approver of rightsize-requests in production" in not_lead.err
    ok = run_cli("approve", pid, "--as", "U_DAVE")
    assert ok.code == 0 and ok.out.startswith(f"{pid}: approved by U_DAVE; opened file://")


def test_reject_is_final_and_the_same_patch_is_not_proposed_again(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    result = run_cli("reject", pid, "--as", "U_BOB", "--reason", "not before Black Friday")
    assert result.code == 0 and result.out == f"{pid}: rejected by U_BOB (not before Black Friday)\n"
    as_json = run_cli("reject", pid, "--as", "U_BOB", "--json")  # a repeat is answered, not refused
    assert (
        as_json.code == 0
        and as_json.json()["state"] == "rejected"
        and as_json.json()["decided_by"] == "U_BOB"
    )
    rescan = scan_json(run_cli)
    api = next(p for p in rescan["proposals"] if p["id"] == pid)
    assert (api["state"], api["outcome"]) == ("rejected", "unchanged")
    late = run_cli("approve", pid, "--as", "U_ALICE")
    assert (
        late.code == 2
        and late.err == f"costpilot: error: proposal {pid} cannot be approved: rejected by U_BOB\n"
    )


def test_new_patch_supersedes_and_voids_the_old_approval(env: Path, run_cli, found: list[Finding]) -> None:  # type: ignore[no-untyped-def]
    first = scan_json(run_cli)
    old, web = awaiting_id(first, "api"), awaiting_id(first, "web")
    found[:] = [finding("api", cpu="1.2")]
    data = scan_json(run_cli)
    new = data["awaiting_approval"][0]
    assert new != old and data["proposals"][0]["superseded"] == [old]
    result = run_cli("approve", old, "--as", "U_ALICE")
    assert result.code == 2
    assert result.err == (
        f"costpilot: error: proposal {old} cannot be approved: superseded by {new} (the patch changed; the approval is void)\n"
    )
    listed = {p["id"]: p["state"] for p in run_cli("proposals", "list", "--json").json()}
    assert listed == {old: "superseded", new: "awaiting_approval", web: "blocked"}


def test_list_and_show_text(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("proposals", "list").out == "no proposals (run `costpilot scan`)\n"
    data = scan_json(run_cli)
    api, web = awaiting_id(data, "api"), awaiting_id(data, "web")
    lines = run_cli("proposals", "list").out.splitlines()
    assert sorted(lines) == sorted(
        [
            f"{api}  awaiting_approval  costpilot/rightsize-requests/shop  nonprod  -$30.00/month",
            f"{web}  blocked            costpilot/rightsize-requests/shop-web  nonprod  -$30.00/month",
        ]
    )
    shown = run_cli("proposals", "show", web).out.splitlines()
    assert shown[0] == f"{web}  blocked  costpilot: right-size web in shop-web"
    assert shown[1:3] == [
        "branch costpilot/rightsize-requests/shop-web  environment nonprod  requested by costpilot",
        "monthly cost $120.00 → $90.00 (-$30.00/month)",
    ]
    assert any(line.startswith("  fail  enough-evidence: ") for line in shown)
    missing = run_cli("proposals", "show", "pnope")
    assert (
        missing.code == 2
        and missing.err == "costpilot: error: proposal 'pnope' not found (see `costpilot proposals list`)\n"
    )


def test_audit_verify_finds_an_edited_row(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    assert run_cli("approve", pid, "--as", "U_ALICE").code == 0
    with sqlite3.connect(env / "state.sqlite") as conn:
        seq = conn.execute("SELECT seq FROM audit_events WHERE action = 'approved'").fetchone()[0]
        conn.execute("UPDATE audit_events SET actor = 'U_MALLORY' WHERE seq = ?", (seq,))
    result = run_cli("audit", "verify")
    assert result.code == 2
    assert (
        result.err
        == f"costpilot: error: audit log tampered at event {seq}: content does not match its hash\n"
    )


# ----- failures between approval and PR, races, idempotency keys (service level) -----


class FlakyForge:
    """Wraps the real local forge; fails the first ``failures`` calls, counts the rest."""

    name = "local"

    def __init__(self, real: Callable[[], Any], failures: int = 0) -> None:
        self.real, self.failures, self.calls = real, failures, 0
        self.entered, self.release = threading.Event(), threading.Event()
        self.block = False

    def publish(self, request: PublishRequest) -> PublishResult:
        self.calls += 1
        if self.block:
            self.entered.set()
            self.release.wait(timeout=30)
        if self.failures > 0:
            self.failures -= 1
            raise ExternalError("git update-ref in /repo: simulated crash")
        return self.real().publish(request)


def test_forge_failure_after_approval_resumes_without_a_second_pr(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    service = service_for(env)
    flaky = FlakyForge(service.forge, failures=1)
    service.forge = lambda: flaky  # type: ignore[assignment,return-value]
    with pytest.raises(ExternalError, match="simulated crash"):
        service.approve(pid, "U_ALICE")
    failed = service.show(pid)  # the approval stands; the PR step failed, with its reason
    assert failed.state is ProposalState.pr_failed and failed.approved_by == "U_ALICE"
    assert "simulated crash" in (failed.reason or "")
    assert git(gitops, "branch", "--list", "costpilot/*") == ""
    # The next scan resumes the PR (no click needed); a later click finds it done.
    summary = service.scan([finding("api")], *_pipeline(env, service))
    assert [o.proposal_id for o in summary.resumed] == [pid] and summary.resumed[
        0
    ].state is ProposalState.pr_opened
    again = service.approve(pid, "U_BOB")
    assert again.message.startswith("already approved by U_ALICE; PR file://")
    assert flaky.calls == 2
    assert len(git(gitops, "branch", "--list", "costpilot/*").split()) == 1


def test_failed_forge_call_is_resumed_by_the_next_approve(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    service = service_for(env)
    flaky = FlakyForge(service.forge, failures=1)
    service.forge = lambda: flaky  # type: ignore[assignment,return-value]
    with pytest.raises(ExternalError):
        service.approve(pid, "U_ALICE")
    outcome = service.approve(pid, "U_ALICE")
    assert (outcome.state, outcome.pr_created) == (ProposalState.pr_opened, True)
    assert flaky.calls == 2


def test_two_replicas_approving_at_once_open_one_pr(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    first, second = service_for(env), service_for(env)  # two engines = two replicas
    flaky = FlakyForge(first.forge)
    flaky.block = True
    first.forge = second.forge = lambda: flaky  # type: ignore[assignment,return-value]
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(first.approve(pid, "U_ALICE")))
    worker.start()
    assert flaky.entered.wait(timeout=30)  # replica 1 approved and holds the lease
    concurrent = second.approve(pid, "U_BOB")
    assert (concurrent.state, concurrent.approved_by) == (ProposalState.approved, "U_ALICE")
    assert concurrent.message == "approved; another process is opening the PR"
    flaky.release.set()
    worker.join(timeout=30)
    assert results[0].state is ProposalState.pr_opened and flaky.calls == 1
    approved = [e for e in audit.events_for(first.engine, pid) if e.action == "approved"]
    assert len(approved) == 1


def test_idempotency_key_returns_the_first_answer(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    service = service_for(env)
    flaky = FlakyForge(service.forge)
    service.forge = lambda: flaky  # type: ignore[assignment,return-value]
    first = service.approve(pid, "U_ALICE", idempotency_key="slack:Ev01")
    retry = service.approve(pid, "U_ALICE", idempotency_key="slack:Ev01")
    assert retry == first and first.pr_created and flaky.calls == 1
    with pytest.raises(InputError, match="the patch changed since it was shown"):
        service.approve(pid, "U_ALICE", expected_sha256="0" * 64)


def test_expired_proposal_cannot_be_approved(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    service = service_for(env)
    service.clock = lambda: datetime.now(UTC) + timedelta(hours=25)
    with pytest.raises(
        InputError, match=rf"^proposal {pid} cannot be approved: expired; run `costpilot scan`"
    ):
        service.approve(pid, "U_ALICE")
    assert service.show(pid).state is ProposalState.expired
    assert [e.data for e in audit.events_for(service.engine, pid) if e.action == "expired"] == [
        '{"reason":"ttl"}'
    ]


def _pipeline(home: Path, service: remediation.RemediationService) -> tuple[Any, Any]:
    settings = load_settings(home)
    pipeline = remediation.build_pipeline(Deps(settings), service)
    return pipeline.plan, pipeline.validate


# ----- approver rules -----


def test_approver_rules_precedence_and_groups() -> None:
    rules = remediation.ApproverRules(
        groups={"sre": ["U1", "U2"]},
        playbooks={"cheaper-model": remediation.ApproverSpec(default=["U9"], four_eyes_in_production=False)},
    )
    declared = {
        "rightsize-requests": remediation.ApproverSpec(default=["group:sre"], production=["U3"]),
        "cheaper-model": remediation.ApproverSpec(default=["U1"]),
    }
    auth = remediation.Authorizer(rules, frozenset({"production"}), declared)
    assert auth.approvers("rightsize-requests", "nonprod") == {"U1", "U2"}
    assert auth.approvers("rightsize-requests", "production") == {"U3"}
    assert auth.approvers("rightsize-requests", "unknown") == {"U3"}  # unknown counts as production
    assert auth.approvers("cheaper-model", "production") == {"U9"}  # the workspace wins
    assert auth.approvers("scale-idle-nonprod", "nonprod") is None


def test_bad_remediation_toml_names_file_and_key(tmp_path: Path) -> None:
    from domain.errors import ConfigError

    (tmp_path / "remediation.toml").write_text("ttl_hours = 0\n")
    with pytest.raises(
        ConfigError, match=r"remediation.toml: key 'ttl_hours': Input should be greater than or equal to 1"
    ):
        remediation.load_remediation_config(tmp_path)
    (tmp_path / "remediation.toml").write_text("[approvers]\nwho = 1\n")
    with pytest.raises(ConfigError, match=r"key 'approvers.who': Extra inputs are not permitted"):
        remediation.load_remediation_config(tmp_path)


# ----- approve through the GitHub forge (real PyGithub against the REST stand-in) -----


def test_approve_with_github_forge_opens_and_then_updates_one_pr(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, found: list[Finding]
) -> None:
    bare = tmp_path / "remote.git"
    (env / "remediation.toml").write_text(
        REMEDIATION_TOML.replace("ttl_hours = 24", f'gitops_checkout = "{gitops}"')
    )
    with github_forge_for(gitops, monkeypatch, tmp_path) as server:
        pid = awaiting_id(scan_json(run_cli), "api")
        result = run_cli("approve", pid, "--as", "U_ALICE")
        assert result.code == 0, result.err
        assert (
            result.out.splitlines()[0]
            == f"{pid}: approved by U_ALICE; opened https://github.test/acme/gitops/pull/1"
        )
        pr = server.pulls[1]
        assert pr["title"] == "costpilot: right-size api in shop"
        assert pr["labels"] == ["costpilot", "rightsize"]
        assert pr["body"].startswith(
            f"<!-- costpilot:proposal={pid} -->\n## costpilot: right\\-size api in shop\n"
        )
        assert "| shop/Deployment/api | api: cpu request 2 → 1500m, " in pr["body"]
        assert "| $120.00 | $90.00 | -$30.00 |" in pr["body"]
        assert "**Guardrails " in pr["body"] and "- Approved by U\\_ALICE at " in pr["body"]
        branch = "costpilot/rightsize-requests/shop"
        shown = subprocess.run(
            ["git", "--git-dir", str(bare), "show", f"{branch}:apps/api/deployment.yaml"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert 'cpu: "1500m"' in shown

        # A new patch for the same target, approved: the same PR is updated, its comment edited.
        found[:] = [finding("api", cpu="1.2")]
        cooling = scan_json(run_cli)
        # The PR just opened counts: the new patch waits for the cooldown (nothing recorded, the
        # open PR's proposal is not superseded by a blocked one).
        assert cooling["proposals"] == []
        [waiting] = cooling["selection"]["waiting"]
        assert waiting["branch"] == branch and waiting["reason"].startswith("cooldown: ")
        (gitops / ".costpilot").mkdir()
        (gitops / ".costpilot" / "policy.yaml").write_text("cooldown_hours: 0\n")
        new = scan_json(run_cli)["awaiting_approval"][0]
        updated = run_cli("approve", new, "--as", "U_BOB")
        assert updated.code == 0, updated.err
        assert (
            updated.out.splitlines()[0]
            == f"{new}: approved by U_BOB; updated https://github.test/acme/gitops/pull/1"
        )
        assert len(server.pulls) == 1 and server.pulls[1]["body"].startswith(
            f"<!-- costpilot:proposal={new} -->"
        )
        assert [c["body"].splitlines()[0] for c in server.comments.values()] == [
            f"<!-- costpilot:proposal={new} -->"
        ]


def test_bad_github_token_is_one_line_and_the_approval_stays(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.gitops.github_standin import GitHubStandin

    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(gitops), str(bare)], check=True)
    server = GitHubStandin(repo_path=bare).start()
    try:
        pid = awaiting_id(scan_json(run_cli), "api")
        monkeypatch.setenv("COSTPILOT_FORGE", "github")
        monkeypatch.setenv("COSTPILOT_GITOPS_REPO", "acme/gitops")
        monkeypatch.setenv("COSTPILOT_GITHUB_BASE_URL", server.base_url)
        monkeypatch.setenv("GITHUB_TOKEN", "ghp-revoked")
        result = run_cli("approve", pid, "--as", "U_ALICE")
        assert result.code == 2
        assert result.err == (
            f"costpilot: error: GitHub refused the credentials (401 Bad credentials) at {server.base_url} "
            "while reading acme/gitops\n"
        )
        shown = run_cli("proposals", "show", pid, "--json").json()
        assert shown["state"] == "pr_failed" and shown["approved_by"] == "U_ALICE"
    finally:
        server.stop()


def test_real_detectors_without_data_are_skipped_with_reasons(
    env: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.undo()  # the registry as shipped (rightsize, idle, cheaper-model, untagged), on an empty workspace
    monkeypatch.setenv("COSTPILOT_HOME", str(env))
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(env.parent / "gitops"))
    assert sorted(remediation.DETECTORS) == ["cheaper-model", "idle", "rightsize", "untagged"]
    data = scan_json(run_cli)
    # the data detectors are skipped with reasons; untagged reads the GitOps checkout only: of its
    # three unlabelled workloads only pay (namespace payments-prod) has a team to propose
    assert [n.split(":")[0] for n in data["notes"][:3]] == ["rightsize", "idle", "cheaper-model"]
    assert data["notes"][2] == "cheaper-model: skipped: no ai/routing.yaml in the GitOps checkout"
    assert data["findings"] == 1
    [proposal] = data["proposals"]
    assert (proposal["playbook"], proposal["branch"]) == (
        "enforce-cost-tags",
        "costpilot/enforce-cost-tags/payments-prod",
    )
    assert all(n.startswith("untagged: Deployment/") for n in data["notes"][3:])
    assert len(data["notes"]) == 3 + 5  # api, web: team and cost_center; pay: cost_center


@pytest.mark.postgres
def test_scan_approve_and_verify_on_postgresql(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    import uuid

    import psycopg

    schema = f"cp_cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        monkeypatch.setenv("COSTPILOT_DATABASE_URL", f"{pg_url}?options=-csearch_path%3D{schema}")
        pid = awaiting_id(scan_json(run_cli), "api")
        assert run_cli("approve", pid, "--as", "U_ALICE").code == 0
        assert not (env / "state.sqlite").exists()
        shown = run_cli("proposals", "show", pid, "--json").json()
        assert [e["action"] for e in shown["audit"]] == [
            "drafted",
            "awaiting_approval",
            "approved",
            "pr_opened",
        ]
        verify = run_cli("audit", "verify")
        assert verify.code == 0 and verify.out == "audit log intact: 6 events, 1 PR anchor checked\n"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# ----- untagged workloads (enforce-cost-tags) and findings the playbooks cannot plan -----

SHIPPED_DETECTORS = dict(remediation.DETECTORS)
LABELLED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop-dev
  labels:
{labels}
  annotations:
    costpilot.io/cost-center: CC-1003
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: {name}
          image: ghcr.io/acme/{name}:1.0.0
"""


@pytest.fixture
def tag_repo(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GitOps repo where cart is fully labelled, worker lacks team and cost_center (both
    derivable), and legacy (namespace tools) has nothing to derive them from."""
    repo = tmp_path / "tagged"
    (repo / "apps").mkdir(parents=True)
    (repo / "apps" / "cart.yaml").write_text(
        LABELLED.format(name="cart", labels="    team: checkout\n    cost_center: CC-1003")
    )
    (repo / "apps" / "worker.yaml").write_text(
        "# worker: queue consumer\n"
        + LABELLED.format(name="worker", labels="    app.kubernetes.io/part-of: checkout  # owning product")
    )
    (repo / "apps" / "legacy.yaml").write_text(
        MANIFEST.format(name="legacy", namespace="tools").replace("# legacy deployment\n", "")
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "initial")
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "remediation.toml").write_text(REMEDIATION_TOML)
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(repo))
    for var in ("GITHUB_TOKEN", "COSTPILOT_GITHUB_APP_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(remediation, "DETECTORS", {"untagged": SHIPPED_DETECTORS["untagged"]})
    return repo


def test_scan_proposes_cost_labels_for_an_untagged_workload(tag_repo: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    data = scan_json(run_cli)
    assert data["findings"] == 1
    [item] = data["proposals"]
    assert (item["playbook"], item["branch"], item["state"]) == (
        "enforce-cost-tags",
        "costpilot/enforce-cost-tags/shop-dev",
        "awaiting_approval",
    )
    assert data["awaiting_approval"] == [item["id"]] and data["blocked"] == []
    assert data["notes"] == [
        "untagged: Deployment/legacy (apps/legacy.yaml) lacks label team in tools; no value to propose "
        "for tools: set it by hand",
        "untagged: Deployment/legacy (apps/legacy.yaml) lacks label cost_center in tools; no value to "
        "propose for tools: set it by hand",
    ]
    shown = run_cli("proposals", "show", item["id"], "--json").json()
    assert shown["files"] == ["apps/worker.yaml"]
    assert shown["title"] == "costpilot: add cost labels in shop-dev (1 workloads)"
    assert (
        "     app.kubernetes.io/part-of: checkout  # owning product\n"
        "+    cost_center: CC-1003\n"
        "+    team: checkout\n"
    ) in shown["diff"]
    assert shown["diff"].count("\n+    ") == 2  # only the two labels are added

    text = run_cli("scan")  # the same proposal again, notes printed
    assert text.code == 0
    lines = text.out.splitlines()
    assert lines[:4] == [
        "scan: 1 findings, 1 proposals",
        "blocked (0):",
        "awaiting approval (1):",
        f"  {item['id']}  costpilot/enforce-cost-tags/shop-dev  $0.00/month  (unchanged)",
    ]
    assert lines[-1] == (
        "note: untagged: Deployment/legacy (apps/legacy.yaml) lacks label cost_center in tools; "
        "no value to propose for tools: set it by hand"
    )

    result = run_cli("approve", item["id"], "--as", "U_ALICE")
    assert result.code == 0, result.err
    patched = git(tag_repo, "show", "costpilot/enforce-cost-tags/shop-dev:apps/worker.yaml")
    assert patched.startswith("# worker: queue consumer\n")
    assert "    cost_center: CC-1003\n    team: checkout\n" in patched


def test_scan_notes_each_finding_it_cannot_plan(env: Path, found: list[Finding], run_cli) -> None:  # type: ignore[no-untyped-def]
    api = finding("api")
    ghost = api.model_copy(
        update={"target": {**api.target, "workload": "ghost"}, "title": "Right-size ghost"}
    )
    bad = finding("web").model_copy(update={"proposed": {"cpu_request": "lots"}})
    found[:] = [api, ghost, bad]
    data = scan_json(run_cli)
    assert (data["findings"], len(data["proposals"])) == (3, 1)
    assert sorted(data["notes"]) == sorted(
        [
            f"rightsize: not planned: Right-size ghost [{ghost.id}]: finding {ghost.id}: workload ghost "
            "not found in the repository",
            f"rightsize: not planned: Right-size web [{bad.id}]: finding {bad.id}: proposed cpu_request "
            "'lots' is not a quantity",
        ]
    )
    text = run_cli("scan")
    notes = [line for line in text.out.splitlines() if line.startswith("note: ")]
    assert sorted(notes) == sorted(f"note: {n}" for n in data["notes"])


def test_untagged_detector_on_the_sample_repo_proposes_the_annotated_cost_centers(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample workloads get team and env from their overlays, but cost_center only as the
    annotation costpilot.io/cost-center: each base gets one finding (targeted at production)."""
    example = Path(__file__).resolve().parents[2] / "examples" / "gitops-repo"
    if not (example / "overlays").is_dir():
        pytest.skip("example repo not present")
    monkeypatch.setenv("COSTPILOT_GITOPS_REPO", str(example))
    monkeypatch.setenv("COSTPILOT_FORGE", "local")
    settings = load_settings(workspace)
    result = SHIPPED_DETECTORS["untagged"](Deps(settings))
    assert isinstance(result, remediation.detectors.DetectorResult)
    assert result.findings, "the sample repo has workloads without a cost_center label"
    for f in result.findings:
        base = example / f.evidence["defined_in"]
        annotated = next(
            line.split(":", 1)[1].strip()
            for line in base.read_text().splitlines()
            if "costpilot.io/cost-center:" in line
        )
        assert f.proposed == {"labels": {"cost_center": annotated}}
        assert f.target["namespace"].endswith("-prod")
    opted_out = [n for n in result.notes if 'costpilot.io/opt-out: "true"' in n]
    assert opted_out and len(opted_out) == len(result.notes)
    assert not {f.target["workload"] for f in result.findings} & {
        n.split("/")[1].split(" ")[0] for n in opted_out
    }
