"""``scan``, ``proposals list|show``, ``approve``, ``reject`` and ``audit verify``: thin commands
over ``app.remediation``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import typer

from app import remediation
from app.context import get_context
from app.render import console, emit_json
from domain.errors import DataError
from gitops.pr_body import signed_usd, usd
from store import audit
from store import proposals as store
from store.proposals import Proposal, ProposalState


def _say(text: str) -> None:
    # markup off: ids, YAML paths like containers[api] and Markdown are data, not rich markup.
    console.print(text, markup=False, highlight=False)


def _row(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "state": p.state.value,
        "playbook": p.playbook,
        "branch": p.branch,
        "environment": p.environment,
        "title": p.change.title,
        "monthly_cost_now": str(p.change.monthly_cost_now),
        "monthly_cost_after": str(p.change.monthly_cost_after),
        "monthly_delta": str(p.change.monthly_delta),
        "patch_sha256": p.patch_sha256,
        "blocked_rules": p.blocked_rules,
        "requested_by": p.requested_by,
        "created_at": p.created_at.isoformat(),
        "expires_at": p.expires_at.isoformat() if p.expires_at else None,
        "approved_by": p.approved_by,
        "approved_at": p.approved_at.isoformat() if p.approved_at else None,
        "superseded_by": p.superseded_by,
        "pr_url": p.pr_url,
    }


def scan(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
    as_user: str = typer.Option(
        remediation.BOT, "--as", help="who requests the changes (four-eyes in production)"
    ),
) -> None:
    """Run detectors → playbooks → guardrails and record proposals for approval."""
    summary = remediation.run_scan(get_context(ctx), requested_by=as_user)
    if as_json:
        data = summary.model_dump(mode="json")
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
        delta = signed_usd(item.monthly_cost_after - item.monthly_cost_now)
        _say(f"  {item.id}  {item.branch}  {delta}/month  ({item.outcome.value})")
    for item in summary.proposals:
        if item.superseded:
            _say(f"superseded by {item.id}: {', '.join(item.superseded)}")
    if summary.expired:
        _say(f"expired: {', '.join(summary.expired)}")
    for outcome in summary.resumed:
        _say(f"resumed {outcome.proposal_id}: {outcome.message}")
    for note in summary.notes:
        _say(f"note: {note}")


def list_proposals(
    ctx: typer.Context,
    state: list[ProposalState] | None = typer.Option(None, "--state", help="only these states (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """Proposals, newest first."""
    service = remediation.build_service(get_context(ctx))
    rows = [_row(p) for p in service.list_proposals(state or None)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        _say("no proposals (run `costpilot scan`)")
    for r in rows:
        delta = signed_usd(Decimal(r["monthly_delta"]))
        _say(f"{r['id']}  {r['state']:<17}  {r['branch']}  {r['environment']}  {delta}/month")


def show(
    ctx: typer.Context,
    proposal_id: str = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """One proposal: state, costs, guardrail results, diff and audit trail."""
    service = remediation.build_service(get_context(ctx))
    p = service.show(proposal_id)
    events = audit.events_for(service.engine, p.id)
    prs = store.pull_requests(service.engine, p.id)
    if as_json:
        data = _row(p)
        data["guardrails"] = [r.model_dump(mode="json") for r in p.report.results]
        data["diff"] = p.change.diff
        data["files"] = [f.path for f in p.change.files]
        data["audit"] = [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action} for e in events]
        data["pull_requests"] = [r.model_dump(mode="json") for r in prs]
        data["pr_body"] = prs[-1].body if prs else None
        emit_json(data)
        return
    _say(f"{p.id}  {p.state.value}  {p.change.title}")
    _say(f"branch {p.branch}  environment {p.environment}  requested by {p.requested_by}")
    _say(
        f"monthly cost {usd(p.change.monthly_cost_now)} → {usd(p.change.monthly_cost_after)} "
        f"({signed_usd(p.change.monthly_delta)}/month)"
    )
    _say(f"patch sha256 {p.patch_sha256}")
    if p.approved_by:
        _say(f"approved by {p.approved_by} at {p.approved_at:%Y-%m-%d %H:%M} UTC")
    if p.pr_url:
        _say(f"pull request {p.pr_url}")
    if p.superseded_by:
        _say(f"superseded by {p.superseded_by}")
    _say("guardrails:")
    for r in p.report.results:
        _say(f"  {r.verdict.value:<4}  {r.rule_id}: {r.message}")
    _say("diff:")
    _say(p.change.diff.rstrip("\n"))
    _say("audit:")
    for e in events:
        _say(f"  #{e.seq} {e.at} {e.actor} {e.action}")
    if prs and prs[-1].body:
        _say(f"pull request body ({prs[-1].forge}):")
        _say(prs[-1].body.rstrip("\n"))


def approve(
    ctx: typer.Context,
    proposal_id: str = typer.Argument(..., metavar="ID"),
    as_user: str = typer.Option(..., "--as", help="approver (user id as in the approver lists)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """Approve a proposal and open (or update) its pull request through the configured forge.

    The proposal is planned again on the current base of the GitOps repo first: if the patch
    changed, the approval is void, a new proposal is recorded and no PR is opened (exit 2)."""
    context = get_context(ctx)
    service = remediation.build_service(context)
    service.show(proposal_id)  # an unknown id is told as such before the checkout is read
    plan = validate = None
    checkout = remediation.gitops_checkout(context)
    # Without a checkout (a GitHub forge with no gitops_checkout) nothing can be re-planned; the
    # forge still commits on the base recorded with the patch, never on a newer tip.
    if checkout is not None and checkout.is_dir():
        pipeline = remediation.build_pipeline(context, service)
        service.environment_of = pipeline.environment_of
        plan, validate = pipeline.plan, pipeline.validate
    outcome = service.approve(proposal_id, as_user, plan=plan, validate=validate)
    if as_json:
        emit_json(outcome)
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
    service = remediation.build_service(get_context(ctx))
    proposal = service.reject(proposal_id, as_user, reason=reason)
    if as_json:
        emit_json(_row(proposal) | {"decided_by": proposal.decided_by, "reason": proposal.reason})
        return
    _say(
        f"{proposal.id}: rejected by {proposal.decided_by}"
        + (f" ({proposal.reason})" if proposal.reason else "")
    )


def verify_audit(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout (also when tampered)"),
) -> None:
    """Re-compute the audit log's hash chain; a tampered event fails with its number (exit 2)."""
    service = remediation.build_service(get_context(ctx))
    result = audit.verify(service.engine)
    if as_json:
        emit_json(result)
    if not result.ok:
        raise DataError(f"audit log tampered at event {result.bad_seq}: {result.reason}")
    if not as_json:
        _say(f"audit log intact: {result.events} events")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("scan")(scan)
    proposals = typer.Typer(help="Remediation proposals.", no_args_is_help=True)
    proposals.command("list")(list_proposals)
    proposals.command("show")(show)
    app.add_typer(proposals, name="proposals")
    app.command("approve")(approve)
    app.command("reject")(reject)
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    audit_app.command("verify")(verify_audit)
    app.add_typer(audit_app, name="audit")
