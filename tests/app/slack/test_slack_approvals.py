# ruff: noqa: F811  (fixtures imported by name from the CLI remediation tests)
"""Approval messages and their single-use buttons, through the real Bolt app: scan --post → click →
authorised → claimed → decide + open_pr (local forge) → chat.update; races, refusals, expiry,
Slack user groups, a void approval."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.registry import call_tool
from store import audit, slack_state
from store.proposals import ProposalState
from tests.app.slack.conftest import APPROVALS, Clock, SlackApp, make_runtime, serve
from tests.app.slack.slack_standin import SlackStandin
from tests.app.test_cli_remediation import (  # noqa: F401 - fixtures used by name
    REMEDIATION_TOML,
    env,
    found,
    git,
    gitops,
)

BRANCH = "costpilot/rightsize-requests/shop"


@pytest.fixture
def approvals(env: Path, slack_env: Path, clock: Clock) -> Any:
    """The Bolt app over a workspace whose scan finds api (awaiting approval) and web (blocked)."""
    yield from serve(make_runtime(slack_env, clock=clock))


def scan_and_post(app: SlackApp) -> tuple[str, Any]:
    from app.slack.post import post_new_proposals

    deps = app.runtime.deps()
    summary: Any = call_tool("scan", {}, deps)
    posted = post_new_proposals(
        deps, summary, client=app.runtime.client, config=app.runtime.config, now=app.runtime.now()
    )
    [pid] = [i.id for i in summary.awaiting]
    return pid, posted


def message_of(standin: SlackStandin) -> dict[str, Any]:
    """The approval message as Slack would send it back in a click payload."""
    [post] = [c for c in standin.of("chat.postMessage") if c.args["channel"] == APPROVALS][:1]
    return {"ts": "1700000000.000001", "blocks": post.args["blocks"], "text": post.args["text"]}


def buttons(message: dict[str, Any]) -> dict[str, str]:
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["action_id"]: e["value"] for e in actions["elements"]}


def test_scan_post_posts_each_awaiting_proposal_once_with_buttons_and_confirm(
    approvals: SlackApp, standin: SlackStandin
) -> None:
    pid, posted = scan_and_post(approvals)
    assert (posted.posted, posted.already, posted.failed) == ([pid], [], [])
    [post] = standin.of("chat.postMessage")
    assert post.args["channel"] == APPROVALS
    blocks = post.args["blocks"]
    text = json.dumps(blocks)
    assert blocks[0]["text"]["text"] == "Cost change for approval: costpilot: right-size api in shop"
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert "*Monthly cost*\n120.00 USD → 90.00 USD" in fields and "*Change*\n-30.00 USD/month" in fields
    assert "*Environment*\nnonprod" in fields and f"*Branch*\n`{BRANCH}`" in fields
    assert "*shop/Deployment/api/api*\n120.00 USD → 90.00 USD" in fields  # the per-workload table
    assert "*Guardrails*:" in text and "failed" in text
    [actions] = [b for b in blocks if b["type"] == "actions"]
    approve, reject = actions["elements"]
    assert (approve["action_id"], reject["action_id"]) == ("costpilot_approve", "costpilot_reject")
    assert approve["confirm"]["confirm"]["text"] == "Approve" and reject["confirm"]["style"] == "danger"
    assert "binds to this exact patch" in approve["confirm"]["text"]["text"]
    # Opaque single-use tokens naming a DB row (not the proposal id).
    assert pid not in approve["value"] and approve["value"] != reject["value"]
    row = slack_state.get_button(approvals.runtime.deps().engine, approve["value"])
    assert row is not None and (row.subject, row.action, row.state, row.channel, row.message_ts) == (
        pid, "approve", "open", APPROVALS, "1700000000.000001"
    )  # fmt: skip
    assert "<@U_ALICE>" in text and "<@U_BOB>" in text  # the approvers
    # A second --post (another scan, another replica) posts nothing again.
    _, again = scan_and_post(approvals)
    assert (again.posted, again.already) == ([], [pid])
    assert len(standin.of("chat.postMessage")) == 1


def test_an_approve_click_opens_the_pr_and_updates_the_message(
    approvals: SlackApp, standin: SlackStandin, gitops: Path
) -> None:
    pid, _ = scan_and_post(approvals)
    message = message_of(standin)
    response = approvals.click(
        "costpilot_approve", buttons(message)["costpilot_approve"], user="U_ALICE", message=message
    )
    assert response.status_code == 200
    [update] = standin.wait_calls("chat.update")
    url = f"file://{gitops.resolve()}#refs/heads/{BRANCH}"
    assert (update.args["channel"], update.args["ts"]) == (APPROVALS, "1700000000.000001")
    status = update.args["blocks"][-1]["text"]["text"]
    assert status == f"✅ Approved by <@U_ALICE> at 2026-04-13 10:00 UTC · PR opened: `{url}`"
    assert all(b["type"] != "actions" for b in update.args["blocks"])  # no buttons any more
    assert update.args["blocks"][0] == message["blocks"][0]  # the same content, above the status
    assert BRANCH in git(gitops, "branch", "--list", "costpilot/*")
    deps = approvals.runtime.deps()
    assert call_tool("proposal_show", {"proposal_id": pid}, deps).state == "pr_opened"  # type: ignore[attr-defined]
    posting = slack_state.get_posting(deps.engine, "approval", pid)
    assert posting is not None and posting.state == "decided"


def test_double_click_and_a_second_approver_racing_get_already_decided(
    approvals: SlackApp, standin: SlackStandin, gitops: Path
) -> None:
    pid, _ = scan_and_post(approvals)
    message = message_of(standin)
    token = buttons(message)["costpilot_approve"]
    clickers = ["U_ALICE", "U_ALICE", "U_BOB"]
    barrier = threading.Barrier(len(clickers))

    def click(user: str) -> None:
        barrier.wait()
        assert approvals.click("costpilot_approve", token, user=user, message=message).status_code == 200

    threads = [threading.Thread(target=click, args=(u,)) for u in clickers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    standin.wait_for(lambda calls: sum(c.method in ("chat.update", "chat.postEphemeral") for c in calls) >= 3)
    [update] = standin.of("chat.update")
    winner = update.args["blocks"][-1]["text"]["text"].split("<@")[1].split(">")[0]
    told = standin.of("chat.postEphemeral")
    assert len(told) == 2
    assert {c.args["text"] for c in told} == {
        f"Already decided by <@{winner}> (approved at 2026-04-13 10:00 UTC)."
    }
    losers = list(clickers)
    losers.remove(winner)
    assert sorted(c.args["user"] for c in told) == sorted(losers)
    deps = approvals.runtime.deps()
    actions = [e.action for e in audit.events_for(deps.engine, pid)]
    assert actions.count("approved") == 1 and actions.count("pr_opened") == 1
    assert git(gitops, "branch", "--list", "costpilot/*").strip() == BRANCH


def test_a_non_approver_is_refused_privately_audited_and_the_button_stays_usable(
    approvals: SlackApp, standin: SlackStandin
) -> None:
    pid, _ = scan_and_post(approvals)
    message = message_of(standin)
    token = buttons(message)["costpilot_approve"]
    approvals.click("costpilot_approve", token, user="U_MALLORY", message=message)
    [told] = standin.wait_calls("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == (APPROVALS, "U_MALLORY")
    assert told.args["text"] == (
        f"You may not approve this change: U_MALLORY may not approve {pid}: "
        "not an approver of rightsize-requests in nonprod"
    )
    deps = approvals.runtime.deps()
    refused = [e for e in audit.events_for(deps.engine, pid) if e.action == "approve_refused"]
    assert [(e.actor, json.loads(e.data)["reason"]) for e in refused] == [
        ("U_MALLORY", "not an approver of rightsize-requests in nonprod")
    ]
    assert not standin.of("chat.update")
    assert slack_state.get_button(deps.engine, token).state == "open"  # type: ignore[union-attr]
    approvals.click("costpilot_approve", token, user="U_ALICE", message=message)
    [update] = standin.wait_calls("chat.update")
    assert "✅ Approved by <@U_ALICE>" in update.args["text"]


def test_reject_then_approve_is_already_decided(
    approvals: SlackApp, standin: SlackStandin, gitops: Path
) -> None:
    pid, _ = scan_and_post(approvals)
    message = message_of(standin)
    tokens = buttons(message)
    approvals.click("costpilot_reject", tokens["costpilot_reject"], user="U_BOB", message=message)
    [update] = standin.wait_calls("chat.update")
    assert update.args["blocks"][-1]["text"]["text"] == "❌ Rejected by <@U_BOB> at 2026-04-13 10:00 UTC"
    deps = approvals.runtime.deps()
    assert call_tool("proposal_show", {"proposal_id": pid}, deps).state == ProposalState.rejected.value  # type: ignore[attr-defined]
    approvals.click("costpilot_approve", tokens["costpilot_approve"], user="U_ALICE", message=message)
    [told] = standin.wait_calls("chat.postEphemeral")
    assert told.args["text"] == "Already decided by <@U_BOB> (rejected at 2026-04-13 10:00 UTC)."
    assert git(gitops, "branch", "--list", "costpilot/*") == ""


def test_an_expired_button_is_refused(approvals: SlackApp, standin: SlackStandin, clock: Clock) -> None:
    scan_and_post(approvals)
    message = message_of(standin)
    clock.now += timedelta(hours=25)  # the proposal's TTL is 24 h (remediation.toml)
    approvals.click(
        "costpilot_approve", buttons(message)["costpilot_approve"], user="U_ALICE", message=message
    )
    [told] = standin.wait_calls("chat.postEphemeral")
    assert told.args["text"].startswith("This approval request expired at 2026-04-14 10:00 UTC")
    assert not standin.of("chat.update")


def test_approvers_from_a_slack_user_group(
    env: Path, slack_env: Path, standin: SlackStandin, clock: Clock
) -> None:
    (env / "remediation.toml").write_text(
        REMEDIATION_TOML + '\n[approvers.playbooks.rightsize-requests]\ndefault = ["group:S0PLATFORM"]\n'
    )
    standin.group_members["S0PLATFORM"] = ["U_ERIN"]
    for app in serve(make_runtime(slack_env, clock=clock)):
        pid, _ = scan_and_post(app)
        message = message_of(standin)
        token = buttons(message)["costpilot_approve"]
        app.click("costpilot_approve", token, user="U_ALICE", message=message)
        [told] = standin.wait_calls("chat.postEphemeral")
        assert "not an approver of rightsize-requests" in told.args["text"]
        app.click("costpilot_approve", token, user="U_ERIN", message=message)
        [update] = standin.wait_calls("chat.update")
        assert "✅ Approved by <@U_ERIN>" in update.args["text"]
        lookups = standin.of("usergroups.users.list")
        assert lookups and {c.args["usergroup"] for c in lookups} == {"S0PLATFORM"}


def test_a_void_approval_says_why_and_posts_the_new_proposal(
    approvals: SlackApp, standin: SlackStandin, gitops: Path
) -> None:
    from tests.app.test_cli_remediation_approval import commit_on_main

    pid, _ = scan_and_post(approvals)
    message = message_of(standin)
    commit_on_main(
        gitops,
        "apps/api/deployment.yaml",
        "memory: 4Gi\n            limits",
        "memory: 5Gi\n            limits",
    )
    approvals.click(
        "costpilot_approve", buttons(message)["costpilot_approve"], user="U_ALICE", message=message
    )
    [update] = standin.wait_calls("chat.update")
    deps = approvals.runtime.deps()
    [new] = [p.id for p in call_tool("proposals_list", {"states": ["awaiting_approval"]}, deps).proposals]  # type: ignore[attr-defined]
    assert new != pid
    assert update.args["blocks"][-1]["text"]["text"].endswith(
        f"⚠️ The approval is void: the base moved and the patch changed; approval void: re-validated as {new}, ask again"
    )
    reposted = standin.of("chat.postMessage")
    assert len(reposted) == 2 and new in json.dumps(reposted[1].args["blocks"])
    assert git(gitops, "branch", "--list", "costpilot/*") == ""


def test_slash_scan_posts_new_proposals_and_tells_the_user(
    approvals: SlackApp, standin: SlackStandin
) -> None:
    approvals.command("scan", user="U_CAROL")
    [told] = standin.wait_calls("chat.postEphemeral")
    deps = approvals.runtime.deps()
    items = call_tool("proposals_list", {}, deps).proposals  # type: ignore[attr-defined]
    api = next(p for p in items if p.state == "awaiting_approval")
    web = next(p for p in items if p.state == "blocked")
    assert told.args["user"] == "U_CAROL" and told.args["text"].splitlines() == [
        "scan: 2 findings, 2 proposals (1 awaiting approval, 1 blocked)",
        f"posted for approval to {APPROVALS}: {api.id}",
        f"blocked `{web.id}`: enough-evidence",
    ]
    assert api.requested_by == "U_CAROL"  # the user who asked is the requester (four-eyes)
    [post] = standin.of("chat.postMessage")
    assert post.args["channel"] == APPROVALS
