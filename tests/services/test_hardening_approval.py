# ruff: noqa: F811  (fixtures imported by name from the CLI tests)
"""Issue #14, the approval path: guardrails re-checked at the decision and before the PR (1),
forged state refused (2), four-eyes in production whatever a playbook says (6), PR branches from
the base branch tip (7), CLI decisions attributed and refusable for production (12)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from domain.errors import ExternalError
from domain.findings import Finding
from services import remediation
from services.deps import Deps
from services.remediation.approval_checks import cli_approvals_allowed
from services.remediation.service import ApprovalVoid
from services.settings import load_settings
from store import audit
from store.proposals import ProposalState
from tests.app.test_cli_remediation import (  # noqa: F401 - fixtures used by name
    env,
    finding,
    found,
    git,
    gitops,
)

FREEZE = """\
freeze:
  windows:
    - start: 2000-01-01T00:00:00Z
      end: 2999-01-01T00:00:00Z
      reason: year-end change freeze
"""


def fresh(home: Path) -> tuple[remediation.RemediationService, remediation.Pipeline]:
    """A service and pipeline over the checkout as it is now (each call re-reads it)."""
    deps = Deps(load_settings(home))
    service = remediation.build_service(deps)
    pipeline = remediation.build_pipeline(deps, service)
    service.environment_of = pipeline.environment_of
    return service, pipeline


def scan(home: Path, findings: list[Finding], requested_by: str = "costpilot") -> list[str]:
    service, pipeline = fresh(home)
    summary = service.scan(findings, pipeline.plan, pipeline.validate, requested_by=requested_by)
    return [i.id for i in summary.awaiting]


def commit(repo: Path, rel: str, text: str | None, message: str) -> None:
    path = repo / rel
    if text is None:
        path.unlink()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message)


def costpilot_branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--list", "costpilot/*").split()


# ----- 1: guardrails and policy re-evaluated against the current base -----


def test_item_1_a_freeze_committed_after_the_scan_voids_the_approval_at_decision_time(
    env: Path, gitops: Path
) -> None:
    (pid,) = scan(env, [finding("api")])
    commit(gitops, ".costpilot/policy.yaml", FREEZE, "freeze")
    service, pipeline = fresh(env)
    with pytest.raises(
        ApprovalVoid,
        match=rf"^{pid} not approved: re-validated on the current base, the guardrails fail now: change-freeze",
    ):
        service.approve(pid, "U_ALICE", plan=pipeline.plan, validate=pipeline.validate)
    shown = service.show(pid)
    assert (shown.state, shown.approved_by, shown.blocked_rules) == (
        ProposalState.blocked,
        None,
        ["change-freeze"],
    )
    assert costpilot_branches(gitops) == []
    last = audit.events_for(service.engine, pid)[-1]
    assert last.action == "blocked" and json.loads(last.data)["approval_void"] is True


def test_item_1_a_freeze_after_the_approval_voids_it_right_before_the_pr(env: Path, gitops: Path) -> None:
    (pid,) = scan(env, [finding("api")])
    service, _ = fresh(env)
    assert service.decide(pid, "U_ALICE").state is ProposalState.approved
    commit(gitops, ".costpilot/policy.yaml", FREEZE, "freeze")
    service, pipeline = fresh(env)
    outcome = service.open_pr(pid, pipeline.plan, pipeline.validate)
    assert outcome.step == "void" and "the guardrails fail now: change-freeze" in outcome.message
    assert service.show(pid).state is ProposalState.blocked
    assert costpilot_branches(gitops) == []  # the stale PASS never reached a PR body
    # Without the freeze the same patch is proposed again (the blocked proposal asks anew).
    commit(gitops, ".costpilot/policy.yaml", None, "thaw")
    assert scan(env, [finding("api")]) == [pid]
    assert fresh(env)[0].show(pid).approved_by is None


def test_item_1_the_pr_body_carries_the_report_made_right_before_the_pr(env: Path, gitops: Path) -> None:
    from guardrails.report import render_report_markdown

    (pid,) = scan(env, [finding("api")])
    service, pipeline = fresh(env)
    stored = render_report_markdown(service.show(pid).report)
    opened = service.approve(pid, "U_ALICE", plan=pipeline.plan, validate=pipeline.validate)
    body = git(gitops, "log", "-1", "--format=%B", opened.branch)
    # The report of the validation made for this PR (its clock), not the scan's copy.
    fresh_report = render_report_markdown(pipeline.validate(service.show(pid).change))
    assert fresh_report != stored and fresh_report in body and stored not in body


def test_item_1_scan_supersedes_a_proposal_whose_finding_disappeared(env: Path) -> None:
    first = scan(env, [finding("api"), finding("pay")])
    assert len(first) == 2
    service, pipeline = fresh(env)
    summary = service.scan([finding("pay")], pipeline.plan, pipeline.validate)
    api = next(p for p in first if service.show(p).change.findings[0].target["workload"] == "api")
    assert service.show(api).state is ProposalState.superseded
    assert f"{api}: superseded: its finding is gone from the latest scan" in summary.notes
    # A detector that did not run (no data) supersedes nothing of its kind.
    again = fresh(env)[0]
    pay = next(p for p in first if p != api)
    again.scan([], pipeline.plan, pipeline.validate)
    assert again.show(pay).state is ProposalState.awaiting_approval
    assert again.supersede_stale([], [], covered=["rightsize"]) == [
        f"{pay}: superseded: its finding is gone from the latest scan"
    ]


# ----- 2: state cannot be forged -----


def test_item_2_a_blocked_proposal_flipped_to_approved_in_the_db_gets_no_pr(env: Path, gitops: Path) -> None:
    service, pipeline = fresh(env)
    summary = service.scan([finding("web", days=2)], pipeline.plan, pipeline.validate)
    (blocked,) = summary.blocked
    with sqlite3.connect(env / "state.sqlite") as conn:
        conn.execute(
            "UPDATE proposals SET state = 'approved', approved_by = 'U_ALICE', approved_sha256 = patch_sha256 "
            "WHERE id = ?",
            (blocked.id,),
        )
    _, failures = service.resume_pending(pipeline.plan, pipeline.validate)  # what the next scan does
    assert failures == [
        f"PR for {blocked.id} not opened yet: PR for {blocked.id} refused: no audited approval of patch "
        f"{service.show(blocked.id).patch_sha256[:12]} by U_ALICE"
    ]
    with pytest.raises(remediation.ApprovalRefused, match="no audited approval"):
        service.open_pr(blocked.id)
    assert costpilot_branches(gitops) == []
    refused = [e for e in audit.events_for(service.engine, blocked.id) if e.action == "pr_refused"]
    assert len(refused) == 2 and refused[0].actor == "costpilot"
    result = audit.verify(service.engine)
    assert not result.ok and result.reason == (
        f"proposal {blocked.id} is approved, but its last audited state is blocked (state changed outside costpilot)"
    )


def test_item_2_rows_rewritten_with_recomputed_plain_hashes_do_not_verify(env: Path) -> None:
    (pid,) = scan(env, [finding("api")])
    service, _ = fresh(env)
    service.decide(pid, "U_ALICE")
    with sqlite3.connect(env / "state.sqlite") as conn:
        rows = conn.execute(
            "SELECT seq, at, actor, action, subject, data FROM audit_events ORDER BY seq"
        ).fetchall()
        prev = audit.GENESIS
        for seq, at, actor, action, subject, data in rows:
            actor = "U_MALLORY" if action == "approved" else actor
            digest = audit.event_hash(prev, seq, at, actor, action, subject, data)
            conn.execute(
                "UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (actor, prev, digest, seq),
            )
            prev = digest
        conn.execute("UPDATE audit_head SET last_hash = ? WHERE id = 1", (prev,))
        conn.execute("UPDATE proposals SET approved_by = 'U_MALLORY' WHERE id = ?", (pid,))
    result = audit.verify(service.engine)
    assert (result.ok, result.bad_seq) == (False, len(rows))
    assert result.reason == (
        f"events 1-{len(rows)} carry plain SHA-256 hashes and no keyed event seals them "
        "(written before the audit key, or rewritten without it)"
    )


def test_item_2_an_emptied_or_truncated_chain_fails_against_the_pr_anchor(env: Path, gitops: Path) -> None:
    from services.remediation import audit_check

    (pid,) = scan(env, [finding("api")])
    service, pipeline = fresh(env)
    opened = service.approve(pid, "U_ALICE", plan=pipeline.plan, validate=pipeline.validate)
    message = git(gitops, "log", "-1", "--format=%B", opened.branch)
    seq = int(message.split("Audit-Head: ")[1].split(":")[0])
    assert f"<!-- costpilot:audit-head={seq}:" in message  # the body's copy
    deps = Deps(load_settings(env))
    intact = audit_check.verify(deps)
    assert (intact.ok, intact.anchors_checked) == (True, 1)
    with sqlite3.connect(env / "state.sqlite") as conn:  # truncate, the head reset to match
        conn.execute("DELETE FROM audit_events WHERE seq >= ?", (seq,))
        tip = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (seq - 1,)).fetchone()[0]
        conn.execute("UPDATE audit_head SET seq = ?, last_hash = ? WHERE id = 1", (seq - 1, tip))
    truncated = audit_check.verify(deps)
    assert (truncated.ok, truncated.bad_seq) == (False, seq)
    assert truncated.reason.startswith(f"commit refs/heads/{opened.branch} in ")
    assert truncated.reason.endswith(
        f"records event {seq}, but the chain ends at event {seq - 1} (emptied or truncated)"
    )
    with sqlite3.connect(env / "state.sqlite") as conn:  # emptied, proposals too, the head reset
        conn.execute("DELETE FROM audit_events")
        conn.execute("DELETE FROM proposals")
        conn.execute("UPDATE audit_head SET seq = 0, last_hash = ? WHERE id = 1", (audit.GENESIS,))
    emptied = audit_check.verify(deps)
    assert not emptied.ok and "but the chain ends at event 0 (emptied or truncated)" in str(emptied.reason)


def test_item_2_the_key_is_generated_outside_the_db_with_mode_0600(env: Path) -> None:
    scan(env, [finding("api")])
    secrets_file = env / "secrets.toml"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    key = secrets_file.read_text().split('audit_key = "')[1].split('"')[0]
    assert len(key) == 64 and key.encode() not in (env / "state.sqlite").read_bytes()


# ----- 6: four-eyes in production whatever a playbook says -----


def test_item_6_a_playbook_cannot_switch_four_eyes_off_in_production(env: Path) -> None:
    (env / "remediation.toml").write_text(
        '[approvers.playbooks.rightsize-requests]\ndefault = ["U_CAROL"]\nproduction = ["U_CAROL", "U_DAVE"]\n'
        "four_eyes_in_production = false\n"
    )
    (pid,) = scan(env, [finding("pay")], requested_by="U_CAROL")
    service, _ = fresh(env)
    assert service.show(pid).environment == "production"
    with pytest.raises(remediation.ApprovalRefused) as refused:
        service.decide(pid, "U_CAROL")
    assert str(refused.value) == (
        f"U_CAROL may not approve {pid}: in production the requester may not approve their own change "
        "(four_eyes_in_production: false in rightsize-requests does not apply to production)"
    )
    assert audit.events_for(service.engine, pid)[-1].action == "approve_refused"
    assert service.decide(pid, "U_DAVE").approved_by == "U_DAVE"


# ----- 7: PR branches start from the base branch tip -----


def test_item_7_a_work_in_progress_checkout_adds_no_commit_to_the_pr(env: Path, gitops: Path) -> None:
    commit(gitops, "apps/api/pdb.yaml", "kind: PodDisruptionBudget\n", "pdb")
    main_tip = git(gitops, "rev-parse", "main").strip()
    git(gitops, "checkout", "-q", "-b", "wip")
    commit(gitops, "apps/api/pdb.yaml", None, "wip: drop the PDB")
    (pid,) = scan(env, [finding("api")])
    service, pipeline = fresh(env)
    git(gitops, "checkout", "-q", "main")
    git(gitops, "checkout", "-q", "wip")
    opened = service.approve(pid, "U_ALICE", plan=pipeline.plan, validate=pipeline.validate)
    parents = git(gitops, "rev-list", "--parents", "-n", "1", opened.branch).split()[1:]
    assert parents == [main_tip]
    assert git(gitops, "rev-list", "--count", f"main..{opened.branch}").strip() == "1"
    assert git(gitops, "show", f"{opened.branch}:apps/api/pdb.yaml") == "kind: PodDisruptionBudget\n"


# ----- 12: CLI decisions attributed, and refusable for production -----


def test_item_12_cli_decisions_record_the_os_user(env: Path) -> None:
    ids = scan(env, [finding("api"), finding("pay")])
    service, _ = fresh(env)
    api, web = sorted(ids, key=lambda p: service.show(p).environment == "production")
    service.decide(api, "U_ALICE", via="cli", os_user="alice")
    event = next(e for e in audit.events_for(service.engine, api) if e.action == "approved")
    assert (event.actor, json.loads(event.data)["os_user"], json.loads(event.data)["via"]) == (
        "U_ALICE",
        "alice",
        "cli",
    )
    service.reject(web, "U_CAROL", reason="not now", via="cli", os_user="carol")
    rejected = audit.events_for(service.engine, web)[-1]
    assert (rejected.action, rejected.actor, json.loads(rejected.data)) == (
        "rejected",
        "U_CAROL",
        {"os_user": "carol", "reason": "not now", "via": "cli"},
    )


def test_item_12_cli_approvals_of_production_changes_can_be_disabled(env: Path) -> None:
    (pid,) = scan(env, [finding("pay")], requested_by="U_CAROL")
    service, _ = fresh(env)
    service.cli_production_approvals = cli_approvals_allowed(None, slack_configured=True)
    with pytest.raises(remediation.ApprovalRefused) as refused:
        service.decide(pid, "U_DAVE", via="cli", os_user="dave")
    assert str(refused.value) == (
        f"U_DAVE may not approve {pid}: production approvals come through Slack; CLI approvals of "
        "production changes are disabled (cli_approvals_in_production)"
    )
    event = audit.events_for(service.engine, pid)[-1]
    assert event.action == "approve_refused" and json.loads(event.data)["os_user"] == "dave"
    assert service.decide(pid, "U_DAVE", via="slack").state is ProposalState.approved
    assert (cli_approvals_allowed(None, False), cli_approvals_allowed(True, True)) == (True, True)


def test_forge_failure_leaves_pr_failed_with_the_reason_and_a_later_retry_opens_it(env: Path) -> None:
    (pid,) = scan(env, [finding("api")])
    service, pipeline = fresh(env)
    real = service.forge

    class Down:
        name = "local"

        def publish(self, request):  # type: ignore[no-untyped-def]
            raise ExternalError(
                "GitHub 502 while opening the pull request in acme/gitops: token ghp_" + "A" * 36
            )

    service.forge = lambda: Down()  # type: ignore[assignment,return-value]
    with pytest.raises(ExternalError):
        service.approve(pid, "U_ALICE", plan=pipeline.plan, validate=pipeline.validate)
    failed = service.show(pid)
    assert (failed.state, failed.reason) == (
        ProposalState.pr_failed,
        "GitHub 502 while opening the pull request in acme/gitops: token ***",
    )
    service.forge = real
    resumed, failures = service.resume_pending(pipeline.plan, pipeline.validate)
    assert failures == [] and [o.state for o in resumed] == [ProposalState.pr_opened]
    assert service.show(pid).reason is None and audit.verify(service.engine).ok


ROUTING = """\
models:
  gpt-4o: {tier: 3, context_window: 128000}
  gpt-4o-mini: {tier: 2, context_window: WINDOW}
