"""Wiring for every surface: ``Deps`` → remediation service, detectors, pipeline; ``run_scan``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from domain.changes import GuardrailReport, PlannedChange
from domain.errors import ConfigError, DataError, InputError
from domain.findings import Finding
from gitops.forges import ForgeConfig, get_forge
from services.deps import Deps
from services.remediation.config import (
    BOT,
    ApproverSpec,
    explicit_environment,
)
from services.remediation.detectors import DetectorResult
from services.remediation.results import ScanSummary
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


def playbook_meta() -> PlaybookMeta:
    from playbooks.loader import load_playbooks

    books = load_playbooks()
    return PlaybookMeta(
        approvers={n: pb.approvers for n, pb in books.items()},
        labels={n: list(pb.pr.labels) for n, pb in books.items()},
        intros={n: pb.pr.intro for n, pb in books.items()},
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
    for p in store.list_proposals(service.engine, {ProposalState.pr_opened}):
        for f in p.change.findings:
            key = finding_key(f)
            last_change[key] = max(last_change.get(key, p.updated_at), p.updated_at)
    vctx = ValidationContext(policy=policy, now=service.clock(), repo=repo, last_change=last_change)
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
    )


def run_scan(deps: Deps, *, requested_by: str = BOT) -> ScanSummary:
    """detectors → playbooks → guardrails → proposals; a detector without data is noted, not fatal."""
    from services import remediation  # the registry is looked up on the package: the seam tests replace

    service = build_service(deps)
    pipeline = build_pipeline(deps, service)
    service.environment_of = pipeline.environment_of
    findings: list[Finding] = []
    notes: list[str] = []
    for name, detector in remediation.DETECTORS.items():
        try:
            found = detector(deps)
        except (DataError, InputError) as exc:
            notes.append(f"{name}: skipped: {exc}")
            continue
        if isinstance(found, DetectorResult):
            notes.extend(f"{name}: {note}" for note in found.notes)
            found = found.findings
        findings.extend(found)
    skipped: list[str] = []

    def plan_and_note(fs: Sequence[Finding]) -> list[PlannedChange]:
        result = pipeline.plan_all(fs)
        skipped.extend(skipped_notes(fs, result))
        return result.changes

    summary = service.scan(findings, plan_and_note, pipeline.validate, requested_by=requested_by, notes=notes)
    # The service appends its own notes (PRs not opened yet) after the detectors' ones; the
    # planner may also run again for approved proposals, so a skipped finding is noted once.
    merged = [*notes, *skipped, *summary.notes[len(notes) :]]
    return summary.model_copy(update={"notes": list(dict.fromkeys(merged))})
