"""The remediation service: findings → proposals → approval → pull request.

Each call takes who is acting (a CLI ``--as`` name or a Slack user id) and, for requests that may
be retried (Slack re-delivers an event, a button is clicked twice), an idempotency key whose first
result is the answer to every repeat.

The approval is bound to the proposal's patch hash; opening the PR happens under a lease
(``store.proposals.claim_pr``) and the forge finds an existing PR by its branch, so a second
click, a retry or two replicas give one PR, and a failure after the approval is resumed by the
next ``approve`` or ``scan``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from domain.changes import GuardrailReport, PlannedChange
from domain.errors import CostpilotError, InputError
from domain.findings import Finding
from gitops.forges import Forge
from services.remediation.approval_checks import Via, production_refusal, stale
from services.remediation.config import (
    BOT,
    ApprovalRefused,
    ApproverSpec,
    Authorizer,
    RemediationConfig,
    environment_of,
)
from services.remediation.pr_request import not_approvable as _not_approvable
from services.remediation.pr_request import scan_item as _scan_item
from services.remediation.pull_requests import (
    PR_STATES,
    RETRY_STATES,
    ApprovalVoid,
    Planner,
    PullRequestSteps,
    Validator,
)
from services.remediation.results import ApprovalOutcome, ScanItem, ScanSummary
from store import proposals as store
from store.proposals import Proposal, ProposalState


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RemediationService(PullRequestSteps):
    """The seam every surface (CLI, Slack, agent) calls; the forge is built only when needed."""

    engine: Engine
    config: RemediationConfig
    forge: Callable[[], Forge]
    playbook_approvers: Mapping[str, ApproverSpec] = field(default_factory=dict)
    playbook_labels: Mapping[str, list[str]] = field(default_factory=dict)
    playbook_intros: Mapping[str, str] = field(default_factory=dict)
    render_report: Callable[[GuardrailReport], str] | None = None
    environment_of: Callable[[PlannedChange], str] = environment_of
    clock: Callable[[], datetime] = utc_now
    # The policy's ``cli_approvals_in_production`` resolved (``approval_checks.cli_approvals_allowed``).
    cli_production_approvals: bool = True

    @property
    def authorizer(self) -> Authorizer:
        return Authorizer(
            self.config.approvers, frozenset(self.config.production_environments), self.playbook_approvers
        )

    # ----- scan -----
    def submit(
        self,
        validated: Sequence[tuple[PlannedChange, GuardrailReport]],
        *,
        requested_by: str = BOT,
        supersede_reason: str | None = None,
    ) -> list[ScanItem]:
        """Store validated changes as proposals (blocked or awaiting approval); a proposal they
        supersede is audited with ``supersede_reason`` when given."""
        items = []
        ttl = timedelta(hours=self.config.ttl_hours)
        for change, report in validated:
            proposal, outcome, superseded = store.record(
                self.engine,
                change,
                report,
                environment=self.environment_of(change),
                requested_by=requested_by,
                ttl=ttl,
                now=self.clock(),
                supersede_reason=supersede_reason,
            )
            items.append(_scan_item(proposal, change, outcome, superseded))
        return items

    def scan(
        self,
        findings: Sequence[Finding],
        plan: Planner,
        validate: Validator,
        *,
        requested_by: str = BOT,
        notes: Sequence[str] = (),
        covered: Collection[str] | None = None,
    ) -> ScanSummary:
        """Plan and validate findings, record proposals, expire due ones, supersede those awaiting
        approval whose finding is gone (for the finding kinds in ``covered``: the detectors that
        ran; default the kinds found), resume pending PRs."""
        expired = store.expire_due(self.engine, self.clock())
        changes = plan(findings)
        items = self.submit([(c, validate(c)) for c in changes], requested_by=requested_by)
        gone = self.supersede_stale(findings, [c.branch for c in changes], covered)
        resumed, failures = self.resume_pending(plan, validate)
        return ScanSummary(
            findings=len(findings),
            proposals=items,
            expired=expired,
            resumed=resumed,
            notes=[*notes, *failures, *gone],
        )

    def supersede_stale(
        self, findings: Sequence[Finding], branches: Collection[str], covered: Collection[str] | None = None
    ) -> list[str]:
        """Supersede each proposal awaiting approval whose findings are all gone from this scan
        (for the finding kinds in ``covered``: the detectors that ran; default the kinds found);
        one note per proposal superseded."""
        pending = store.list_proposals(self.engine, {ProposalState.awaiting_approval})
        notes = []
        for proposal in stale(pending, findings, branches, covered):
            if store.supersede(
                self.engine, proposal.id, by=None, reason=STALE_REASON, actor=BOT, now=self.clock()
            ):
                notes.append(f"{proposal.id}: superseded: {STALE_REASON}")
        return notes

    def resume_pending(
        self, plan: Planner | None = None, validate: Validator | None = None
    ) -> tuple[list[ApprovalOutcome], list[str]]:
        """Open the PRs of approved proposals whose earlier attempt failed or crashed (each
        re-planned on the current base first); a forge failure is reported (and retried next
        time) instead of stopping the scan."""
        outcomes, failures = [], []
        for proposal in store.list_proposals(self.engine, RETRY_STATES):
            try:
                outcomes.append(self._open_pr(proposal, plan, validate))
            except ApprovalVoid as exc:
                failures.append(f"{proposal.id}: {exc}")
            except CostpilotError as exc:
                failures.append(f"PR for {proposal.id} not opened yet: {exc}")
        return outcomes, failures

    # ----- reading -----
    def list_proposals(self, states: Sequence[ProposalState] | None = None) -> list[Proposal]:
        store.expire_due(self.engine, self.clock())
        return store.list_proposals(self.engine, states)

    def show(self, proposal_id: str) -> Proposal:
        return store.get(self.engine, proposal_id)

    # ----- decisions -----
    def approve(
        self,
        proposal_id: str,
        user: str,
        *,
        expected_sha256: str | None = None,
        idempotency_key: str | None = None,
        plan: Planner | None = None,
        validate: Validator | None = None,
        via: Via | None = None,
        os_user: str | None = None,
    ) -> ApprovalOutcome:
        """Approve as ``user`` (CLI name or Slack user id), then open or update the PR: the two
        public steps ``decide`` and ``open_pr`` in one call.

        With ``plan`` and ``validate`` (the pipeline ``scan`` uses) the proposal's findings are
        re-planned on the current base before the PR is opened; a different patch voids the
        approval (``ApprovalVoid``). Every surface that opens PRs should pass them. A retry with
        the same ``idempotency_key`` gets the first *final* answer; a non-final one (another
        process holds the PR lease) is never stored, so the retry re-checks."""
        if idempotency_key and (stored := store.recall(self.engine, idempotency_key)) is not None:
            return ApprovalOutcome.model_validate_json(stored)
        decided = self.decide(
            proposal_id,
            user,
            expected_sha256=expected_sha256,
            plan=plan,
            validate=validate,
            via=via,
            os_user=os_user,
        )
        outcome = decided if decided.final else self.open_pr(proposal_id, plan, validate)
        outcome = self._remember(idempotency_key, "approve", proposal_id, outcome)
        if outcome.step == "void":
            raise ApprovalVoid(outcome.message, outcome.new_proposals)
        return outcome

    def decide(
        self,
        proposal_id: str,
        user: str,
        *,
        expected_sha256: str | None = None,
        plan: Planner | None = None,
        validate: Validator | None = None,
        via: Via | None = None,
        os_user: str | None = None,
    ) -> ApprovalOutcome:
        """Step 1: authorise ``user`` and record the approval bound to the patch hash (no PR yet).

        ``via`` (cli | slack | mcp | agent) and ``os_user`` (who ran the CLI) are audited with
        the decision; in production the requester never approves their own change, and CLI
        approvals are refused when the policy disables them. With ``plan`` and ``validate`` the
        proposal is re-validated on the current base first: a changed patch or a guardrail that
        fails now voids it (``ApprovalVoid``). Idempotent: a proposal already approved or with
        its PR open answers with its state. A refusal (not an approver, four-eyes, a patch
        other than the one shown) is audited and raised as ``ApprovalRefused``; a proposal that
        cannot be approved raises ``InputError``."""
        now = self.clock()
        proposal = store.get(self.engine, proposal_id)
        details = {k: v for k, v in {"via": via, "os_user": os_user}.items() if v}
        refusal = self.authorizer.refusal(proposal, user) or production_refusal(
            self.authorizer, proposal, user, via=via, cli_allowed=self.cli_production_approvals
        )
        if refusal is None and expected_sha256 and expected_sha256 != proposal.patch_sha256:
            refusal = "the patch changed since it was shown; review the new one"
        if refusal:
            store.refuse(
                self.engine,
                proposal_id,
                actor=user,
                action="approve",
                reason=refusal,
                now=now,
                details=details,
            )
            raise ApprovalRefused(f"{user} may not approve {proposal_id}: {refusal}")
        if proposal.state is ProposalState.awaiting_approval and plan is not None and validate is not None:
            self._recheck(proposal, plan, validate)
        if proposal.state is ProposalState.awaiting_approval and not store.approve(
            self.engine,
            proposal_id,
            approver=user,
            patch_sha256=proposal.patch_sha256,
            now=now,
            details=details,
        ):
            store.expire_due(self.engine, now)  # the guard may have failed on the TTL
        proposal = store.get(self.engine, proposal_id)
        if proposal.state in RETRY_STATES:
            failed = f" (last PR attempt failed: {proposal.reason})" if proposal.reason else ""
            return self._outcome(proposal, f"approved by {proposal.approved_by}; PR not opened yet{failed}")
        if proposal.state in PR_STATES:
            return self._outcome(
                proposal, f"already approved by {proposal.approved_by}; PR {proposal.pr_url}", step="updated"
            )
        raise InputError(_not_approvable(proposal))

    def _recheck(self, proposal: Proposal, plan: Planner, validate: Validator) -> None:
        """At decision time: the proposal planned and validated again on the current base. A
        changed patch supersedes it (``ApprovalVoid`` with the new ids); the same patch whose
        guardrails fail now is blocked with the fresh report (``ApprovalVoid``)."""
        _, report = self._replan(proposal, plan, validate)
        if not report.passed:
            reason = self._block_failing(proposal.id, report)
            raise ApprovalVoid(f"{proposal.id} not approved: {reason}; blocked")

    def _remember(
        self, key: str | None, action: str, subject: str, outcome: ApprovalOutcome
    ) -> ApprovalOutcome:
        """Store a final answer for ``key`` (the first stored one wins across processes)."""
        if not key or not outcome.final:
            return outcome
        stored = store.remember(
            self.engine,
            key,
            action=action,
            subject=subject,
            result=outcome.model_dump_json(),
            now=self.clock(),
        )
        return ApprovalOutcome.model_validate_json(stored)

    def reject(
        self,
        proposal_id: str,
        user: str,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
        via: Via | None = None,
        os_user: str | None = None,
    ) -> Proposal:
        """Reject as ``user`` (an approver of the proposal); ``via`` and ``os_user`` are audited."""
        if idempotency_key and store.recall(self.engine, idempotency_key) is not None:
            return store.get(self.engine, proposal_id)
        now = self.clock()
        details = {k: v for k, v in {"via": via, "os_user": os_user}.items() if v}
        proposal = store.get(self.engine, proposal_id)
        refusal = self.authorizer.refusal(proposal, user, approving=False)
        if refusal:
            store.refuse(
                self.engine,
                proposal_id,
                actor=user,
                action="reject",
                reason=refusal,
                now=now,
                details=details,
            )
            raise ApprovalRefused(f"{user} may not reject {proposal_id}: {refusal}")
        if not store.reject(self.engine, proposal_id, actor=user, reason=reason, now=now, details=details):
            current = store.get(self.engine, proposal_id)
            if current.state is not ProposalState.rejected:
                raise InputError(
                    f"proposal {proposal_id} is {current.state.value}; only a proposal awaiting "
                    "approval or blocked can be rejected"
                )
        if idempotency_key:
            store.remember(
                self.engine, idempotency_key, action="reject", subject=proposal_id, result="{}", now=now
            )
        return store.get(self.engine, proposal_id)


STALE_REASON = "its finding is gone from the latest scan"
