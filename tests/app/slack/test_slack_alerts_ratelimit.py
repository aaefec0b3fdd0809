# ruff: noqa: F811  (fixtures imported by name from the CLI remediation tests)
"""Alerts (once per entity per period, remediation button) and Slack's rate limits (429 with
``Retry-After`` honoured; a post that still fails is retried by the next run, not lost)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from app.slack.alerts import post_alerts
from app.slack.post import post_new_proposals
from services.registry import call_tool
from store import slack_state
from tests.app.slack.conftest import ALERTS, APPROVALS, as_of_clock, make_runtime, serve
from tests.app.slack.slack_standin import SlackStandin
from tests.app.test_cli_remediation import env, found, gitops  # noqa: F401 - fixtures used by name


def test_anomaly_and_budget_alerts_are_sent_once_per_entity_and_period(
    with_warehouse: Path, standin: SlackStandin
) -> None:
    runtime = make_runtime(with_warehouse, clock=as_of_clock())
    try:
        deps = runtime.deps()
        call_tool("budget_set", {"scope": "team=payments", "amount": "12000"}, deps)
        run = post_alerts(deps, runtime.client, runtime.config, now=runtime.now())
        again = post_alerts(deps, runtime.client, runtime.config, now=runtime.now())
    finally:
        runtime.close()
    assert "anomaly|team=payments · service=Amazon EC2|2026-04-10" in run.posted
    assert any(key.startswith("budget|team=payments|2026-04-01") for key in run.posted)
    assert (again.posted, again.already) == ([], len(run.posted))
    posts = standin.of("chat.postMessage")
    assert len(posts) == len(run.posted) and {p.args["channel"] for p in posts} == {ALERTS}
    [spike] = [p for p in posts if "payments · service=Amazon EC2" in p.args["blocks"][0]["text"]["text"]]
    fields = [f["text"] for b in spike.args["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert [f.split("\n")[0] for f in fields] == ["*Expected*", "*Actual*", "*Impact*", "*When*"]
    assert fields[2].split("\n")[1].startswith("+1,") and "%)" in fields[2]
    assert "region=us-east-1" in json.dumps(spike.args["blocks"])
    [button] = [e for b in spike.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "costpilot_remediate" and "rightsize-requests" in button["text"]["text"]
    [budget] = [
        p for p in posts if p.args["blocks"][0]["text"]["text"].startswith("Budget alert: team=payments")
    ]
    assert "projected to overrun" in json.dumps(budget.args["blocks"])


def test_remediation_button_scans_as_the_clicker_and_posts_for_approval_once(
    env: Path, with_warehouse: Path, standin: SlackStandin
) -> None:
    for app in serve(make_runtime(with_warehouse, clock=as_of_clock())):
        deps = app.runtime.deps()
        post_alerts(deps, app.runtime.client, app.runtime.config, now=app.runtime.now())
        [alert] = [
            p for p in standin.of("chat.postMessage") if "Amazon EC2" in p.args["blocks"][0]["text"]["text"]
        ]
        [button] = [e for b in alert.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
        posted_at = slack_state.get_button(deps.engine, button["value"])
        assert posted_at is not None and posted_at.channel == ALERTS
        message = {"ts": posted_at.message_ts, "blocks": alert.args["blocks"]}
        app.click("costpilot_remediate", button["value"], user="U_CAROL", message=message, channel=ALERTS)
        app.click("costpilot_remediate", button["value"], user="U_DAVE", message=message, channel=ALERTS)
        standin.wait_calls("chat.postEphemeral", 2)
        standin.wait_calls("chat.update")
        approvals = [p for p in standin.of("chat.postMessage") if p.args["channel"] == APPROVALS]
        assert len(approvals) == 1  # the api proposal of the (fake) detector, posted once
        told = {c.args["user"]: c.args["text"] for c in standin.of("chat.postEphemeral")}
        winner, loser = (
            ("U_CAROL", "U_DAVE") if told["U_CAROL"].startswith("posted") else ("U_DAVE", "U_CAROL")
        )
        assert told[winner] == f"posted for approval to {APPROVALS}: {approvals_ids(deps)}"
        assert told[loser].startswith(f"The remediation was already requested by <@{winner}>")
        [proposal] = call_tool("proposals_list", {"states": ["awaiting_approval"]}, deps).proposals  # type: ignore[attr-defined]
        assert proposal.requested_by == winner  # the clicker asked for it (four-eyes in production)


def test_a_429_is_retried_after_retry_after(env: Path, slack_env: Path, standin: SlackStandin) -> None:
    slept: list[float] = []
    standin.retry_after = 7
    runtime = make_runtime(slack_env, token="xoxb-429", sleep=slept.append)
    try:
        deps = runtime.deps()
        summary: Any = call_tool("scan", {}, deps)
        result = post_new_proposals(
            deps, summary, client=runtime.client, config=runtime.config, now=runtime.now()
        )
    finally:
        runtime.close()
    assert slept == [7.0] and len(result.posted) == 1
    attempts = [c for c in standin.calls if c.method == "chat.postMessage"]
    assert [(c.status, c.headers.get("Retry-After")) for c in attempts] == [(429, "7"), (200, None)]


def test_retry_after_is_waited_for_real(env: Path, slack_env: Path, standin: SlackStandin) -> None:
    runtime = make_runtime(slack_env, token="xoxb-429")  # the real clock: Retry-After 1 s
    try:
        deps = runtime.deps()
        summary: Any = call_tool("scan", {}, deps)
        started = time.monotonic()
        result = post_new_proposals(
            deps, summary, client=runtime.client, config=runtime.config, now=runtime.now()
        )
        waited = time.monotonic() - started
    finally:
        runtime.close()
    assert len(result.posted) == 1 and 1.0 <= waited < 5


def test_still_rate_limited_after_retries_is_reported_and_posted_next_time(
    env: Path, slack_env: Path, standin: SlackStandin
) -> None:
    limited = make_runtime(slack_env, token="xoxb-429-always", sleep=lambda s: None)
    try:
        deps = limited.deps()
        summary: Any = call_tool("scan", {}, deps)
        failed = post_new_proposals(
            deps, summary, client=limited.client, config=limited.config, now=limited.now()
        )
    finally:
        limited.close()
    [(pid, reason)] = failed.failed
    assert failed.posted == [] and reason == f"Slack refused the approval message for {pid}: ratelimited"
    assert sum(c.status == 429 for c in standin.calls if c.method == "chat.postMessage") == 4  # 1 + 3 retries
    fine = make_runtime(slack_env)
    try:
        deps = fine.deps()
        again = post_new_proposals(deps, summary, client=fine.client, config=fine.config, now=fine.now())
        # The failed attempt's buttons were revoked; the new message carries fresh ones.
        [post] = standin.of("chat.postMessage")
        [actions] = [b for b in post.args["blocks"] if b["type"] == "actions"]
        assert all(
            slack_state.get_button(deps.engine, e["value"]).state == "open" for e in actions["elements"]
        )  # type: ignore[union-attr]
    finally:
        fine.close()
    assert again.posted == [pid]


def approvals_ids(deps: Any) -> str:
    return ", ".join(
        p.id for p in call_tool("proposals_list", {"states": ["awaiting_approval"]}, deps).proposals
    )  # type: ignore[attr-defined]
