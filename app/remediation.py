"""Remediation service: findings → proposals → approval → pull request.

The CLI (``app/commands/remediation.py``), the Slack app and the agent call these same
functions; each takes who is acting (a CLI ``--as`` name or a Slack user id) and, for requests
that may be retried (Slack re-delivers an event, a button is clicked twice), an idempotency key
whose first result is the answer to every repeat.

The approval is bound to the proposal's patch hash; opening the PR happens under a lease
(``store.proposals.claim_pr``) and the forge finds an existing PR by its branch, so a second
click, a retry or two replicas give one PR, and a failure after the approval is resumed by the
next ``approve`` or ``scan``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import Engine

from app.context import AppContext
from app.settings import Settings
from domain.changes import GuardrailReport, PlannedChange
from domain.errors import ConfigError, CostpilotError, DataError, InputError
from domain.findings import Finding
from domain.money import Money
from gitops import pr_body
from gitops.forges import FileContent, Forge, ForgeConfig, PublishRequest, get_forge
from store import proposals as store
from store.proposals import Proposal, ProposalState, RecordOutcome

REMEDIATION_FILE = "remediation.toml"
BOT = "costpilot"


class ApproverSpec(BaseModel):
    """Who may approve one playbook's changes: Slack user ids (``U…``) or ``group:NAME``.
    Same shape as a playbook's ``approvers`` block."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: list[str] = Field(min_length=1)
    production: list[str] = Field(
        default_factory=list, description="for production targets; default when empty"
    )
    four_eyes_in_production: bool = True


class ApproverRules(BaseModel):
    """Workspace approvers: ``playbooks[NAME]`` (or ``*``) overrides the playbook's own block;
    ``groups`` gives the members of ``group:NAME``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    groups: dict[str, list[str]] = Field(default_factory=dict)
    playbooks: dict[str, ApproverSpec] = Field(default_factory=dict)


class RemediationConfig(BaseModel):
    """``<workspace>/remediation.toml``: TTL, lease, approvers, production environments, labels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl_hours: int = Field(
        168, ge=1, le=24 * 90, description="a proposal awaiting approval expires after this"
    )
    claim_lease_seconds: int = Field(
        600, ge=5, le=86400, description="how long a PR-opening attempt holds its lease"
    )
    production_environments: list[str] = Field(default_factory=lambda: ["production", "prod"])
    labels: list[str] = Field(default_factory=lambda: ["costpilot"])
    approvers: ApproverRules = Field(default_factory=ApproverRules)
    gitops_checkout: Path | None = Field(
        None, description="working copy scans read (default: the local forge repo)"
    )


def load_remediation_config(home: Path) -> RemediationConfig:
    """Read ``<home>/remediation.toml`` (defaults when absent); errors name the file and key."""
    path = home / REMEDIATION_FILE
    if not path.is_file():
        return RemediationConfig()
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return RemediationConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: key {key!r}: {first['msg']}") from None


def explicit_environment(change: PlannedChange) -> str | None:
    """An ``env`` / ``environment`` the findings' targets name, if any."""
    for finding in change.findings:
        for key in ("env", "environment"):
            if finding.target.get(key):
                return finding.target[key]
    return None


def environment_of(change: PlannedChange) -> str:
    """The environment a change deploys to without a policy at hand: an explicit one, else
    ``production`` when a namespace or cluster is named like production, else ``unknown``
    (which the four-eyes rule treats like production: the safe side)."""
    explicit = explicit_environment(change)
    if explicit:
        return explicit
    names = [finding.target.get(k, "") for finding in change.findings for k in ("namespace", "cluster")]
    if any("prod" in n.lower() for n in names):
        return "production"
    return "unknown"


class ApprovalRefused(InputError):
    """The user may not take this decision; told to them only, and audited."""


