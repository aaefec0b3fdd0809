"""Waste: right-sizing, idle non-production workloads, cheaper models, untagged workloads.

The detectors of ``scan`` call these same functions, so ``costpilot rightsize`` and the
proposals it leads to always agree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import DataError
from domain.findings import Finding
from domain.money import Money
from domain.provenance import Provenance
from services.deps import Deps
from services.requests import EmptyRequest, IdleRequest, ModelsRequest, RightsizeRequest
from tools.idle import IdleWorkload
from tools.model_choice import ModelChoice
from tools.rightsizing.models import RightsizeResult, UnitPrices

NO_SAMPLES = "no utilization samples; run `costpilot ingest utilization PATH` first"
NO_LLM_ROWS = "no LLM usage rows; run `costpilot ingest llm-usage PATH` first"


def rightsize(request: RightsizeRequest, deps: Deps) -> RightsizeResult:
    """Recommended requests and limits per workload container, with monthly savings."""
    from tools.rightsizing.service import rightsize_workspace

    # The one repository model: the same workloads, overlays (legacy bases: too) and HPAs the
    # planner and the guardrails see; right-sizing receives them as domain facts.
    repo = deps.gitops_repo
    return rightsize_workspace(
        deps.warehouse_path,
        repo.manifest_facts() if repo is not None else None,
        request.preset,
        namespace=request.namespace,
        overrides=dict(request.settings),
        configured=deps.node_prices,
        until=deps.until,
    )


class IdleResult(BaseModel):
    """Idle non-production workloads and what scaling them to zero off hours saves."""

    model_config = ConfigDict(frozen=True)

    days: int
    window_end: datetime
    schedule: dict[str, Any]
    off_hours_share: Decimal
    prices: UnitPrices
    total_monthly_savings: Money
    workloads: list[IdleWorkload]
    provenance: Provenance

    def findings(self) -> list[Finding]:
        from tools.idle import IdleSettings

        settings = IdleSettings(days=self.days)
        return [w.to_finding(settings, self.provenance) for w in self.workloads]


def idle(request: IdleRequest, deps: Deps) -> IdleResult:
    from tools.idle import IdleSettings, find_idle
    from tools.rightsizing.service import unit_prices
    from warehouse.utilization import container_usage
    from warehouse.utilization_series import warehouse_time_range

    path = deps.warehouse_path
    span = warehouse_time_range(path) if path.exists() else None
    if span is None:
        raise DataError(NO_SAMPLES)
    end = deps.until or span[1] + timedelta(seconds=1)
    start = end - timedelta(days=request.days)
    settings = IdleSettings(days=request.days)
    prices = unit_prices(path, deps.node_prices)
    rows = container_usage(path, start, end)
    found = find_idle(rows, settings, prices)
    return IdleResult(
        days=request.days,
        window_end=end,
        schedule=settings.schedule(),
        off_hours_share=settings.off_hours_share,
        prices=prices,
        total_monthly_savings=sum((w.monthly_savings for w in found), Decimal(0)),
        workloads=found,
        provenance=Provenance(
            tool="idle",
            engine="duckdb",
            query=f"per-container CPU p95/max of utilization_samples {start:%Y-%m-%d %H:%M}..{end:%Y-%m-%d %H:%M}",
            rows_scanned=sum(int(r["samples"]) for r in rows),
        ),
    )


class ModelsWindow(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: date
    end: date


class ModelsResult(BaseModel):
    """Per LLM feature: the cheapest allow-listed model meeting its tier and context needs."""

    model_config = ConfigDict(frozen=True)

    window: ModelsWindow
    routing: str
    total_monthly_savings: Money
    features: list[ModelChoice]
    provenance: Provenance

    def findings(self) -> list[Finding]:
        return [c.to_finding(self.provenance) for c in self.features if c.status == "cheaper"]


def routing_file(request_path: str | None, deps: Deps) -> Path:
    if request_path is not None:
        return Path(request_path)
    root = deps.gitops_checkout
    if root is None or not root.is_dir():
        raise DataError(
            "no routing config: set COSTPILOT_GITOPS_REPO to a local checkout or name a routing file"
        )
    path = root / "ai" / "routing.yaml"
    if not path.is_file():
        raise DataError("no ai/routing.yaml in the GitOps checkout")
    return path


def models(request: ModelsRequest, deps: Deps) -> ModelsResult:
    from gitops.routing import read_routing
    from tools.model_choice import choose_models, parse_routing
    from warehouse.llm_volumes import llm_data_end, token_volumes
    from warehouse.prices import find_price

    routing = routing_file(request.routing, deps)
    config = parse_routing(read_routing(routing), str(routing))
    path = deps.warehouse_path
    end = (
        deps.today - timedelta(days=1)
        if deps.settings.as_of
        else (llm_data_end(path) if path.exists() else None)
    )
    if end is None:
        raise DataError(NO_LLM_ROWS)
    start = end - timedelta(days=request.days - 1)
    overrides = deps.settings.prices
    volumes = token_volumes(path, start, end)
    choices = choose_models(config, volumes, lambda m: find_price(m, overrides), request.days)
    return ModelsResult(
        window=ModelsWindow(start=start, end=end),
        routing=str(routing),
        total_monthly_savings=sum((c.monthly_savings for c in choices), Decimal(0)),
        features=choices,
        provenance=Provenance(
            tool="models",
            engine="duckdb",
            query=f"token volumes per feature and model {start}..{end} × model price table",
            rows_scanned=sum(v.requests for v in volumes),
        ),
    )


class UntaggedReport(BaseModel):
    """Workloads of the GitOps checkout, as each namespace deploys them, lacking cost labels."""

    model_config = ConfigDict(frozen=True)

    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    workloads_checked: int
    provenance: Provenance


def untagged(_request: EmptyRequest, deps: Deps) -> UntaggedReport:
    from tools.untagged import WorkloadManifest, find_untagged

    repo = deps.gitops_repo
    if repo is None:
        raise DataError("no GitOps checkout to read workloads from")
    root = deps.gitops_checkout
    policy = deps.policy
    workloads = [
        WorkloadManifest(
            namespace=site.namespace or "default",
            kind=site.obj.kind,
            name=site.obj.name,
            data=site.effective(),
            defined_in=f"{site.obj.path}#{site.obj.doc}" if site.obj.doc else site.obj.path,
            production=policy.is_production(site.namespace, labels=repo.labels_of(site)),
        )
        for site in repo.workload_sites()
        if site.release is None  # chart values: enforce-cost-tags edits manifests only
    ]
    result = find_untagged(workloads, aliases=deps.settings.tag_aliases, opt_out_label=policy.opt_out_label)
    return UntaggedReport(
        findings=result.findings,
        notes=[*result.notes, *repo.notes],  # files the model skipped, each named
        workloads_checked=len(workloads),
        provenance=Provenance(
            tool="untagged",
            engine="gitops",
            query=f"workload manifests of {root} as each namespace deploys them",
            rows_scanned=len(workloads),
        ),
    )
