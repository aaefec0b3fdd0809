"""Anomaly and budget alerts to the alerts channel, at most once per entity per period (claimed in
the state DB), with expected, actual, impact $ and %, root causes, and — when a playbook
applies — a single-use button that asks for the remediation (a scan whose proposals go to the
approvals channel)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.slack.approvals import slack_error, user_ref, when
from app.slack.blocks import (
    FALLBACK_TEXT,
    Block,
    clip,
    context,
    esc,
    field_sections,
    fit,
    header,
    money,
    section,
)
from app.slack.blocks import signed_money as signed
from domain.errors import CostpilotError, DataError, InputError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from app.slack.config import SlackConfig
    from app.slack.runtime import SlackRuntime
    from services.deps import Deps

REMEDIATE = "costpilot_remediate"
ALERT_WINDOW = "last-7d"
BUTTON_TTL = timedelta(days=7)
COMPUTE_WORDS = ("kubernetes", "compute", "ec2", "eks", "gke", "aks", "container")


@dataclass(frozen=True)
class Alert:
    key: str  # kind|entity|period: the once-per-entity-per-period key
    title: str
    blocks: list[Block]
    playbook: str | None = None


def _dims(d: Mapping[str, Any]) -> str:
    return " · ".join(f"{k}={v}" for k, v in d.items()) or "total"


def playbook_for(series: Mapping[str, str], causes: list[Any]) -> str | None:
    """The remediation playbook that applies to an anomaly, if any (keyed by what moved)."""
    values = {**series, **{c.dimension: c.value for c in causes}}
    rules: list[tuple[str, Callable[[dict[str, str]], bool]]] = [
        ("enforce-cost-tags", lambda v: v.get("team") == "(untagged)"),
        ("cheaper-model", lambda v: bool(v.get("model")) and v.get("model") not in ("(none)", "(untagged)")),
        ("rightsize-requests", lambda v: any(w in str(v.get("service", "")).lower() for w in COMPUTE_WORDS)),
    ]
    return next((name for name, applies in rules if applies(values)), None)


def anomaly_alerts(report: Any) -> list[Alert]:
    cur = report.currency
    out = []
    for a in report.anomalies:
        entity = _dims(a.series)
        pct = f" ({a.impact_pct:+.1f}%)" if a.impact_pct is not None else ""
        causes = "\n".join(
            f"• {esc(c.dimension)}={esc(c.value)}: {signed(c.contribution, cur)}" for c in a.root_causes[:5]
        )
        blocks = [
            header(f"Cost anomaly: {entity}"),
            *field_sections(
                [
                    ("Expected", money(a.expected, cur)),
                    ("Actual", money(a.actual, cur)),
                    ("Impact", f"{signed(a.impact, cur)}{pct}"),
                    ("When", esc(a.start if a.start == a.end else f"{a.start}..{a.end}")),
                ]
            ),
        ]
        if causes:
            blocks.append(section(f"*Root causes*\n{causes}"))
        out.append(
            Alert(
                key=f"anomaly|{entity}|{a.start}",
                title=f"Cost anomaly: {entity} {signed(a.impact, cur)}{pct}",
                blocks=blocks,
                playbook=playbook_for(a.series, a.root_causes),
            )
        )
    return out


def budget_alerts(report: Any) -> list[Alert]:
    out = []
    for b in report.budgets:
        if b.alert_level is None and not b.projected_overrun:
            continue
        reasons = [f"{b.alert_level}% of the budget spent"] if b.alert_level else []
        if b.projected_overrun:
            reasons.append("projected to overrun")
        pairs = [("Budget", money(b.amount)), ("Spent", f"{money(b.spent)} ({b.pct_used}%)")]
        if b.projected is not None:
            pairs.append(("Projected", money(b.projected)))
            pairs.append(("Over by", signed(b.projected - b.amount)))
        if b.crossed_on:
            pairs.append(("Crossed on", f"{b.crossed_on}{' (forecast)' if b.crossed_forecast else ''}"))
        out.append(
            Alert(
                key=f"budget|{b.scope}|{b.period.start}",
                title=f"Budget {b.scope}: {', '.join(reasons)}",
                blocks=[
                    header(f"Budget alert: {b.scope} ({b.period_kind})"),
                    section(esc("; ".join(reasons))),
                    *field_sections(pairs),
                ],
            )
        )
    return out


@dataclass
class AlertRun:
    posted: list[str] = field(default_factory=list)
    already: int = 0
    notes: list[str] = field(default_factory=list)


def post_alerts(deps: Deps, client: WebClient, config: SlackConfig, *, now: datetime) -> AlertRun:
    """Check the last 7 days for anomalies and every budget; post what is new."""
    from slack_sdk.errors import SlackClientError

    from services.registry import call_tool
    from store import slack_state

    channel = config.channel("alerts")
    run = AlertRun()
    alerts: list[Alert] = []
    for tool, args, build in (
        ("anomalies", {"period": ALERT_WINDOW}, anomaly_alerts),
        ("budget_status", {}, budget_alerts),
    ):
        try:
            alerts.extend(build(call_tool(tool, args, deps)))
        except (DataError, InputError) as exc:
            run.notes.append(f"{tool}: {exc}")
    for alert in alerts:
        if not slack_state.claim_posting(deps.engine, "alert", alert.key, channel=channel, now=now):
            run.already += 1
            continue
        blocks = list(alert.blocks)
        tokens: dict[str, str] = {}
        if alert.playbook:
            tokens = slack_state.issue_buttons(
                deps.engine, alert.key, alert.playbook, ("remediate",), expires_at=now + BUTTON_TTL, now=now
            )
            blocks.append(_remediate_button(alert.playbook, tokens["remediate"]))
        try:
            sent = client.chat_postMessage(
                channel=channel, text=clip(esc(alert.title), FALLBACK_TEXT), blocks=fit(blocks)
            )
        except (SlackClientError, OSError) as exc:  # one failed alert must not stop the rest
            slack_state.revoke_buttons(deps.engine, tokens.values())
            slack_state.finish_posting(
                deps.engine, "alert", alert.key, state="failed", now=now, note=slack_error(exc)
            )
            run.notes.append(f"{alert.key}: not posted: {slack_error(exc)}")
            continue
        slack_state.attach_message(
            deps.engine, tokens.values(), channel=str(sent.get("channel") or channel), ts=str(sent["ts"])
        )
        slack_state.finish_posting(
            deps.engine, "alert", alert.key, state="posted", now=now, ts=str(sent["ts"])
        )
        run.posted.append(alert.key)
    return run


def _remediate_button(playbook: str, token: str) -> Block:
    return {
        "type": "actions",
        "block_id": "costpilot_remediation",
        "elements": [
            {
                "type": "button",
                "action_id": REMEDIATE,
                "text": {"type": "plain_text", "text": f"Ask for the remediation ({playbook})"},
                "value": token,
                "confirm": {
                    "title": {"type": "plain_text", "text": "Ask for the remediation?"},
                    "text": {
                        "type": "mrkdwn",
                        "text": "Runs a scan; its proposals go to the approvals channel for a human to approve.",
                    },
                    "confirm": {"type": "plain_text", "text": "Scan"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            }
        ],
    }


def on_remediate(runtime: SlackRuntime, body: Mapping[str, Any], client: WebClient) -> None:
    """The lazy half of a click on "Ask for the remediation": claim the token, scan as the
    clicker, post the proposals for approval, tell the clicker and mark the alert."""
    from app.slack.clicks import ephemeral
    from app.slack.post import scan_and_post
    from store import slack_state

    user = str(body["user"]["id"])
    channel = (body.get("channel") or {}).get("id")
    deps, now = runtime.deps(), runtime.now()
    claim = slack_state.claim_button(
        deps.engine, str(body["actions"][0].get("value", "")), user=user, now=now
    )
    if claim is None or not claim.won:
        by = (
            f" by {user_ref(claim.decided_by)} at {when(claim.decided_at)}"
            if claim and claim.decided_by
            else ""
        )
        ephemeral(client, channel, user, f"The remediation was already requested{by}.")
        return
    try:
        summary, posted = scan_and_post(
            deps, requested_by=user, client=client, config=runtime.config, now=now
        )
        lines = posted.lines() if posted else ["COSTPILOT_SLACK_APPROVALS_CHANNEL is not set: nothing posted"]
        text = "; ".join(lines) or f"scan: {len(summary.proposals)} proposals, none new awaiting approval"
    except CostpilotError as exc:
        text = f"The scan failed: {' '.join(str(exc).split())}"
    ephemeral(client, channel, user, text)
    button = claim.button
    if button.channel and button.message_ts:
        original = [b for b in (body.get("message") or {}).get("blocks", []) if b.get("type") != "actions"]
        status = f"Remediation requested by {user_ref(user)} at {when(now)}: {esc(text)}"
        client.chat_update(
            channel=button.channel,
            ts=button.message_ts,
            text=clip(status, FALLBACK_TEXT),
            blocks=fit([*original, context(status)]),
        )