@dataclass(frozen=True)
class Authorizer:
    """Approver lists (workspace first, then the playbook's own block) and four-eyes."""

    rules: ApproverRules
    production_environments: frozenset[str]
    playbook_approvers: Mapping[str, ApproverSpec] = field(default_factory=dict)

    def spec(self, playbook: str) -> ApproverSpec | None:
        return (
            self.rules.playbooks.get(playbook)
            or self.rules.playbooks.get("*")
            or self.playbook_approvers.get(playbook)
        )

    def is_production(self, environment: str) -> bool:
        # An environment costpilot could not tell is treated as production: the strict side.
        return environment in self.production_environments or environment == "unknown"

    def approvers(self, playbook: str, environment: str) -> set[str] | None:
        """User ids allowed to approve, groups expanded; None when nothing is configured."""
        spec = self.spec(playbook)
        if spec is None:
            return None
        principals = spec.production if self.is_production(environment) and spec.production else spec.default
        allowed: set[str] = set()
        for principal in principals:
            if principal.startswith("group:"):
                allowed.update(self.rules.groups.get(principal.removeprefix("group:"), []))
            else:
                allowed.add(principal)
        return allowed

    def refusal(self, proposal: Proposal, user: str, *, approving: bool = True) -> str | None:
        """Why ``user`` may not decide on ``proposal``, or None when they may. Four-eyes guards
        approvals only: a requester may still reject (withdraw) their own change."""
        allowed = self.approvers(proposal.playbook, proposal.environment)
        if allowed is None:
            return f"no approvers configured for {proposal.playbook}"
        if user not in allowed:
            return f"not an approver of {proposal.playbook} in {proposal.environment}"
        spec = self.spec(proposal.playbook)
        four_eyes = (
            spec is not None and spec.four_eyes_in_production and self.is_production(proposal.environment)
        )
        if approving and four_eyes and user == proposal.requested_by:
            return "in production the requester may not approve their own change"
        return None


class ScanItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    playbook: str
    branch: str
    environment: str
    state: ProposalState
    outcome: RecordOutcome
    blocked_rules: list[str]
    monthly_cost_now: Money
    monthly_cost_after: Money
    superseded: list[str] = Field(default_factory=list)


class ScanSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: int
    proposals: list[ScanItem]
    expired: list[str]
    resumed: list[ApprovalOutcome]
    notes: list[str] = Field(default_factory=list, description="detectors skipped and why")

    @property
    def blocked(self) -> list[ScanItem]:
        return [p for p in self.proposals if p.state is ProposalState.blocked]

    @property
    def awaiting(self) -> list[ScanItem]:
        return [p for p in self.proposals if p.state is ProposalState.awaiting_approval]


