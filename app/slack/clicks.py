"""A click on Approve / Reject: authorise → claim the single-use token → resume the proposal's
remediation thread (``decide``, then ``open_pr``) → ``chat.update`` the message. Open-swe's order: the clicker is authorised first (a refusal is
told to them only, and audited by ``decide`` itself); then one conditional UPDATE claims the
token and revokes its sibling, so of a double click, a Slack retry, a second replica or two
approvers racing exactly one goes on; the others are told who decided, ephemerally."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.logs import get_logger
from app.slack.approvals import decided_blocks, post_approval, proposal_summary, slack_error, user_ref, when
from app.slack.blocks import FALLBACK_TEXT, clip, esc
from domain.errors import CostpilotError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from app.slack.runtime import SlackRuntime
    from services.deps import Deps
    from store.slack_state import Button, Claim

log = get_logger("slack.clicks")


def ephemeral(client: WebClient, channel: str | None, user: str, text: str) -> None:
    """Tell ``user`` only (refusals, "already decided", expired buttons)."""
    if not channel:
        return
    client.chat_postEphemeral(channel=channel, user=user, text=clip(text, FALLBACK_TEXT))


def _where(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return channel, container.get("message_ts") or (body.get("message") or {}).get("ts")


def on_decision(runtime: SlackRuntime, body: Mapping[str, Any], client: WebClient) -> None:
    """The lazy half of an Approve / Reject click (Bolt acked it already)."""
    from store import slack_state

    user = str(body["user"]["id"])
    token = str(body["actions"][0].get("value", ""))
    channel, message_ts = _where(body)
    deps = runtime.deps()
    now = runtime.now()
    button = slack_state.get_button(deps.engine, token)
    if button is None or button.action not in ("approve", "reject"):
        ephemeral(client, channel, user, "This button is not valid any more; see `costpilot proposals list`.")
        return
    refusal = _authorise(runtime, deps, button, user)
    if refusal is not None:
        ephemeral(client, channel, user, refusal)
        return
    claim = slack_state.claim_button(deps.engine, token, user=user, now=now)
    if claim is None or not claim.won:
        ephemeral(client, channel, user, _lost(claim, button, now))
        return
    status = _decide(runtime, deps, client, button, user, claim)
    _update_message(runtime, deps, client, button, body, status, channel, message_ts)


def _authorise(runtime: SlackRuntime, deps: Deps, button: Button, user: str) -> str | None:
    """None when ``user`` may take this decision; else the refusal, already audited."""
    from services.registry import call_tool
    from services.remediation import ApprovalRefused, build_service

    service = build_service(deps)
    try:
        proposal = service.show(button.subject)
        runtime.resolve_slack_groups(deps, proposal.playbook)
        service = build_service(deps)  # with the Slack groups just resolved
    except CostpilotError as exc:
        return f"Cannot decide on {button.subject}: {exc}"
    if service.authorizer.refusal(proposal, user, approving=button.action == "approve") is None:
        return None
    try:  # the refusal goes through decide, which audits it, so every surface is audited alike
        call_tool("decide", {"proposal_id": button.subject, "user": user, "decision": button.action}, deps)
    except ApprovalRefused as exc:
        return f"You may not {button.action} this change: {exc}"
    except CostpilotError as exc:
        return f"Cannot decide on {button.subject}: {exc}"
    return None  # pragma: no cover - the authorizer and decide agree


def _lost(claim: Claim | None, button: Button, now: Any) -> str:
    if claim is not None and claim.decided_by:
        verb = {"approve": "approved", "reject": "rejected"}.get(claim.decided_action or "", "decided")
        return f"Already decided by {user_ref(claim.decided_by)} ({verb} at {when(claim.decided_at)})."
    if button.expired(now):
        return f"This approval request expired at {when(button.expires_at)}; run `costpilot scan` to propose it again."
    return "This button is not valid any more."


def _decide(
    runtime: SlackRuntime, deps: Deps, client: WebClient, button: Button, user: str, claim: Claim
) -> str:
    """Resume the proposal's remediation thread with the decision (its nodes call ``decide``, then
    for an approval ``open_pr``); the status line for the updated message."""
    from agent.remediation import resume_decision
    from services.registry import call_tool
    from services.remediation.results import ApprovalOutcome
    from services.remediation.service import ApprovalVoid

    approving = button.action == "approve"
    decision: dict[str, Any] = {
        "type": "accept" if approving else "ignore",
        "user": user,
        "patch_sha256": button.patch_sha256,
        "idempotency_key": f"slack-button:{button.token}",
        "reason": None if approving else "rejected in Slack",
        "via": "slack",  # a Slack-verified user id (production approvals may require it)
    }
    try:
        outcome = ApprovalOutcome.model_validate(resume_decision(deps, button.subject, decision))
    except ApprovalVoid as exc:
        # Judged again on the current base at decision time: the patch changed (the new proposal
        # asks anew) or the guardrails fail now. Nothing was approved.
        return _void_text(runtime, deps, client, " ".join(str(exc).split()), exc.new_ids)
    except CostpilotError as exc:
        reason = esc(" ".join(str(exc).split()))
        current: Any = call_tool("proposal_show", {"proposal_id": button.subject}, deps)
        if approving and current.state == "approved" and current.approved_by:
            log.warning("PR for %s not opened: %s", button.subject, exc)
            return (
                f"✅ Approved by {user_ref(current.approved_by)} at {when(current.approved_at)} · "
                f"PR not opened yet: {reason} (the next `costpilot scan` retries)"
            )
        return f"⛔ Not decided: {reason}"
    if not approving:
        return f"❌ Rejected by {user_ref(user)} at {when(claim.decided_at)}"
    approved = f"✅ Approved by {user_ref(outcome.approved_by or user)} at {when(outcome.approved_at or claim.decided_at)}"
    return approved + _pr_status(runtime, deps, client, outcome)


def _pr_status(runtime: SlackRuntime, deps: Deps, client: WebClient, outcome: Any) -> str:
    if outcome.step in ("opened", "updated") and outcome.pr_url:
        url = str(outcome.pr_url)
        label = f"#{outcome.pr_number}" if outcome.pr_number else esc(outcome.branch)
        link = f"<{url}|{label}>" if url.startswith(("https://", "http://")) else f"`{esc(url)}`"
        return f" · PR {'opened' if outcome.step == 'opened' else 'updated'}: {link}"
    if outcome.step == "pending":
        return " · the PR is being opened by another process"
    if outcome.step == "void":
        return "\n" + _void_text(runtime, deps, client, outcome.message, outcome.new_proposals)
    return f" · {esc(outcome.message)}"


def _void_text(runtime: SlackRuntime, deps: Deps, client: WebClient, message: str, new_ids: list[str]) -> str:
    text = f"⚠️ The approval is void: {esc(message)}"
    for new_id in new_ids:  # the re-validated change asks for approval anew
        try:
            post_approval(deps, client, runtime.config, new_id, now=runtime.now())
        except CostpilotError as exc:
            text += f"\n(could not post {esc(new_id)} for approval: {esc(exc)})"
    return text


def _update_message(
    runtime: SlackRuntime,
    deps: Deps,
    client: WebClient,
    button: Button,
    body: Mapping[str, Any],
    status: str,
    channel: str | None,
    message_ts: str | None,
) -> None:
    from slack_sdk.errors import SlackClientError

    from store import slack_state

    channel = button.channel or channel
    ts = button.message_ts or message_ts
    if not channel or not ts:
        return
    original = (body.get("message") or {}).get("blocks")
    fallback = [] if original else proposal_summary(deps, button.subject)
    try:
        client.chat_update(
            channel=channel,
            ts=ts,
            text=clip(status, FALLBACK_TEXT),
            blocks=decided_blocks(original, fallback, status),
        )
    except (SlackClientError, OSError) as exc:  # the decision stands; only the message is stale
        log.warning("chat.update of %s failed: %s", button.subject, slack_error(exc))
    slack_state.finish_posting(
        deps.engine, "approval", button.subject, state="decided", now=runtime.now(), note=status
    )
