"""Wiring for every surface: ``Deps`` → remediation service, detectors, pipeline; ``run_scan``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.changes import GuardrailReport, PlannedChange
from domain.errors import ConfigError, DataError, InputError
from domain.findings import Finding
from gitops.forges import ForgeConfig, get_forge
from services.deps import Deps
from services.remediation import selection
from services.remediation.approval_checks import cli_approvals_allowed
from services.remediation.config import (
    BOT,
    ApproverSpec,
    explicit_environment,
)
from services.remediation.detectors import DetectorResult
from services.remediation.selection import QualityScanSummary
from services.remediation.service import Planner, RemediationService, Validator
from services.settings import Settings
from store import proposals as store
from store.proposals import ProposalState

if TYPE_CHECKING:  # the playbooks load when a scan runs, not with every command
    from playbooks.engine import PlanResult


@dataclass(frozen=True)
class PlaybookMeta:
    """What the service needs from the playbooks without the GitOps checkout."""

    approvers: Mapping[str, ApproverSpec]
    labels: Mapping[str, list[str]]
    intros: Mapping[str, str]
    floors: Mapping[str, Decimal | None] = field(default_factory=dict)


def playbook_meta() -> PlaybookMeta:
    from playbooks.loader import load_playbooks

    books = load_playbooks()
    return PlaybookMeta(
        approvers={n: pb.approvers for n, pb in books.items()},
        labels={n: list(pb.pr.labels) for n, pb in books.items()},
        intros={n: pb.pr.intro for n, pb in books.items()},
        floors={n: pb.min_monthly_saving for n, pb in books.items()},
    )


@dataclass(frozen=True)
class Pipeline:
    """Playbooks (plan) and guardrails (validate) over one GitOps checkout.

    ``plan_all`` also says why each finding that produced no change was skipped; ``plan`` is
    the same without the reasons (the service's ``Planner``)."""

    plan: Planner
    validate: Validator
    environment_of: Callable[[PlannedChange], str]
    plan_all: Callable[[Sequence[Finding]], PlanResult]


def build_pipeline(deps: Deps, service: RemediationService) -> Pipeline:
    """Bundled playbooks; the repo's ``.costpilot/policy.yaml`` over safe defaults; each change
    checked by its playbook's guardrails, with the cooldown fed from the store."""
    from guardrails.context import ValidationContext, finding_key
    from guardrails.validate import validate
    from playbooks.engine import plan
    from playbooks.loader import load_playbooks

    repo = deps.require_checkout("costpilot scan")
    books = load_playbooks()
    policy = deps.policy
    last_change: dict[str, datetime] = {}
    # An open PR and a merge both start a workload's cooldown (a merge from when it was seen).
    for p in store.list_proposals(service.engine, {ProposalState.pr_opened, ProposalState.merged}):
        at = p.merged_at or p.updated_at
        for f in p.change.findings:
            key = finding_key(f)
            last_change[key] = max(last_change.get(key, at), at)
    from services.observed_usage import lazy_usage

    # Each rendering of a shared file is judged on its own observed usage (computed only when needed).
    vctx = ValidationContext(
        policy=policy, now=service.clock(), repo=repo, last_change=last_change, usage=lazy_usage(deps)
    )
    vctx.repo_index()  # parse the checkout once for every change

    def check(change: PlannedChange) -> GuardrailReport:
        return validate(change, vctx.model_copy(update={"rules": list(books[change.playbook].guardrails)}))

    def env_of(change: PlannedChange) -> str:
        # The one policy-driven classifier: anything production wins, then an explicit env.
        targets = [f.target for f in change.findings if f.target.get("namespace")]
        envs = {policy.environment_of(t["namespace"], t.get("cluster")) for t in targets}
        if "production" in envs:
            return "production"
        explicit = explicit_environment(change)
        if explicit:
            return explicit
        named = envs - {"unknown"}
        if len(named) == 1:
            return named.pop()
        # The repository's policy names production; a namespace it does not match is not.
        return "nonprod" if targets else "unknown"

    def plan_all(findings: Sequence[Finding]) -> PlanResult:
        # the index parsed above serves the planner too: the checkout is read once per scan
        return plan(list(findings), repo, books, policy, index=vctx.repo_index())

    return Pipeline(
        plan=lambda fs: plan_all(fs).changes, validate=check, environment_of=env_of, plan_all=plan_all
    )


def skipped_notes(findings: Sequence[Finding], result: PlanResult) -> list[str]:
    """One note per finding the playbooks could not plan, with the reason (so nothing a
    detector found disappears silently)."""
    by_id = {f.id: f for f in findings}
    notes = []
    for finding_id, reason in result.skipped:
        f = by_id.get(finding_id)
        what = f"{f.kind.value}: not planned: {f.title} [{finding_id}]" if f else f"not planned: {finding_id}"
        notes.append(f"{what}: {reason}")
    return notes


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
        base_branch=settings.gitops_base_branch,
        publish_attempts=settings.github_attempts,
    )


