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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from domain.changes import GuardrailReport, PlannedChange
from domain.errors import CostpilotError, DataError, InputError
from domain.findings import Finding
from gitops import pr_body
from gitops.forges import FileContent, Forge, PublishRequest
from services.remediation.config import (
    BOT,
    ApprovalRefused,
    ApproverSpec,
    Authorizer,
    RemediationConfig,
    environment_of,
)
from services.remediation.results import ApprovalOutcome, PrStep, ScanItem, ScanSummary
from store import proposals as store
from store.proposals import Proposal, ProposalState

Planner = Callable[[Sequence[Finding]], list[PlannedChange]]
Validator = Callable[[PlannedChange], GuardrailReport]


class ApprovalVoid(DataError):
    """The patch re-planned on the current base differs from the approved one: no PR was opened,
    the proposal is superseded and the new one (``new_ids``) must be approved again."""

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
    ) -> ScanSummary:
        """Plan and validate findings, record proposals, expire stale ones, resume pending PRs."""
        expired = store.expire_due(self.engine, self.clock())
        changes = plan(findings)
        items = self.submit([(c, validate(c)) for c in changes], requested_by=requested_by)
        resumed, failures = self.resume_pending(plan, validate)
        return ScanSummary(
            findings=len(findings),
            proposals=items,
            expired=expired,
            resumed=resumed,
            notes=[*notes, *failures],
        )

    def resume_pending(
        self, plan: Planner | None = None, validate: Validator | None = None
    ) -> tuple[list[ApprovalOutcome], list[str]]:
        """Open the PRs of approved proposals whose earlier attempt failed or crashed (each
        re-planned on the current base first); a forge failure is reported (and retried next
        time) instead of stopping the scan."""
        outcomes, failures = [], []
        for proposal in store.list_proposals(self.engine, {ProposalState.approved}):
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
        decided = self.decide(proposal_id, user, expected_sha256=expected_sha256)
        outcome = decided if decided.final else self.open_pr(proposal_id, plan, validate)
        outcome = self._remember(idempotency_key, "approve", proposal_id, outcome)
        if outcome.step == "void":
            raise ApprovalVoid(outcome.message, outcome.new_proposals)
        return outcome

    def decide(self, proposal_id: str, user: str, *, expected_sha256: str | None = None) -> ApprovalOutcome:
        """Step 1: authorise ``user`` and record the approval bound to the patch hash (no PR yet).

        Idempotent: a proposal already approved or with its PR open answers with its state. A
        refusal (not an approver, four-eyes, a patch other than the one shown) is audited and
        raised as ``ApprovalRefused``; a proposal that cannot be approved raises ``InputError``."""
        now = self.clock()
        proposal = store.get(self.engine, proposal_id)
        refusal = self.authorizer.refusal(proposal, user)
        if refusal is None and expected_sha256 and expected_sha256 != proposal.patch_sha256:
            refusal = "the patch changed since it was shown; review the new one"
        if refusal:
            store.refuse(self.engine, proposal_id, actor=user, action="approve", reason=refusal, now=now)
            raise ApprovalRefused(f"{user} may not approve {proposal_id}: {refusal}")
        if proposal.state is ProposalState.awaiting_approval and not store.approve(
            self.engine, proposal_id, approver=user, patch_sha256=proposal.patch_sha256, now=now
        ):
            store.expire_due(self.engine, now)  # the guard may have failed on the TTL
        proposal = store.get(self.engine, proposal_id)
        if proposal.state is ProposalState.approved:
            return self._outcome(proposal, f"approved by {proposal.approved_by}; PR not opened yet")
        if proposal.state in _PR_STATES:
            return self._outcome(
                proposal, f"already approved by {proposal.approved_by}; PR {proposal.pr_url}", step="updated"
            )
        raise InputError(_not_approvable(proposal))

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
        if proposal.state is not ProposalState.approved:
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
        self, proposal_id: str, user: str, *, reason: str | None = None, idempotency_key: str | None = None
    ) -> Proposal:
        """Reject as ``user`` (an approver of the proposal)."""
        if idempotency_key and store.recall(self.engine, idempotency_key) is not None:
            return store.get(self.engine, proposal_id)
        now = self.clock()
        proposal = store.get(self.engine, proposal_id)
        refusal = self.authorizer.refusal(proposal, user, approving=False)
        if refusal:
            store.refuse(self.engine, proposal_id, actor=user, action="reject", reason=refusal, now=now)
            raise ApprovalRefused(f"{user} may not reject {proposal_id}: {refusal}")
        if not store.reject(self.engine, proposal_id, actor=user, reason=reason, now=now):
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
            change = proposal.change
            if plan is not None and validate is not None:
                # Holding the lease: only one process re-plans and, if need be, records the new patch.
                change = self._replan(proposal, plan, validate)
            request = self.publish_request(proposal, change)
            result = self.forge().publish(request)
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

    def _replan(self, proposal: Proposal, plan: Planner, validate: Validator) -> PlannedChange:
        """The proposal's change planned again on the current base of the GitOps repo.

        The same patch (SHA-256 of the diff) keeps the approval, and the fresh change is what is
        published: its files and base are the current ones, so lines changed elsewhere in the file
        since the scan are kept, not reverted. A different patch (or none) voids the approval:
        the proposal is superseded, the new patch recorded through ``submit`` with a fresh
        guardrail report, and ``ApprovalVoid`` raised; no PR is opened."""
        fresh = plan(proposal.change.findings)
        same_target = [c for c in fresh if c.branch == proposal.branch]
        if not same_target and len(fresh) == 1:
            # Re-planned alone, a chunk of a split group gets the group's first slug back.
            same_target = [fresh[0].model_copy(update={"target_slug": proposal.target_slug})]
        if len(same_target) == 1 and len(fresh) == 1 and _same_plan(proposal.change, same_target[0]):
            return same_target[0]
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

    def publish_request(self, proposal: Proposal, change: PlannedChange | None = None) -> PublishRequest:
        """Branch, files, title, body, labels and bot comment for the forge; ``change`` is the
        proposal's change re-planned on the current base (same patch), else the stored one."""
        change = change or proposal.change
        report_md = self.render_report(proposal.report) if self.render_report else None
        body = pr_body.render_body(
            proposal.id,
            change,
            proposal.report,
            approved_by=proposal.approved_by,
            approved_at=proposal.approved_at,
            report_markdown=report_md,
            intro=self.playbook_intros.get(change.playbook, ""),
        )
        message = (
            f"{change.title}\n\ncostpilot proposal {proposal.id}\nPatch-SHA256: {change.patch_sha256}\n"
            f"Approved-by: {proposal.approved_by}\n"
        )
        return PublishRequest(
            branch=change.branch,
            base_sha=change.base_sha,
            title=change.title,
            body=body,
            commit_message=message,
            # ``before`` lets the forge check that the base still holds what the patch was made on.
            files=[FileContent(path=f.path, content=f.after, before=f.before) for f in change.files],
            labels=list(dict.fromkeys([*self.config.labels, *self.playbook_labels.get(change.playbook, [])])),
            comment=pr_body.render_comment(proposal.id, change, approved_by=proposal.approved_by),
            comment_marker=pr_body.MARKER_PREFIX,
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


def _not_approvable(proposal: Proposal) -> str:
    explain = {
        ProposalState.blocked: f"blocked by {', '.join(proposal.blocked_rules) or 'guardrails'}",
        ProposalState.superseded: f"superseded by {proposal.superseded_by} (the patch changed; the approval is void)",
        ProposalState.expired: "expired; run `costpilot scan` to propose it again",
        ProposalState.rejected: f"rejected by {proposal.decided_by}",
    }
    detail = explain.get(proposal.state, proposal.state.value)
    return f"proposal {proposal.id} cannot be approved: {detail}"


def _scan_item(
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


def _same_plan(approved: PlannedChange, fresh: PlannedChange) -> bool:
    """The approval still holds: the exact patch, on the same files and fields."""
    return approved.patch_sha256 == fresh.patch_sha256 and [
        (f.path, f.changed_fields) for f in approved.files
    ] == [(f.path, f.changed_fields) for f in fresh.files]


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "unknown"
