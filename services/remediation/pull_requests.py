"""Opening the PR of an approved proposal: under a lease, re-planned and re-validated on the
current base first (a changed patch or a failing guardrail voids the approval), then published
through the forge. ``RemediationService`` (services/remediation/service.py) takes these steps
from ``PullRequestSteps``; they need its engine, config, forge, clock, authorizer and ``submit``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from domain.changes import GuardrailReport, PlannedChange
from domain.errors import CostpilotError, DataError, InputError
from domain.findings import Finding
from gitops.forges import Forge, PublishRequest, redact
from services.remediation import pr_request
from services.remediation.approval_checks import approval_refusal
from services.remediation.config import BOT, ApprovalRefused, Authorizer, RemediationConfig
from services.remediation.pr_request import failing_now as _failing_now
from services.remediation.pr_request import same_plan as _same_plan
from services.remediation.pr_request import short as _short
from services.remediation.results import ApprovalOutcome, PrStep, ScanItem
from store import audit
from store import proposals as store
from store.proposals import Proposal, ProposalState

Planner = Callable[[Sequence[Finding]], list[PlannedChange]]
Validator = Callable[[PlannedChange], GuardrailReport]


class ApprovalVoid(DataError):
    """Re-validated on the current base, the approval no longer holds: the patch changed (the
    proposal is superseded and the new one, ``new_ids``, must be approved again) or the
    guardrails fail now (the proposal is blocked with the fresh report). No PR was opened."""

    def __init__(self, message: str, new_ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.new_ids = list(new_ids)


# States in which the PR exists (open, or already merged / closed on the forge).
PR_STATES = frozenset(s for s in ProposalState if s.value in ("pr_opened", "merged", "closed"))
# Approved, PR not written yet: the next approve or scan (re)tries it.
RETRY_STATES = frozenset({ProposalState.approved, ProposalState.pr_failed})


class PullRequestSteps:
    """The PR half of the remediation service (see the module docstring)."""

    engine: Engine
    config: RemediationConfig
    forge: Callable[[], Forge]
    clock: Callable[[], datetime]
    playbook_labels: Mapping[str, list[str]]
    playbook_intros: Mapping[str, str]
    render_report: Callable[[GuardrailReport], str] | None

    if TYPE_CHECKING:

        @property
        def authorizer(self) -> Authorizer: ...

        def submit(
            self,
            validated: Sequence[tuple[PlannedChange, GuardrailReport]],
            *,
            requested_by: str = BOT,
            supersede_reason: str | None = None,
        ) -> list[ScanItem]: ...

    def open_pr(
        self, proposal_id: str, plan: Planner | None = None, validate: Validator | None = None
    ) -> ApprovalOutcome:
        """Step 2: open or update the PR of an approved proposal (``opened`` | ``updated`` |
        ``pending`` when another process holds the lease | ``void`` when the patch changed).
        Idempotent across processes: the lease and the forge's branch lookup give one PR."""
        proposal = store.get(self.engine, proposal_id)
        if proposal.state in PR_STATES:
            return self._outcome(
                proposal, f"already approved by {proposal.approved_by}; PR {proposal.pr_url}", step="updated"
            )
        if proposal.state not in RETRY_STATES:
            raise InputError(
                f"proposal {proposal_id} is {proposal.state.value}; only an approved proposal gets a PR"
            )
        try:
            return self._open_pr(proposal, plan, validate)
        except ApprovalVoid as exc:
            void = self._outcome(store.get(self.engine, proposal_id), str(exc), step="void")
            return void.model_copy(update={"new_proposals": exc.new_ids})

    def _open_pr(
        self, proposal: Proposal, plan: Planner | None = None, validate: Validator | None = None
    ) -> ApprovalOutcome:
        now = self.clock()
        token = store.claim_pr(
            self.engine, proposal.id, lease=timedelta(seconds=self.config.claim_lease_seconds), now=now
        )
        if token is None:
            current = store.get(self.engine, proposal.id)
            if current.state in PR_STATES:
                return self._outcome(
                    current, f"already approved by {current.approved_by}; PR {current.pr_url}", step="updated"
                )
            return self._outcome(current, "approved; another process is opening the PR", step="pending")
        try:
            # Holding the lease: only one process checks, re-plans and, if need be, voids.
            proposal = store.get(self.engine, proposal.id)
            refusal = approval_refusal(self.engine, self.authorizer, proposal)
            if refusal:
                store.refuse(self.engine, proposal.id, actor=BOT, action="pr", reason=refusal, now=now)
                raise ApprovalRefused(f"PR for {proposal.id} refused: {refusal}")
            change, report = proposal.change, proposal.report
            if plan is not None and validate is not None:
                change, report = self._replan(proposal, plan, validate)
                if not report.passed:
                    reason = self._block_failing(proposal.id, report, token)
                    raise ApprovalVoid(f"approval void: {reason}; {proposal.id} blocked, no PR opened")
            request = self.publish_request(proposal, change, report)
            result = self.forge().publish(request)
        except CostpilotError as exc:
            if isinstance(exc, ApprovalVoid | ApprovalRefused):
                store.release_claim(self.engine, proposal.id, token)
            else:  # the forge failed (after its own retries): shown as pr_failed, retried later
                reason = redact(str(exc))
                store.mark_pr_failed(
                    self.engine, proposal.id, token=token, reason=reason, actor=BOT, now=self.clock()
                )
            raise
        except BaseException:
            # Hand the lease back so the next approve or scan retries at once.
            store.release_claim(self.engine, proposal.id, token)
            raise
        store.mark_pr_opened(
            self.engine,
            proposal.id,
            token=token,
            forge=result.forge,
            url=result.url,
            number=result.number,
            commit_sha=result.commit_sha,
            created=result.created,
            actor=BOT,
            now=self.clock(),
            body=request.body,
        )
        current = store.get(self.engine, proposal.id)
        verb = "opened" if result.created else "updated"
        return self._outcome(
            current, f"approved by {current.approved_by}; {verb} {result.url}", result.created, step=verb
        )

    def _block_failing(self, proposal_id: str, report: GuardrailReport, token: str | None = None) -> str:
        """Block the proposal whose guardrails fail now on the current base, with the fresh
        report (its approval, if any, is void); returns the reason."""
        reason = _failing_now(report)
        store.void_approval(
            self.engine,
            proposal_id,
            report.model_dump_json(),
            store.failing_rules(report),
            reason=reason,
            actor=BOT,
            now=self.clock(),
            token=token,
        )
        return reason

    def _replan(
        self, proposal: Proposal, plan: Planner, validate: Validator
    ) -> tuple[PlannedChange, GuardrailReport]:
        """The proposal's change planned and validated again on the current base of the GitOps
        repo (policy, routing file and all: a freeze committed since the scan counts).

        The same patch (SHA-256 of the diff) is returned with its fresh guardrail report (the
        caller voids the approval when it fails), and the fresh change is what is published:
        its files and base are the current ones, so lines changed elsewhere in the file since
        the scan are kept, not reverted. A different patch (or none) voids the approval:
        the proposal is superseded, the new patch recorded through ``submit`` with a fresh
        guardrail report, and ``ApprovalVoid`` raised; no PR is opened."""
        fresh = plan(proposal.change.findings)
        same_target = [c for c in fresh if c.branch == proposal.branch]
        if not same_target and len(fresh) == 1:
            # Re-planned alone, a chunk of a split group gets the group's first slug back.
            same_target = [fresh[0].model_copy(update={"target_slug": proposal.target_slug})]
        if len(same_target) == 1 and len(fresh) == 1 and _same_plan(proposal.change, same_target[0]):
            return same_target[0], validate(same_target[0])
        now = self.clock()
        old_base, new_base = proposal.change.base_sha, fresh[0].base_sha if fresh else None
        moved = f"base moved from {_short(old_base)} to {_short(new_base)}"
        reason = (moved if old_base != new_base else f"checkout at {_short(new_base)} changed") + (
            " and the patch changed"
        )
        # The original requester stays the requester: four-eyes still applies to the new patch.
        items = self.submit(
            [(c, validate(c)) for c in fresh], requested_by=proposal.requested_by, supersede_reason=reason
        )
        new_ids = [i.id for i in items if i.id != proposal.id]
        # ``record`` supersedes the old proposal when it creates the new one; when the new patch
        # matched a stored proposal (or nothing is left to change) it is voided here.
        store.supersede(
            self.engine,
            proposal.id,
            by=new_ids[0] if new_ids else None,
            reason=reason,
            actor=BOT,
            now=now,
        )
        if not new_ids:
            raise ApprovalVoid(
                "the base moved and nothing is left to change; approval void: "
                f"{proposal.id} superseded, no PR opened"
            )
        raise ApprovalVoid(
            "the base moved and the patch changed; approval void: "
            f"re-validated as {', '.join(new_ids)}, ask again",
            new_ids,
        )

    def publish_request(
        self, proposal: Proposal, change: PlannedChange | None = None, report: GuardrailReport | None = None
    ) -> PublishRequest:
        """Branch, files, title, body, labels and bot comment for the forge; ``change`` and
        ``report`` are the proposal's change re-planned and re-validated on the current base
        (same patch), else the stored ones. The commit message and the body carry the audit
        chain's head (``Audit-Head: SEQ:HASH``): an anchor outside the state database."""
        return pr_request.build(
            proposal,
            change or proposal.change,
            report or proposal.report,
            head=audit.head(self.engine),
            labels=list(
                dict.fromkeys([*self.config.labels, *self.playbook_labels.get(proposal.playbook, [])])
            ),
            intro=self.playbook_intros.get(proposal.playbook, ""),
            render_report=self.render_report,
        )

    @staticmethod
    def _outcome(
        proposal: Proposal, message: str, created: bool = False, *, step: PrStep = "approved"
    ) -> ApprovalOutcome:
        return ApprovalOutcome(
            proposal_id=proposal.id,
            step=step,
            state=proposal.state,
            approved_by=proposal.approved_by,
            approved_at=proposal.approved_at,
            branch=proposal.branch,
            pr_url=proposal.pr_url,
            pr_number=proposal.pr_number,
            pr_created=created,
            message=message,
        )
