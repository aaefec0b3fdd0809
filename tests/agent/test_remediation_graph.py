# ruff: noqa: F811  (fixtures imported by name from the CLI tests)
"""The remediation graph: scan stops each proposal at its approval interrupt (Agent Inbox
payload); a decision resumes it; resuming twice, or after a crash between the decision and the
PR, gives exactly one PR."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.remediation import resume_decision, start_approval
from domain.errors import ExternalError
from services.deps import Deps
from services.settings import load_settings
from store import audit
from tests.app.test_cli_remediation import (  # noqa: F401 - fixtures used by name
    awaiting_id,
    env,
    found,
    git,
    gitops,
    scan_json,
)


def test_scan_leaves_each_proposal_waiting_at_an_agent_inbox_interrupt(env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    payload = start_approval(Deps(load_settings(env)), pid)
    assert payload is not None
    assert payload["action_request"] == {
        "action": "open_pr",
        "args": {"proposal_id": pid, "branch": "costpilot/rightsize-requests/shop",
                 "patch_sha256": payload["action_request"]["args"]["patch_sha256"]},
    }  # fmt: skip
    assert payload["config"] == {
        "allow_accept": True,
        "allow_respond": True,
        "allow_edit": False,
        "allow_ignore": True,
    }
    assert "monthly cost $120.00 → $90.00" in payload["description"]
    assert sorted(payload["approvers"]) == ["U_ALICE", "U_BOB"]


def test_resuming_twice_gives_one_pr(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    deps = Deps(load_settings(env))
    first = resume_decision(deps, pid, {"type": "accept", "user": "U_ALICE"})
    again = resume_decision(deps, pid, {"type": "accept", "user": "U_BOB"})
    assert first["step"] == "opened" and again == first
    assert git(gitops, "branch", "--list", "costpilot/*").split() == ["costpilot/rightsize-requests/shop"]
    assert [e.action for e in audit.events_for(deps.engine, pid)].count("pr_opened") == 1


def test_a_crash_between_decision_and_pr_resumes_to_exactly_one_pr(  # type: ignore[no-untyped-def]
    env: Path, gitops: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.remediation import service as service_module

    pid = awaiting_id(scan_json(run_cli), "api")
    real = service_module.RemediationService.publish_request

    def crash(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ExternalError("process killed while talking to the forge")

    monkeypatch.setattr(service_module.RemediationService, "publish_request", crash)
    with pytest.raises(ExternalError):
        resume_decision(Deps(load_settings(env)), pid, {"type": "accept", "user": "U_ALICE"})
    assert git(gitops, "branch", "--list", "costpilot/*") == ""
    monkeypatch.setattr(service_module.RemediationService, "publish_request", real)
    # A new process: the thread resumes from its checkpoint after the decision.
    deps = Deps(load_settings(env))
    outcome = resume_decision(deps, pid, {"type": "accept", "user": "U_ALICE"})
    assert outcome["step"] == "opened" and outcome["approved_by"] == "U_ALICE"
    assert git(gitops, "branch", "--list", "costpilot/*").split() == ["costpilot/rightsize-requests/shop"]
    actions = [e.action for e in audit.events_for(deps.engine, pid)]
    assert actions.count("approved") == 1 and actions.count("pr_opened") == 1


def test_a_rejection_ends_the_thread_without_a_pr(env: Path, gitops: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pid = awaiting_id(scan_json(run_cli), "api")
    outcome = resume_decision(
        Deps(load_settings(env)), pid, {"type": "ignore", "user": "U_ALICE", "reason": "not now"}
    )
    assert outcome["step"] == "rejected"
    assert git(gitops, "branch", "--list", "costpilot/*") == ""
    assert run_cli("approve", pid, "--as", "U_BOB").code == 2  # a rejected proposal cannot be approved
