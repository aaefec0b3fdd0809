"""What must hold before a decision is recorded and before a PR is written, beyond the approver
lists: four-eyes in production whatever a playbook says, the channel production approvals may
come through, and an approval that is an intact audited event (not a flipped database row).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

from sqlalchemy.engine import Engine

from domain.findings import Finding
from services.remediation.config import Authorizer
from store import audit
from store.audit_state import approval_event
from store.proposals import Proposal, ProposalState

Via = Literal["cli", "slack", "mcp", "agent"]
OWN_CHANGE = "in production the requester may not approve their own change"


def production_refusal(
    authorizer: Authorizer,
    proposal: Proposal,
    user: str,
    *,
    via: Via | None = None,
    cli_allowed: bool = True,
) -> str | None:
    """Why ``user`` may not approve ``proposal`` in production beyond the approver lists, or None.

    Four-eyes holds in production even when the playbook sets ``four_eyes_in_production: false``
    (that setting cannot switch it off there); CLI approvals of production changes are refused
    when the policy disables them (the default once Slack is configured: ``--as`` is a name
    anyone can type, Slack's user ids are verified)."""
    if not authorizer.is_production(proposal.environment):
        return None
    if user == proposal.requested_by:
        spec = authorizer.spec(proposal.playbook)
        if spec is not None and not spec.four_eyes_in_production:
            return f"{OWN_CHANGE} (four_eyes_in_production: false in {proposal.playbook} does not apply to production)"
        return OWN_CHANGE
    if via == "cli" and not cli_allowed:
        return (
            "production approvals come through Slack; CLI approvals of production changes are "
            "disabled (cli_approvals_in_production)"
        )
    return None


def cli_approvals_allowed(setting: bool | None, slack_configured: bool) -> bool:
    """The policy's ``cli_approvals_in_production``; unset: allowed only when Slack is not
    configured (no verified channel to send approvers to)."""
    return (not slack_configured) if setting is None else setting


def approval_refusal(engine: Engine, authorizer: Authorizer, proposal: Proposal) -> str | None:
    """Why the PR of ``proposal`` may not be written, or None: its approval must be an intact
    audited event for exactly this patch, by an approver still authorised, with four-eyes in
    production, and its stored guardrail report must pass."""
    if proposal.change.patch_sha256 != proposal.patch_sha256:
        return "the stored change is not the patch that was approved"
    approver = proposal.approved_by
    if not approver:
        return "no approver is recorded"
    events = audit.events_for(engine, proposal.id)
    event = approval_event(events, proposal.id, proposal.patch_sha256, approver)
    if event is None and not _adopted_approval(engine, proposal):
        return f"no audited approval of patch {proposal.patch_sha256[:12]} by {approver}"
    if event is not None and not audit.is_intact(engine, event):
        return f"the audited approval (event {event.seq}) does not verify"
    refusal = authorizer.refusal(proposal, approver) or production_refusal(authorizer, proposal, approver)
    if refusal:
        return f"{approver} may not approve it: {refusal}"
    if not proposal.report.passed:
        failing = ", ".join(dict.fromkeys(r.rule_id for r in proposal.report.failures))
        return f"its guardrail report does not pass ({failing})"
    return None


def _adopted_approval(engine: Engine, proposal: Proposal) -> bool:
    """An approval given before the audit key, adopted by the re-key event."""
    for event in audit.events_for(engine, "audit"):
        if event.action != audit.REKEY or not audit.is_intact(engine, event):
            continue
        import json

        snapshot = json.loads(event.data).get("adopted", {}).get(proposal.id) or {}
        if (snapshot.get("patch_sha256"), snapshot.get("approved_by")) == (
            proposal.patch_sha256,
            proposal.approved_by,
        ) and snapshot.get("state") != ProposalState.awaiting_approval.value:
            return True
    return False


def stale(
    proposals: Sequence[Proposal],
    findings: Sequence[Finding],
    branches: Collection[str],
    covered: Collection[str] | None = None,
) -> list[Proposal]:
    """Proposals awaiting approval whose findings are all gone from this scan (and whose target
    got no new change): only for finding kinds the scan looked at (``covered``; default the kinds
    it found anything of), so a detector skipped for lack of data supersedes nothing."""
    ids = {f.id for f in findings}
    kinds = set(covered) if covered is not None else {f.kind.value for f in findings}
    out = []
    for p in proposals:
        if p.state is not ProposalState.awaiting_approval or p.branch in branches:
            continue
        own = p.change.findings
        if own and all(f.kind.value in kinds and f.id not in ids for f in own):
            out.append(p)
    return out
