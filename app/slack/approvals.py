"""Approval messages: a proposal awaiting approval posted once to the approvals channel, with
Approve / Reject buttons that each carry a single-use token (``store.slack_state``).

The message is built from ``request_approval`` (the Agent Inbox-shaped request: summary,
guardrails, approvers) plus the proposal's per-workload lines; after a decision the same
content is shown without buttons, with who decided, when, and the PR link or the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackClientError

from app.logs import get_logger
from app.slack.blocks import (
    FALLBACK_TEXT,
    Block,
    clip,
    context,
    divider,
    esc,
    field_sections,
    fit,
    header,
    section,
    signed_money,
)
from app.slack.blocks import money as fmt_money
from app.slack.config import SlackConfig
from domain.errors import ExternalError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from services.deps import Deps

log = get_logger("slack.approvals")
APPROVE, REJECT = "costpilot_approve", "costpilot_reject"
DEFAULT_BUTTON_TTL = timedelta(days=7)
MAX_WORKLOAD_LINES = 10
VERDICT_MARK = {"pass": "✅", "warn": "⚠️", "fail": "❌"}


def slack_error(exc: BaseException) -> str:
    """Slack's error code (``channel_not_found``, ``ratelimited`` …) or the exception's text."""
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "get"):
        return str(response.get("error") or exc)
    return " ".join(str(exc).split()) or type(exc).__name__


def user_ref(user: str | None) -> str:
    """``<@U…>`` for a Slack user id, the escaped name otherwise (CLI names: ``alice``)."""
    if user and user[:1] in "UW" and user.replace("_", "").isalnum() and user.upper() == user:
        return f"<@{user}>"
    return esc(user or "someone")


def when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at is not None else "an unknown time"


def workload_lines(deps: Deps, proposal_id: str) -> list[tuple[str, str]]:
    """Per-workload monthly cost now → after, from the proposal's findings."""
    from gitops.pr_body import workload_label
    from services.remediation import build_service

    change = build_service(deps).show(proposal_id).change
    return [
        (esc(workload_label(f)), f"{fmt_money(f.monthly_cost_now)} → {fmt_money(f.monthly_cost_after)}")
        for f in change.findings
    ]


def summary_blocks(approval: Any, workloads: list[tuple[str, str]]) -> list[Block]:
    """What the approver reads: title, costs, per-workload table, guardrail report."""
    p = approval.proposal
    delta = p.monthly_cost_after - p.monthly_cost_now
    blocks: list[Block] = [
        header(f"Cost change for approval: {p.title}"),
        section(esc(approval.description)),
        *field_sections(
            [
                ("Monthly cost", f"{fmt_money(p.monthly_cost_now)} → {fmt_money(p.monthly_cost_after)}"),
                ("Change", f"{signed_money(delta)}/month"),
                ("Environment", esc(p.environment)),
                ("Playbook", esc(p.playbook)),
                ("Branch", f"`{esc(p.branch)}`"),
                ("Requested by", user_ref(p.requested_by)),
            ]
        ),
    ]
    if workloads:
        blocks.append(section("*Per workload* (monthly cost now → after)"))
        blocks.extend(field_sections(workloads[:MAX_WORKLOAD_LINES]))
        if len(workloads) > MAX_WORKLOAD_LINES:
            blocks.append(context(f"_{len(workloads) - MAX_WORKLOAD_LINES} more workloads in the PR body_"))
    blocks.append(section(guardrail_text(approval.guardrails)))
    blocks.append(
        context(
            f"proposal `{esc(p.id)}` · patch sha256 `{esc(p.patch_sha256[:12])}`"
            + (f" · expires {when(p.expires_at)}" if p.expires_at else "")
        )
    )
    return blocks


def guardrail_text(results: list[dict[str, Any]]) -> str:
    counts = {v: sum(1 for r in results if r.get("verdict") == v) for v in VERDICT_MARK}
    lines = [f"*Guardrails*: {counts['pass']} passed · {counts['warn']} warnings · {counts['fail']} failed"]
    for r in results:
        if r.get("verdict") != "pass":
            mark = VERDICT_MARK.get(str(r.get("verdict")), "•")
            lines.append(f"{mark} `{esc(r.get('rule_id'))}`: {esc(r.get('message', ''))}")
    return clip("\n".join(lines), 2900)


