"""``scan``, ``proposals list|show``, ``approve``, ``reject`` and ``audit verify``: thin commands
over the remediation steps of ``services`` (the same ``TOOLS`` entries Slack and the agent call)."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any

import typer

from app.context import emit_tool_json, get_context
from app.render import console, emit_json
from domain.errors import DataError

BOT = "costpilot"
STATES = (
    "drafted",
    "blocked",
    "awaiting_approval",
    "approved",
    "pr_opened",
    "pr_failed",
    "merged",
    "closed",
    "rejected",
    "expired",
    "superseded",
)
StateChoice = Enum("StateChoice", {s: s for s in STATES}, type=str)  # type: ignore[misc]


def _say(text: str) -> None:
    # markup off: ids, YAML paths like containers[api] and Markdown are data, not rich markup.
    console.print(text, markup=False, highlight=False)


def _usd(amount: Any) -> str:
    from gitops.pr_body import usd

    return usd(Decimal(amount))


def _signed(amount: Any) -> str:
    from gitops.pr_body import signed_usd

    return signed_usd(Decimal(amount))


def scan(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
    as_user: str = typer.Option(BOT, "--as", help="who requests the changes (four-eyes in production)"),
    post: bool = typer.Option(False, "--post", help="post new proposals awaiting approval to Slack"),
) -> None:
    """Run detectors → playbooks → guardrails and record proposals for approval."""
    from agent.remediation import start_threads

    app_ctx = get_context(ctx)
    summary: Any = app_ctx.call("scan", {"requested_by": as_user})
    # Each proposal awaiting approval waits in its own graph thread (interrupt) for a decision.
    start_threads(app_ctx.deps, [i.id for i in summary.awaiting])
    posted: Any = None
    if post:
        from app.slack.post import post_new_proposals

        posted = post_new_proposals(app_ctx.deps, summary)
    if as_json:
        data = summary.model_dump(mode="json")
        if posted:
            data["posted"] = posted.to_json()
        data["blocked"] = [i.id for i in summary.blocked]
        data["awaiting_approval"] = [i.id for i in summary.awaiting]
        emit_json(data)
        return
    _say(f"scan: {summary.findings} findings, {len(summary.proposals)} proposals")
    _say(f"blocked ({len(summary.blocked)}):")
    for item in summary.blocked:
        _say(f"  {item.id}  {item.branch}  failing rules: {', '.join(item.blocked_rules)}")
    _say(f"awaiting approval ({len(summary.awaiting)}):")
    for item in summary.awaiting:
        delta = _signed(item.monthly_cost_after - item.monthly_cost_now)
        _say(f"  {item.id}  {item.branch}  {delta}/month  ({item.outcome.value})")
    selection = getattr(summary, "selection", None)
    if selection is not None and selection.waiting:
        _say(f"waiting ({len(selection.waiting)}), highest saving first:")
        for w in sorted(selection.waiting, key=lambda w: -w.monthly_saving):
            _say(f"  {w.branch}  {_signed(-w.monthly_saving)}/month  {w.reason}")
    for item in summary.proposals:
        if item.superseded:
            _say(f"superseded by {item.id}: {', '.join(item.superseded)}")
    if summary.expired:
        _say(f"expired: {', '.join(summary.expired)}")
    for outcome in summary.resumed:
        _say(f"resumed {outcome.proposal_id}: {outcome.message}")
    for note in summary.notes:
        _say(f"note: {note}")
    for line in posted.lines() if posted else []:
        _say(line)


def list_proposals(
    ctx: typer.Context,
    state: list[StateChoice] | None = typer.Option(None, "--state", help="only these states (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """Proposals, newest first."""
    states = [s.value for s in state or []]
    result: Any = get_context(ctx).call("proposals_list", {"states": states})
    if as_json:
        emit_tool_json("proposals_list", result)
        return
    if not result.proposals:
        _say("no proposals (run `costpilot scan`)")
    for p in result.proposals:
        _say(f"{p.id}  {p.state:<17}  {p.branch}  {p.environment}  {_signed(p.monthly_delta)}/month")


def show(
    ctx: typer.Context,
    proposal_id: str = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """One proposal: state, costs, guardrail results, diff and audit trail."""
    p: Any = get_context(ctx).call("proposal_show", {"proposal_id": proposal_id})
    if as_json:
        emit_tool_json("proposal_show", p)
        return
    _say(f"{p.id}  {p.state}  {p.title}")
    _say(f"branch {p.branch}  environment {p.environment}  requested by {p.requested_by}")
    _say(
        f"monthly cost {_usd(p.monthly_cost_now)} → {_usd(p.monthly_cost_after)} "
        f"({_signed(p.monthly_delta)}/month)"
    )
    _say(f"patch sha256 {p.patch_sha256}")
    if p.approved_by:
        _say(f"approved by {p.approved_by} at {p.approved_at:%Y-%m-%d %H:%M} UTC")
    if p.pr_url:
        _say(f"pull request {p.pr_url}")
    if p.superseded_by:
        _say(f"superseded by {p.superseded_by}")
    _say("guardrails:")
    for r in p.guardrails:
        _say(f"  {r['verdict']:<4}  {r['rule_id']}: {r['message']}")
    _say("diff:")
    _say(p.diff.rstrip("\n"))
    _say("audit:")
    for e in p.audit:
        _say(f"  #{e.seq} {e.at} {e.actor} {e.action}")
    if p.pr_body:
        forge = p.pull_requests[-1]["forge"] if p.pull_requests else "forge"
        _say(f"pull request body ({forge}):")
        _say(p.pr_body.rstrip("\n"))


def approve(
    ctx: typer.Context,
    proposal_id: str = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help="approver (user id as in the approver lists)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """Approve a proposal and open (or update) its pull request through the configured forge.

    The proposal is planned again on the current base of the GitOps repo first: if the patch
    changed, the approval is void, a new proposal is recorded and no PR is opened (exit 2)."""
    app_ctx = get_context(ctx)
    app_ctx.call("proposal_show", {"proposal_id": proposal_id})  # an unknown id is told first
    decided: Any = app_ctx.call(
        "decide",
        {
            "proposal_id": proposal_id,
            "user": as_user,
            "decision": "approve",
            "via": "cli",
            "os_user": _os_user(),
        },
    )
    outcome: Any = decided if decided.final else app_ctx.call("open_pr", {"proposal_id": proposal_id})
    if outcome.step == "void":
        raise DataError(outcome.message)
    if as_json:
        emit_tool_json("open_pr", outcome)
        return
    _say(f"{outcome.proposal_id}: {outcome.message}")
    _say(f"branch {outcome.branch}")


def reject(
    ctx: typer.Context,
    proposal_id: str = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help="approver (user id as in the approver lists)"),
    reason: str | None = typer.Option(None, "--reason", help="why, kept in the audit log"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """Reject a proposal awaiting approval (or a blocked one)."""
    app_ctx = get_context(ctx)
    shown: Any = app_ctx.call("proposal_show", {"proposal_id": proposal_id})
    if shown.state == "awaiting_approval":
        from agent.remediation import resume_decision

        decision = {"type": "ignore", "user": as_user, "reason": reason, "via": "cli", "os_user": _os_user()}
        resume_decision(app_ctx.deps, proposal_id, decision)
    else:
        args = {"proposal_id": proposal_id, "user": as_user, "decision": "reject", "reason": reason}
        args |= {"via": "cli", "os_user": _os_user()}
        app_ctx.call("decide", args)
    if as_json:
        p: Any = app_ctx.call("proposal_show", {"proposal_id": proposal_id})
        item = p.model_dump(mode="json")
        keep = [
            "id",
            "state",
            "playbook",
            "branch",
            "environment",
            "title",
            "namespace",
            "workloads",
            "monthly_cost_now",
            "monthly_cost_after",
            "monthly_delta",
            "patch_sha256",
            "blocked_rules",
            "requested_by",
            "created_at",
            "expires_at",
            "approved_by",
            "approved_at",
            "superseded_by",
            "pr_url",
            "decided_by",
            "reason",
        ]
        emit_json({k: item[k] for k in keep})
        return
    p = app_ctx.call("proposal_show", {"proposal_id": proposal_id})
    _say(f"{p.id}: rejected by {p.decided_by}" + (f" ({p.reason})" if p.reason else ""))


def sync(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """Record proposals whose PR was merged or closed unmerged (``scan`` also does this first)."""
    result: Any = get_context(ctx).call("proposals_sync")
    if as_json:
        emit_tool_json("proposals_sync", result)
        return
    _say(
        f"checked {result.checked} open PR(s): {len(result.merged)} merged, {len(result.closed)} closed, "
        f"{len(result.still_open)} still open"
    )
    for pid in result.merged:
        _say(f"  {pid}: merged")
    for pid in result.closed:
        _say(f"  {pid}: closed unmerged")
    for note in result.notes:
        _say(f"note: {note}")


def verify_audit(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout (also when tampered)"),
) -> None:
    """Re-compute the audit log's hash chain; a tampered event fails with its number (exit 2)."""
    result: Any = get_context(ctx).call("audit_verify")
    if as_json:
        emit_tool_json("audit_verify", result)
    if not result.ok:
        raise DataError(f"audit log tampered at event {result.bad_seq}: {result.reason}")
    if not as_json:
        anchors = result.anchors_checked
        checked = f", {anchors} PR anchor{'s' if anchors != 1 else ''} checked" if anchors else ""
        _say(f"audit log intact: {result.events} events{checked}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("scan")(scan)
    proposals = typer.Typer(help="Remediation proposals.", no_args_is_help=True)
    proposals.command("list")(list_proposals)
    proposals.command("show")(show)
    proposals.command("sync")(sync)
    app.add_typer(proposals, name="proposals")
    app.command("approve")(approve)
    app.command("reject")(reject)
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    audit_app.command("verify")(verify_audit)
    app.add_typer(audit_app, name="audit")


def _os_user() -> str:
    """Who ran the CLI (``approve --as`` names the approver; the OS account is audited beside it)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"
