"""The remediation workflow as public, resumable steps (the ``TOOLS`` entries every surface calls):
``scan`` → ``request_approval`` → ``decide`` → ``open_pr`` → ``pr_status``; plus reading
(``proposals_list``, ``proposal_show``) and ``audit_verify``.

Each step is idempotent and safe across processes: the state machine's guarded transitions, the
PR lease and the forge's branch lookup make a second click, a retry or a second replica a no-op.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InputError
from domain.money import Money
from services.deps import Deps
from services.remediation.results import ApprovalOutcome, ScanSummary
from services.requests import (
    DecideRequest,
    EmptyRequest,
    ProposalRequest,
    ProposalsListRequest,
    RequestApprovalRequest,
    ScanRequest,
)
from store.proposals import Proposal, ProposalState


class ProposalItem(BaseModel):
    """One proposal as lists show it (``proposals list --json`` prints a list of these)."""

    model_config = ConfigDict(frozen=True)

    id: str
    state: str
    playbook: str
    branch: str
    environment: str
    title: str
    namespace: str | None
    workloads: list[str]
    monthly_cost_now: Money
    monthly_cost_after: Money
    monthly_delta: Money
    patch_sha256: str
    blocked_rules: list[str]
    requested_by: str
    created_at: datetime
    expires_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    superseded_by: str | None
    pr_url: str | None


def proposal_item(p: Proposal) -> ProposalItem:
    targets = [f.target for f in p.change.findings]
    namespaces = sorted({t["namespace"] for t in targets if t.get("namespace")})
    workloads = sorted(
        {f"{t.get('kind', 'workload')}/{t['workload']}" for t in targets if t.get("workload")}
        | {f"feature/{t['feature']}" for t in targets if t.get("feature") and not t.get("workload")}
    )
    return ProposalItem(
        id=p.id,
        state=p.state.value,
        playbook=p.playbook,
        branch=p.branch,
        environment=p.environment,
        title=p.change.title,
        namespace=namespaces[0] if len(namespaces) == 1 else None,
        workloads=workloads,
        monthly_cost_now=p.change.monthly_cost_now,
        monthly_cost_after=p.change.monthly_cost_after,
        monthly_delta=p.change.monthly_delta,
        patch_sha256=p.patch_sha256,
        blocked_rules=p.blocked_rules,
        requested_by=p.requested_by,
        created_at=p.created_at,
        expires_at=p.expires_at,
        approved_by=p.approved_by,
        approved_at=p.approved_at,
        superseded_by=p.superseded_by,
        pr_url=p.pr_url,
    )


class ProposalList(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposals: list[ProposalItem]


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    at: str
    actor: str
    action: str


class ProposalDetail(ProposalItem):
    """One proposal with its guardrail report, diff, audit trail and PR records."""

    decided_by: str | None
    reason: str | None
    guardrails: list[dict[str, Any]]
    diff: str
    files: list[str]
    audit: list[AuditEntry]
    pull_requests: list[dict[str, Any]]
    pr_body: str | None


def _service(deps: Deps):  # type: ignore[no-untyped-def]
    from services.remediation.wiring import build_service

    return build_service(deps)


def scan(request: ScanRequest, deps: Deps) -> ScanSummary:
    """Detectors → playbooks → guardrails → proposals (blocked, or awaiting approval)."""
    from services.remediation.wiring import run_scan

    return run_scan(deps, requested_by=request.requested_by)


def proposals_list(request: ProposalsListRequest, deps: Deps) -> ProposalList:
    states = [ProposalState(s) for s in request.states if s in ProposalState.__members__] or None
    if request.states and states is None:
        return ProposalList(proposals=[])
    return ProposalList(proposals=[proposal_item(p) for p in _service(deps).list_proposals(states)])


def proposal_show(request: ProposalRequest, deps: Deps) -> ProposalDetail:
    from store import audit
    from store import proposals as store

    service = _service(deps)
    p = service.show(request.proposal_id)
    prs = store.pull_requests(service.engine, p.id)
    events = audit.events_for(service.engine, p.id)
    return ProposalDetail(
        **proposal_item(p).model_dump(),
        decided_by=p.decided_by,
        reason=p.reason,
        guardrails=[r.model_dump(mode="json") for r in p.report.results],
        diff=p.change.diff,
        files=[f.path for f in p.change.files],
        audit=[AuditEntry(seq=e.seq, at=e.at, actor=e.actor, action=e.action) for e in events],
        pull_requests=[r.model_dump(mode="json") for r in prs],
        pr_body=prs[-1].body if prs else None,
    )


class ApprovalConfig(BaseModel):
    """Agent Inbox's ``config``: what the human may do with the request."""

    model_config = ConfigDict(frozen=True)

    allow_accept: bool = True
    allow_respond: bool = True
    allow_edit: bool = False  # the patch is bound by its hash: an edit is a new proposal
    allow_ignore: bool = True


class ActionRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: Literal["open_pr"] = "open_pr"
    args: dict[str, Any]


class ApprovalRequest(BaseModel):
    """What a human is asked to decide, in the Agent Inbox shape (the graph's ``interrupt()``
    payload and the Slack approval message are both built from it)."""

    model_config = ConfigDict(frozen=True)

    action_request: ActionRequest
    config: ApprovalConfig = Field(default_factory=ApprovalConfig)
    description: str
    proposal: ProposalItem
    guardrails: list[dict[str, Any]]
    approvers: list[str] = Field(description="user ids allowed to decide (groups expanded)")