def action_blocks(approval: Any, tokens: dict[str, str]) -> list[Block]:
    p = approval.proposal
    approvers = " ".join(user_ref(u) for u in approval.approvers) or "_none configured_"
    return [
        {
            "type": "actions",
            "block_id": "costpilot_decision",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": tokens["approve"],
                    "confirm": _confirm(
                        "Approve this change?",
                        f"Opens a pull request on `{esc(p.branch)}` ({signed_money(p.monthly_cost_after - p.monthly_cost_now)}/month). "
                        "Your approval binds to this exact patch.",
                        "Approve",
                    ),
                },
                {
                    "type": "button",
                    "action_id": REJECT,
                    "text": {"type": "plain_text", "text": "Reject"},
                    "style": "danger",
                    "value": tokens["reject"],
                    "confirm": _confirm(
                        "Reject this change?", "No pull request will be opened.", "Reject", danger=True
                    ),
                },
            ],
        },
        context(f"Approvers: {approvers}"),
    ]


def _confirm(title: str, text: str, confirm: str, *, danger: bool = False) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": clip(text, 300)},
        "confirm": {"type": "plain_text", "text": confirm},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


@dataclass(frozen=True)
class Posted:
    proposal_id: str
    channel: str
    ts: str | None  # None: already posted (by this or another process), nothing sent


def post_approval(
    deps: Deps, client: WebClient, config: SlackConfig, proposal_id: str, *, now: datetime
) -> Posted:
    """Post ``proposal_id`` (awaiting approval) to the approvals channel once, across processes."""
    from services.registry import call_tool
    from store import slack_state

    channel = config.channel("approvals")
    approval: Any = call_tool("request_approval", {"proposal_id": proposal_id}, deps)
    if not slack_state.claim_posting(deps.engine, "approval", proposal_id, channel=channel, now=now):
        return Posted(proposal_id, channel, None)
    p = approval.proposal
    expires = p.expires_at or now + DEFAULT_BUTTON_TTL
    tokens = slack_state.issue_buttons(
        deps.engine, proposal_id, proposal_id, ("approve", "reject"),
        expires_at=expires, now=now, patch_sha256=p.patch_sha256,
    )  # fmt: skip
    blocks = fit(
        [*summary_blocks(approval, workload_lines(deps, proposal_id)), *action_blocks(approval, tokens)]
    )
    fallback = clip(f"Approval requested: {esc(approval.description)}", FALLBACK_TEXT)
    try:
        response = client.chat_postMessage(channel=channel, text=fallback, blocks=blocks, unfurl_links=False)
    except (SlackClientError, OSError) as exc:
        error = slack_error(exc)
        slack_state.revoke_buttons(deps.engine, tokens.values())
        slack_state.finish_posting(
            deps.engine, "approval", proposal_id, state="failed", now=now, note=str(error)
        )
        raise ExternalError(f"Slack refused the approval message for {proposal_id}: {error}") from None
    ts, posted_in = str(response["ts"]), str(response.get("channel") or channel)
    slack_state.attach_message(deps.engine, tokens.values(), channel=posted_in, ts=ts)
    slack_state.finish_posting(
        deps.engine, "approval", proposal_id, state="posted", now=now, ts=ts, channel=posted_in
    )
    return Posted(proposal_id, posted_in, ts)


def decided_blocks(original: list[Block] | None, fallback: list[Block], status: str) -> list[Block]:
    """The message after a decision: the same content without buttons, plus the status."""
    kept = [b for b in (original or fallback) if b.get("type") != "actions"]
    # The approvers line belonged to the buttons.
    kept = [b for b in kept if not _is_approvers_line(b)]
    return fit([*kept, divider(), section(status)])


def _is_approvers_line(block: Block) -> bool:
    elements = block.get("elements") or []
    return (
        block.get("type") == "context"
        and bool(elements)
        and str(elements[0].get("text", "")).startswith("Approvers:")
    )


def proposal_summary(deps: Deps, proposal_id: str) -> list[Block]:
    """A short summary for a message whose original blocks are not at hand."""
    from services.registry import call_tool

    p: Any = call_tool("proposal_show", {"proposal_id": proposal_id}, deps)
    delta = p.monthly_cost_after - p.monthly_cost_now
    return [
        header(f"Cost change: {p.title}"),
        section(
            f"{fmt_money(p.monthly_cost_now)} → {fmt_money(p.monthly_cost_after)} ({signed_money(delta)}/month) "
            f"in {esc(p.environment)} · `{esc(p.branch)}`"
        ),
    ]
