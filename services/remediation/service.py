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
from domain.errors import CostpilotError, DataError, InputError
from domain.findings import Finding
from gitops.forges import Forge, PublishRequest, redact
from services.remediation import pr_request
from services.remediation.approval_checks import Via, approval_refusal, production_refusal, stale
from services.remediation.config import (
    BOT,
    ApprovalRefused,
    ApproverSpec,
    Authorizer,
    RemediationConfig,
    environment_of,
)
from services.remediation.pr_request import failing_now as _failing_now
from services.remediation.pr_request import not_approvable as _not_approvable
from services.remediation.pr_request import same_plan as _same_plan
from services.remediation.pr_request import scan_item as _scan_item
from services.remediation.pr_request import short as _short
from services.remediation.results import ApprovalOutcome, PrStep, ScanItem, ScanSummary
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


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RemediationService:
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
        for proposal in store.list_proposals(self.engine, _RETRY_STATES):
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
        if proposal.state in _RETRY_STATES:
            failed = f" (last PR attempt failed: {proposal.reason})" if proposal.reason else ""
            return self._outcome(proposal, f"approved by {proposal.approved_by}; PR not opened yet{failed}")
        if proposal.state in _PR_STATES:
            return self._outcome(
                proposal, f"already approved by {proposal.approved_by}; PR {proposal.pr_url}", step="updated"
            )
        raise InputError(_not_approvable(proposal))

    def _recheck(self, proposal: Proposal, plan: Planner, validate: Validator) -> None:
        """At decision time: the proposal planned and validated again on the current base. A
        changed patch supersedes it (``ApprovalVoid`` with the new ids); the same patch whose
        guardrails fail now is blocked with the fresh report (``ApprovalVoid``)."""
        change, report = self._replan(proposal, plan, validate)
        if not report.passed:
            reason = _failing_now(report)
            store.void_approval(
                self.engine,
                proposal.id,
                report.model_dump_json(),
                store.failing_rules(report),
                reason=reason,
                actor=BOT,
                now=self.clock(),
            )
            raise ApprovalVoid(f"{proposal.id} not approved: {reason}; blocked")
        del change

    def open_pr(
        self, proposal_id: str, plan: Planner | None = None, validate: Validator | None = None
    ) -> ApprovalOutcome:
        """Step 2: open or update the PR of an approved proposal (``opened`` | ``updated`` |
        ``pending`` when another process holds the lease | ``void`` when the patch changed).
        Idempotent across processes: the lease and the forge's branch lookup give one PR."""
        proposal = store.get(self.engine, proposal_id)
        if proposal.state in _PR_STATES:
            return self._outcome(
                proposal, f"already approved by {proposal.approved_by}; PR {proposal.pr_url}", step="updated"
            )
        if proposal.state not in _RETRY_STATES:
            raise InputError(
                f"proposal {proposal_id} is {proposal.state.value}; only an approved proposal gets a PR"
            )
        try:
            return self._open_pr(proposal, plan, validate)
        except ApprovalVoid as exc:
            void = self._outcome(store.get(self.engine, proposal_id), str(exc), step="void")
            return void.model_copy(update={"new_proposals": exc.new_ids})

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

    # ----- pull requests -----
    def _open_pr(
        self, proposal: Proposal, plan: Planner | None = None, validate: Validator | None = None
    ) -> ApprovalOutcome:
        now = self.clock()
        token = store.claim_pr(
            self.engine, proposal.id, lease=timedelta(seconds=self.config.claim_lease_seconds), now=now
        )
        if token is None:
            current = store.get(self.engine, proposal.id)
            if current.state in _PR_STATES:
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
                    reason = _failing_now(report)
                    store.void_approval(
                        self.engine,
                        proposal.id,
                        report.model_dump_json(),
                        store.failing_rules(report),
                        reason=reason,
                        actor=BOT,
                        now=self.clock(),
                        token=token,
                    )
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


# States in which the PR exists (open, or already merged / closed on the forge).
_PR_STATES = frozenset(s for s in ProposalState if s.value in ("pr_opened", "merged", "closed"))
# Approved, PR not written yet: the next approve or scan (re)tries it.
_RETRY_STATES = frozenset({ProposalState.approved, ProposalState.pr_failed})
STALE_REASON = "its finding is gone from the latest scan"