def build_service(deps: Deps) -> RemediationService:
    """The service over the workspace's state DB, the playbooks' approvers and labels, the
    guardrails' Markdown report and the configured forge (built on first use)."""
    from guardrails.report import render_report_markdown
    from services import remediation  # forge_config is looked up on the package: the seam tests replace

    settings = deps.settings
    meta = playbook_meta()
    return RemediationService(
        engine=deps.engine,
        config=deps.remediation_config,
        forge=lambda: get_forge(settings.forge, remediation.forge_config(settings)),
        clock=deps.clock,
        playbook_approvers=meta.approvers,
        playbook_labels=meta.labels,
        playbook_intros=meta.intros,
        render_report=render_report_markdown,
        cli_production_approvals=cli_approvals_allowed(
            settings.cli_approvals_in_production, settings.slack_bot_token is not None
        ),
    )


def run_scan(deps: Deps, *, requested_by: str = BOT) -> QualityScanSummary:
    """PR statuses synced → detectors → playbooks → floor → guardrails → limits → proposals; a
    detector without data is noted, not fatal. What the selection held back is in the summary
    (``selection``) and in the workspace's waiting list for the digest."""
    from services import remediation  # the registry is looked up on the package: the seam tests replace
    from services.remediation.lifecycle import sync_notes, sync_pull_requests

    service = build_service(deps)
    synced = sync_pull_requests(service)
    pipeline = build_pipeline(deps, service)
    service.environment_of = pipeline.environment_of
    findings: list[Finding] = []
    notes: list[str] = sync_notes(synced)
    ran: list[str] = []
    for name, detector in remediation.DETECTORS.items():
        try:
            found = detector(deps)
        except (DataError, InputError) as exc:
            notes.append(f"{name}: skipped: {exc}")
            continue
        ran.append(name)
        if isinstance(found, DetectorResult):
            notes.extend(f"{name}: {note}" for note in found.notes)
            found = found.findings
        findings.extend(found)

    expired = store.expire_due(service.engine, service.clock())
    result = pipeline.plan_all(findings)
    skipped = skipped_notes(findings, result)
    limits = deps.remediation_config.proposals
    meta = playbook_meta()
    # The floor per playbook: the workspace's remediation.toml, else the repository's policy
    # (cost.min_monthly_saving), else the playbook's own, else the default.
    repo_floors = deps.policy.cost.min_monthly_saving
    notes.extend(
        f"policy: cost.min_monthly_saving: unknown playbook {n!r}"
        for n in repo_floors
        if n not in meta.floors
    )
    floors = {name: selection.floor_of(name, limits, {**meta.floors, **repo_floors}) for name in meta.floors}
    kept, below = selection.apply_floor(result.changes, floors)
    validated: list[tuple[PlannedChange, GuardrailReport]] = []
    for change in kept:
        validated.extend(
            selection.isolate_failures(change, pipeline.validate(change), pipeline.plan, pipeline.validate)
        )
    # Splitting can leave a smaller group under the floor: the floor holds after it too.
    passing, below_after = selection.apply_floor([c for c, _ in validated], floors)
    keep_ids = {id(c) for c in passing}
    validated = [(c, r) for c, r in validated if id(c) in keep_ids]
    below = [*below, *below_after]
    selector = selection.Selector(limits, store.list_proposals(service.engine))
    chosen = selector.select(validated)
    items = service.submit(chosen, requested_by=requested_by)
    # A proposal awaiting approval whose finding this scan no longer sees is superseded (only
    # for the detectors that ran: one skipped for lack of data supersedes nothing).
    notes.extend(service.supersede_stale(findings, [c.branch for c in result.changes], covered=ran))
    resumed, failures = service.resume_pending(pipeline.plan, pipeline.validate)
    chosen_selection = selection.Selection(
        below_floor=selection.below_floor_summary(below, floors),
        waiting=selector.waiting,
        not_reproposed=selector.not_reproposed,
        open_prs=len(store.list_proposals(service.engine, set(selection.OPEN_STATES))),
        max_open_prs=limits.max_open_prs,
        max_new_per_scan=limits.max_new_per_scan,
    )
    selection.write_waiting(deps.settings.home, chosen_selection)
    bf = chosen_selection.below_floor
    if bf.findings:
        notes.append(
            f"below the floor: {bf.findings} finding(s) in {bf.changes} change(s) saving "
            f"${bf.monthly_saving:,.2f}/month in total, not proposed (floor per PR: "
            + ", ".join(f"{k} ${v}" for k, v in bf.floors.items() if v > 0)
            + ")"
        )
    if selector.waiting:
        total = sum((w.monthly_saving for w in selector.waiting), Decimal(0))
        notes.append(
            f"waiting: {len(selector.waiting)} change(s) saving ${total:,.2f}/month held back "
            f"(at most {limits.max_open_prs} open, {limits.max_new_per_scan} new per scan; or a cooldown); "
            "see `scan --json` (selection.waiting) and the digest's savings pipeline"
        )
    notes.extend(f"not proposed again: {w.branch}: {w.reason}" for w in selector.not_reproposed)
    return QualityScanSummary(
        findings=len(findings),
        proposals=items,
        expired=expired,
        resumed=resumed,
        notes=list(dict.fromkeys([*notes, *skipped, *failures])),
        selection=chosen_selection,
    )