# The allow-list above is reviewed by the ML platform team;
# features below name the model each one uses,
# with the quality tier and context they need.
# (these lines keep the window out of the patch's
# diff context: the patch text stays the same)
features:
  summary: {model: gpt-4o, min_tier: 2, min_context: 16000, team: search}
"""


def test_item_1_a_context_window_lowered_in_the_routing_file_voids_the_approval(
    env: Path, gitops: Path
) -> None:
    from decimal import Decimal

    from domain.findings import FindingKind

    (env / "remediation.toml").write_text(
        (env / "remediation.toml").read_text() + 'ml-platform = ["U_ALICE", "U_BOB"]\n'
    )
    commit(gitops, "ai/routing.yaml", ROUTING.replace("WINDOW", "128000"), "routing")
    cheaper = Finding(
        kind=FindingKind.cheaper_model,
        target={"feature": "summary", "model": "gpt-4o"},
        title="summary: gpt-4o → gpt-4o-mini",
        proposed={"model": "gpt-4o-mini"},
        evidence={"days": 30, "prompt_tokens": 2_000_000, "completion_tokens": 300_000},
        monthly_cost_now=Decimal(500),
        monthly_cost_after=Decimal(60),
    )
    (pid,) = scan(env, [cheaper])
    service, _ = fresh(env)
    service.decide(pid, "U_ALICE")
    # The routing file keeps the patched line as it was, so the patch text is unchanged.
    commit(gitops, "ai/routing.yaml", ROUTING.replace("WINDOW", "8000"), "gpt-4o-mini: smaller window")
    service, pipeline = fresh(env)
    outcome = service.open_pr(pid, pipeline.plan, pipeline.validate)
    assert outcome.step == "void" and "model-context-window" in outcome.message
    assert "gpt-4o-mini context window 8000 < needed 16000" in outcome.message
    assert service.show(pid).state is ProposalState.blocked and costpilot_branches(gitops) == []