class ApprovalOutcome(BaseModel):
    """What an approval did; ``pr_url`` is set once the forge has the branch / PR."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    state: ProposalState
    approved_by: str | None
    approved_at: datetime | None
    branch: str
    pr_url: str | None = None
    pr_number: int | None = None
    pr_created: bool = False
    message: str


ScanSummary.model_rebuild()

Planner = Callable[[Sequence[Finding]], list[PlannedChange]]
Validator = Callable[[PlannedChange], GuardrailReport]


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
        self, validated: Sequence[tuple[PlannedChange, GuardrailReport]], *, requested_by: str = BOT
    ) -> list[ScanItem]:
        """Store validated changes as proposals (blocked or awaiting approval)."""
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
            )
            items.append(
                ScanItem(
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
            )
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
        resumed, failures = self.resume_pending()
        return ScanSummary(
            findings=len(findings),
            proposals=items,
            expired=expired,
            resumed=resumed,
            notes=[*notes, *failures],
        )

    def resume_pending(self) -> tuple[list[ApprovalOutcome], list[str]]:
        """Open the PRs of approved proposals whose earlier attempt failed or crashed; a forge
        failure is reported (and retried next time) instead of stopping the scan."""
        outcomes, failures = [], []
        for proposal in store.list_proposals(self.engine, {ProposalState.approved}):
            try:
                outcomes.append(self._open_pr(proposal))
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
    ) -> ApprovalOutcome:
        """Approve as ``user`` (CLI name or Slack user id) and open or update the PR."""
        if idempotency_key and (stored := store.recall(self.engine, idempotency_key)) is not None:
            return ApprovalOutcome.model_validate_json(stored)
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
            outcome = self._open_pr(proposal)
        elif proposal.state is ProposalState.pr_opened:
            outcome = self._outcome(
                proposal, f"already approved by {proposal.approved_by}; PR {proposal.pr_url}"
            )
        else:
            raise InputError(_not_approvable(proposal))
        if idempotency_key:
            stored = store.remember(
                self.engine,
                idempotency_key,
                action="approve",
                subject=proposal_id,
                result=outcome.model_dump_json(),
                now=now,
            )
            outcome = ApprovalOutcome.model_validate_json(stored)
        return outcome

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
    def _open_pr(self, proposal: Proposal) -> ApprovalOutcome:
        now = self.clock()
        token = store.claim_pr(
            self.engine, proposal.id, lease=timedelta(seconds=self.config.claim_lease_seconds), now=now
        )
        if token is None:
            current = store.get(self.engine, proposal.id)
            if current.state is ProposalState.pr_opened:
                return self._outcome(
                    current, f"already approved by {current.approved_by}; PR {current.pr_url}"
                )
            return self._outcome(current, "approved; another process is opening the PR")
        try:
            result = self.forge().publish(self.publish_request(proposal))
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
        )
        current = store.get(self.engine, proposal.id)
        verb = "opened" if result.created else "updated"
        return self._outcome(
            current, f"approved by {current.approved_by}; {verb} {result.url}", result.created
        )

    def publish_request(self, proposal: Proposal) -> PublishRequest:
        """Branch, files, title, body, labels and bot comment for the forge."""
        change = proposal.change
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
            files=[FileContent(path=f.path, content=f.after) for f in change.files],
            labels=list(dict.fromkeys([*self.config.labels, *self.playbook_labels.get(change.playbook, [])])),
            comment=pr_body.render_comment(proposal.id, change, approved_by=proposal.approved_by),
            comment_marker=pr_body.MARKER_PREFIX,
        )

    @staticmethod
    def _outcome(proposal: Proposal, message: str, created: bool = False) -> ApprovalOutcome:
        return ApprovalOutcome(
            proposal_id=proposal.id,
            state=proposal.state,
            approved_by=proposal.approved_by,
            approved_at=proposal.approved_at,
            branch=proposal.branch,
            pr_url=proposal.pr_url,
            pr_number=proposal.pr_number,
            pr_created=created,
            message=message,
        )


def _not_approvable(proposal: Proposal) -> str:
    explain = {
        ProposalState.blocked: f"blocked by {', '.join(proposal.blocked_rules) or 'guardrails'}",
        ProposalState.superseded: f"superseded by {proposal.superseded_by} (the patch changed; the approval is void)",
        ProposalState.expired: "expired; run `costpilot scan` to propose it again",
        ProposalState.rejected: f"rejected by {proposal.decided_by}",
    }
    detail = explain.get(proposal.state, proposal.state.value)
    return f"proposal {proposal.id} cannot be approved: {detail}"


def total_delta(items: Sequence[ScanItem]) -> Decimal:
    return sum((i.monthly_cost_after - i.monthly_cost_now for i in items), Decimal(0))


# ----- wiring for the CLI (and later the Slack app): settings → service, detectors, pipeline -----

Detector = Callable[[AppContext], list[Finding]]


def _until(ctx: AppContext) -> datetime | None:
    # --as-of D means "data up to the start of D", as the detector commands read it.
    if ctx.settings.as_of is None:
        return None
    return datetime.combine(ctx.settings.as_of, datetime.min.time())


def _node_prices(ctx: AppContext):  # type: ignore[no-untyped-def]
    from app.commands.rightsize import configured_node_prices

    return configured_node_prices(ctx.settings)


def _rightsize_detector(ctx: AppContext) -> list[Finding]:
    from tools.rightsizing.service import rightsize_workspace

    path = ctx.workspace.warehouse_path
    if not path.exists():
        raise DataError("no warehouse yet; run `costpilot ingest utilization PATH` first")
    result = rightsize_workspace(
        path, gitops_checkout(ctx), "krr-simple", configured=_node_prices(ctx), until=_until(ctx)
    )
    return result.findings()


def _idle_detector(ctx: AppContext) -> list[Finding]:
    from tools.idle import IdleSettings, find_idle
    from tools.rightsizing.service import unit_prices
    from warehouse.utilization import container_usage
    from warehouse.utilization_series import warehouse_time_range

    path = ctx.workspace.warehouse_path
    span = warehouse_time_range(path) if path.exists() else None
    if span is None:
        raise DataError("no utilization samples; run `costpilot ingest utilization PATH` first")
    settings = IdleSettings()
    end = _until(ctx) or span[1] + timedelta(seconds=1)
    rows = container_usage(path, end - timedelta(days=settings.days), end)
    return [w.to_finding(settings) for w in find_idle(rows, settings, unit_prices(path, _node_prices(ctx)))]


def _model_detector(ctx: AppContext) -> list[Finding]:
    from tools.model_choice import choose_models, parse_routing
    from warehouse.llm_volumes import llm_data_end, token_volumes
    from warehouse.manifests import read_routing
    from warehouse.prices import find_price

    root = gitops_checkout(ctx)
    routing = root / "ai" / "routing.yaml" if root else None
    if routing is None or not routing.is_file():
        raise DataError("no ai/routing.yaml in the GitOps checkout")
    path = ctx.workspace.warehouse_path
    end = (
        ctx.settings.as_of - timedelta(days=1)
        if ctx.settings.as_of
        else (llm_data_end(path) if path.exists() else None)
    )
    if end is None:
        raise DataError("no LLM usage rows; run `costpilot ingest llm-usage PATH` first")
    days = 30
    config = parse_routing(read_routing(routing), str(routing))
    overrides = ctx.settings.prices
    choices = choose_models(
        config,
        token_volumes(path, end - timedelta(days=days - 1), end),
        lambda m: find_price(m, overrides),
        days,
    )
    return [c.to_finding() for c in choices if c.status == "cheaper"]


# Detectors by name (the playbooks' ``detector`` kinds); each turns a tool's results into Findings.
DETECTORS: dict[str, Detector] = {
    "rightsize": _rightsize_detector,
    "idle": _idle_detector,
    "cheaper-model": _model_detector,
}


@dataclass(frozen=True)
class PlaybookMeta:
    """What the service needs from the playbooks without the GitOps checkout."""

    approvers: Mapping[str, ApproverSpec]
    labels: Mapping[str, list[str]]
    intros: Mapping[str, str]


def playbook_meta() -> PlaybookMeta:
    from playbooks.loader import load_playbooks

    books = load_playbooks()
    return PlaybookMeta(
        approvers={n: ApproverSpec.model_validate(pb.approvers.model_dump()) for n, pb in books.items()},
        labels={n: list(pb.pr.labels) for n, pb in books.items()},
        intros={n: pb.pr.intro for n, pb in books.items()},
    )


@dataclass(frozen=True)
class Pipeline:
    """Playbooks (plan) and guardrails (validate) over one GitOps checkout."""

    plan: Planner
    validate: Validator
    environment_of: Callable[[PlannedChange], str]


def build_pipeline(ctx: AppContext, service: RemediationService) -> Pipeline:
    """Bundled playbooks; the repo's ``.costpilot/policy.yaml`` over safe defaults; each change
    checked by its playbook's guardrails, with the cooldown fed from the store."""
    from guardrails.context import ValidationContext, finding_key
    from guardrails.policy import load_policy
    from guardrails.validate import validate
    from playbooks.engine import plan_changes
    from playbooks.loader import load_playbooks

    repo = gitops_checkout(ctx)
    if repo is None or not repo.is_dir():
        raise ConfigError(
            "costpilot scan needs the GitOps checkout: COSTPILOT_GITOPS_REPO (local forge) "
            f"or gitops_checkout in {ctx.settings.home / REMEDIATION_FILE}"
        )
    books = load_playbooks()
    policy = load_policy(repo)
    last_change: dict[str, datetime] = {}
    for p in store.list_proposals(service.engine, {ProposalState.pr_opened}):
        for f in p.change.findings:
            key = finding_key(f)
            last_change[key] = max(last_change.get(key, p.updated_at), p.updated_at)
    vctx = ValidationContext(policy=policy, now=service.clock(), repo=repo, last_change=last_change)
    vctx.repo_index()  # parse the checkout once for every change

    def check(change: PlannedChange) -> GuardrailReport:
        return validate(change, vctx.model_copy(update={"rules": list(books[change.playbook].guardrails)}))

    def env_of(change: PlannedChange) -> str:
        explicit = explicit_environment(change)
        if explicit:
            return explicit
        namespaces = [f.target["namespace"] for f in change.findings if f.target.get("namespace")]
        if not namespaces:
            return "unknown"
        return "production" if any(policy.is_production(ns) for ns in namespaces) else "nonprod"

    return Pipeline(
        plan=lambda fs: plan_changes(list(fs), repo, books, policy), validate=check, environment_of=env_of
    )


