"""The pull request a proposal becomes (branch, files, title, body, commit message with the audit
anchor, labels, bot comment) and the one-line explanations the remediation service gives."""

from __future__ import annotations

from collections.abc import Callable

from domain.changes import GuardrailReport, PlannedChange
from gitops import pr_body
from gitops.forges import FileContent, PublishRequest
from gitops.forges.base import BODY_ANCHOR_MARKER
from services.remediation.results import ScanItem
from store import proposals as store
from store.proposals import Proposal, ProposalState

# The PR body's hidden copy of the commit's ``Audit-Head`` trailer.
ANCHOR_MARKER = BODY_ANCHOR_MARKER


def build(
    proposal: Proposal,
    change: PlannedChange,
    report: GuardrailReport,
    *,
    head: tuple[int, str],
    labels: list[str],
    intro: str = "",
    render_report: Callable[[GuardrailReport], str] | None = None,
) -> PublishRequest:
    """The forge request for ``proposal``: ``change`` and ``report`` are the ones made right
    before the PR (or the stored ones); ``head`` is the audit chain's (seq, hash), recorded in
    the commit message (``Audit-Head: SEQ:HASH``) and the body: an anchor outside the state DB."""
    body = pr_body.render_body(
        proposal.id,
        change,
        report,
        approved_by=proposal.approved_by,
        approved_at=proposal.approved_at,
        report_markdown=render_report(report) if render_report else None,
        intro=intro,
    )
    anchor = f"{head[0]}:{head[1]}"
    body = f"{body.rstrip(chr(10))}\n{ANCHOR_MARKER}{anchor} -->\n"
    message = (
        f"{change.title}\n\ncostpilot proposal {proposal.id}\nPatch-SHA256: {change.patch_sha256}\n"
        f"Approved-by: {proposal.approved_by}\nAudit-Head: {anchor}\n"
    )
    return PublishRequest(
        branch=change.branch,
        base_sha=change.base_sha,
        title=change.title,
        body=body,
        commit_message=message,
        # ``before`` lets the forge check that the base still holds what the patch was made on.
        files=[FileContent(path=f.path, content=f.after, before=f.before) for f in change.files],
        labels=labels,
        comment=pr_body.render_comment(proposal.id, change, approved_by=proposal.approved_by),
        comment_marker=pr_body.MARKER_PREFIX,
    )


def failing_now(report: GuardrailReport) -> str:
    failures = report.failures
    first = failures[0] if failures else None
    detail = f" ({first.rule_id}: {first.message})" if first else ""
    rules = ", ".join(store.failing_rules(report))
    return f"re-validated on the current base, the guardrails fail now: {rules}{detail}"


def not_approvable(proposal: Proposal) -> str:
    explain = {
        ProposalState.blocked: f"blocked by {', '.join(proposal.blocked_rules) or 'guardrails'}",
        ProposalState.superseded: f"superseded by {proposal.superseded_by} (the patch changed; the approval is void)",
        ProposalState.expired: "expired; run `costpilot scan` to propose it again",
        ProposalState.rejected: f"rejected by {proposal.decided_by}",
    }
    detail = explain.get(proposal.state, proposal.state.value)
    return f"proposal {proposal.id} cannot be approved: {detail}"


def scan_item(
    proposal: Proposal, change: PlannedChange, outcome: store.RecordOutcome, superseded: list[str]
) -> ScanItem:
    return ScanItem(
        id=proposal.id,
        playbook=proposal.playbook,
        branch=proposal.branch,
        environment=proposal.environment,
        state=proposal.state,
        outcome=outcome,
        blocked_rules=proposal.blocked_rules,
        monthly_cost_now=change.monthly_cost_now,
        monthly_cost_after=change.monthly_cost_after,
        superseded=superseded,
    )


def same_plan(approved: PlannedChange, fresh: PlannedChange) -> bool:
    """The approval still holds: the exact patch, on the same files and fields."""
    return approved.patch_sha256 == fresh.patch_sha256 and [
        (f.path, f.changed_fields) for f in approved.files
    ] == [(f.path, f.changed_fields) for f in fresh.files]


def short(sha: str | None) -> str:
    return sha[:12] if sha else "unknown"
