"""Detectors by name: each runs a tool over the workspace and turns its results into Findings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.context import AppContext
from app.remediation.config import gitops_checkout
from domain.errors import DataError
from domain.findings import Finding


@dataclass(frozen=True)
class DetectorResult:
    """Findings plus notes on what the detector saw but cannot propose (shown by ``scan``)."""

    findings: list[Finding]
    notes: list[str] = field(default_factory=list)


Detector = Callable[[AppContext], list[Finding] | DetectorResult]


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


def _untagged_detector(ctx: AppContext) -> DetectorResult:
    """Workloads of the GitOps checkout, as each namespace deploys them, lacking cost labels."""
    from gitops.targets import find_workload, index_repo
    from guardrails.policy import load_policy
    from tools.untagged import WorkloadManifest, find_untagged
    from warehouse.manifests import WORKLOAD_KINDS

    root = gitops_checkout(ctx)
    if root is None or not root.is_dir():
        raise DataError("no GitOps checkout to read workloads from")
    index = index_repo(root)
    policy = load_policy(root)
    workloads = []
    for obj in index.objects:
        if obj.kind not in WORKLOAD_KINDS or not obj.name:
            continue
        for ns, _ in index.namespaces_of(obj):
            namespace = ns or "default"  # a manifest without a namespace deploys to default
            site = find_workload(index, namespace, obj.kind, obj.name)
            if site is None or site.obj != obj:
                continue
            workloads.append(
                WorkloadManifest(
                    namespace=namespace,
                    kind=obj.kind,
                    name=obj.name,
                    data=site.effective(),
                    defined_in=f"{obj.path}#{obj.doc}" if obj.doc else obj.path,
                    production=policy.is_production(namespace),
                )
            )
    result = find_untagged(workloads, aliases=ctx.settings.tag_aliases, opt_out_label=policy.opt_out_label)
    return DetectorResult(result.findings, list(result.notes))


# Detectors by name (the playbooks' ``detector`` kinds); each turns a tool's results into Findings.
DETECTORS: dict[str, Detector] = {
    "rightsize": _rightsize_detector,
    "idle": _idle_detector,
    "cheaper-model": _model_detector,
    "untagged": _untagged_detector,
}