def gitops_checkout(ctx: AppContext) -> Path | None:
    """The GitOps working copy scans read: ``gitops_checkout`` of ``remediation.toml``, else the
    local forge's repository."""
    config = load_remediation_config(ctx.settings.home)
    if config.gitops_checkout is not None:
        return config.gitops_checkout
    if ctx.settings.forge == "local" and ctx.settings.gitops_repo:
        return Path(ctx.settings.gitops_repo)
    return None


def forge_config(settings: Settings) -> ForgeConfig:
    if not settings.gitops_repo:
        raise ConfigError(
            "COSTPILOT_GITOPS_REPO is not set (local: path of the GitOps checkout; github: OWNER/NAME)"
        )
    return ForgeConfig(
        repo=settings.gitops_repo,
        github_base_url=settings.github_base_url,
        token=settings.github_token,
        app_id=settings.github_app_id,
        app_key_file=settings.github_app_key_file,
        installation_id=settings.github_installation_id,
    )


def build_service(ctx: AppContext) -> RemediationService:
    """The service over the workspace's state DB, the playbooks' approvers and labels, the
    guardrails' Markdown report and the configured forge (built on first use)."""
    from guardrails.report import render_report_markdown

    ctx.workspace.ensure()
    engine = store.open_store(ctx.workspace.state_db_url(ctx.settings.database_url))
    settings = ctx.settings
    meta = playbook_meta()
    return RemediationService(
        engine=engine,
        config=load_remediation_config(settings.home),
        forge=lambda: get_forge(settings.forge, forge_config(settings)),
        playbook_approvers=meta.approvers,
        playbook_labels=meta.labels,
        playbook_intros=meta.intros,
        render_report=render_report_markdown,
    )


def run_scan(ctx: AppContext, *, requested_by: str = BOT) -> ScanSummary:
    """detectors → playbooks → guardrails → proposals; a detector without data is noted, not fatal."""
    service = build_service(ctx)
    pipeline = build_pipeline(ctx, service)
    service.environment_of = pipeline.environment_of
    findings: list[Finding] = []
    notes: list[str] = []
    for name, detector in DETECTORS.items():
        try:
            found = detector(ctx)
        except (DataError, InputError) as exc:
            notes.append(f"{name}: skipped: {exc}")
            continue
        findings.extend(found)
    return service.scan(findings, pipeline.plan, pipeline.validate, requested_by=requested_by, notes=notes)