def request_approval(request: RequestApprovalRequest, deps: Deps) -> ApprovalRequest:
    """The approval request of a proposal awaiting approval; never decides anything."""
    from gitops.pr_body import signed_usd, usd

    service = _service(deps)
    p = service.show(request.proposal_id)
    if p.state is not ProposalState.awaiting_approval:
        raise InputError(
            f"proposal {p.id} is {p.state.value}; only a proposal awaiting approval can be requested"
        )
    allowed = service.authorizer.approvers(p.playbook, p.environment) or set()
    delta = p.change.monthly_cost_after - p.change.monthly_cost_now
    description = (
        f"{p.change.title}: monthly cost {usd(p.change.monthly_cost_now)} → {usd(p.change.monthly_cost_after)} "
        f"({signed_usd(delta)}/month) in {p.environment}; patch sha256 {p.patch_sha256[:12]}"
    )
    return ApprovalRequest(
        action_request=ActionRequest(
            args={"proposal_id": p.id, "branch": p.branch, "patch_sha256": p.patch_sha256}
        ),
        description=description,
        proposal=proposal_item(p),
        guardrails=[r.model_dump(mode="json") for r in p.report.results],
        approvers=sorted(allowed),
    )


def decide(request: DecideRequest, deps: Deps) -> ApprovalOutcome:
    """Record a human's decision (approve binds to the patch hash; no PR is opened here)."""
    service = _service(deps)
    if request.idempotency_key:
        from store import proposals as store

        stored = store.recall(service.engine, request.idempotency_key)
        if stored is not None:
            return ApprovalOutcome.model_validate_json(stored)
    if request.decision == "reject":
        p = service.reject(
            request.proposal_id,
            request.user,
            reason=request.reason,
            idempotency_key=request.idempotency_key,
            via=request.via,
            os_user=request.os_user,
        )
        return ApprovalOutcome(
            proposal_id=p.id,
            step="rejected",
            state=p.state,
            approved_by=None,
            approved_at=None,
            branch=p.branch,
            message=f"rejected by {p.decided_by}" + (f" ({p.reason})" if p.reason else ""),
        )
    service.show(request.proposal_id)  # an unknown id is told as such before the checkout is read
    plan, validate = _pipeline(deps, service)
    # Guardrails and policy are judged again on the current base at decision time.
    return service.decide(
        request.proposal_id,
        request.user,
        expected_sha256=request.patch_sha256,
        plan=plan,
        validate=validate,
        via=request.via,
        os_user=request.os_user,
    )


def _pipeline(deps: Deps, service: Any) -> tuple[Any, Any]:
    """The scan's planner and validator over the current checkout, or ``(None, None)`` without
    one (a GitHub forge with no gitops_checkout: nothing can be re-planned; the forge still
    commits on the base recorded with the patch, never on a newer tip)."""
    from services.remediation.wiring import build_pipeline

    root = deps.gitops_checkout
    if root is None or not root.is_dir():
        return None, None
    pipeline = build_pipeline(deps, service)
    service.environment_of = pipeline.environment_of
    return pipeline.plan, pipeline.validate


def open_pr(request: ProposalRequest, deps: Deps) -> ApprovalOutcome:
    """Open or update the PR of an approved proposal, re-planned on the current base first when
    the checkout is at hand (a changed patch voids the approval: ``step == "void"``)."""
    service = _service(deps)
    service.show(request.proposal_id)  # an unknown id is told as such before the checkout is read
    plan, validate = _pipeline(deps, service)
    return service.open_pr(request.proposal_id, plan, validate)


class PrStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal_id: str
    state: str
    branch: str
    pr_url: str | None
    forge_status: str | None = Field(
        description="open | merged | closed as the forge reports it; None: no PR"
    )
    estimated_monthly_savings: Money


def pr_status(request: ProposalRequest, deps: Deps) -> PrStatus:
    """The PR's state as the forge reports it (read-only: ``proposals sync`` records changes)."""
    service = _service(deps)
    p = service.show(request.proposal_id)
    status: str | None = None
    if p.pr_url is not None or p.state.value in ("pr_opened", "merged", "closed"):
        from gitops.forges.base import UnknownPullRequest

        try:
            status = service.forge().status(p.branch).value
        except UnknownPullRequest:
            status = "unknown"
    return PrStatus(
        proposal_id=p.id,
        state=p.state.value,
        branch=p.branch,
        pr_url=p.pr_url,
        forge_status=status,
        estimated_monthly_savings=max(p.change.monthly_cost_now - p.change.monthly_cost_after, Decimal(0)),
    )


class AuditVerifyResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    events: int
    bad_seq: int | None = None
    reason: str | None = None
    anchors_checked: int = 0  # audit heads read from published PRs (local branches, GitHub PR bodies)


def audit_verify(_request: EmptyRequest, deps: Deps) -> AuditVerifyResult:
    from services.remediation import audit_check

    result = audit_check.verify(deps)  # the chain, its anchors in published PRs, the proposals' states
    return AuditVerifyResult.model_validate(result.model_dump())
