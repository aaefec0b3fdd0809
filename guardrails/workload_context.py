"""The workloads a change touches, as the repository model deploys them: labels, HPAs, PDBs
(from manifests and chart values alike), and the environment the policy puts them in."""

from __future__ import annotations

from typing import Any

from domain.changes import PlannedChange
from domain.findings import FindingKind
from domain.manifests import WORKLOAD_KINDS
from gitops.yaml_path import Key, Named
from guardrails.context import ValidationContext, workload_key
from guardrails.fact_types import ChangeFacts, WorkloadFacts


def workload(
    facts: ChangeFacts,
    ctx: ValidationContext,
    namespace: str | None,
    kind: str,
    name: str,
    cluster: str | None = None,
) -> WorkloadFacts:
    """The facts of one workload, computed once per change."""
    key = workload_key(namespace, kind, name)
    if key in facts.workloads:
        return facts.workloads[key]
    wf = WorkloadFacts(key, namespace, kind, name)
    repo = ctx.repo_index()
    site = repo.find_workload(namespace, kind, name) if namespace else None
    if site is not None:
        wf.site = site
        wf.labels = repo.labels_of(site)
        wf.hpas = repo.related(site, "HorizontalPodAutoscaler")
        wf.pdbs = repo.related(site, "PodDisruptionBudget")
    wf.environment = ctx.policy.environment_of(namespace, cluster, wf.labels)
    wf.is_prod = wf.environment == "production"
    wf.protected = ctx.policy.is_protected(namespace)
    facts.workloads[key] = wf
    return wf


def finding_workloads(facts: ChangeFacts, ctx: ValidationContext, change: PlannedChange) -> None:
    """Every workload a finding of the change names (LLM features are not workloads)."""
    for finding in change.findings:
        if finding.kind is not FindingKind.cheaper_model:
            t = finding.target
            workload(
                facts,
                ctx,
                t.get("namespace"),
                t.get("kind", "Deployment"),
                t.get("workload", "?"),
                t.get("cluster"),
            )


def owner(
    facts: ChangeFacts,
    ctx: ValidationContext,
    change: PlannedChange,
    doc: Any,
    kind: str | None,
    tokens: tuple[Any, ...],
    file: str,
) -> WorkloadFacts | None:
    """The workload a changed field belongs to: the document's own object, an HPA's target, or
    (for values files) the finding the change implements."""
    if isinstance(doc, dict) and kind in WORKLOAD_KINDS | {"HorizontalPodAutoscaler"}:
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        if kind == "HorizontalPodAutoscaler":
            spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
            ref = spec.get("scaleTargetRef") if isinstance(spec.get("scaleTargetRef"), dict) else {}
            kind, name = ref.get("kind", "Deployment"), ref.get("name", "?")
        else:
            name = meta.get("name", "?")
        namespace = (
            meta.get("namespace")
            or next(
                (f.target.get("namespace") for f in change.findings if f.target.get("workload") == name), None
            )
            or rendered_namespace(ctx, file)
        )
        return workload(facts, ctx, namespace, str(kind), str(name))
    named = {t.name for t in tokens if isinstance(t, Named | Key)}
    candidates = [f for f in change.findings if f.kind is not FindingKind.cheaper_model]
    # A values file belongs to the releases it feeds: of several Helm workloads in one change,
    # only those read this file (then the container the path names, if any, decides).
    fed = [f for f in candidates if _values_file_feeds(ctx, f, file)] or candidates
    finding = next((f for f in fed if f.target.get("container") in named), fed[0] if fed else None)
    if finding is None:
        return None
    t = finding.target
    return workload(
        facts, ctx, t.get("namespace"), t.get("kind", "Deployment"), t.get("workload", "?"), t.get("cluster")
    )


def _values_file_feeds(ctx: ValidationContext, finding: Any, file: str) -> bool:
    t = finding.target
    namespace = t.get("namespace")
    site = (
        ctx.repo_index().find_workload(namespace, t.get("kind", "Deployment"), t.get("workload", "?"))
        if namespace
        else None
    )
    return site is not None and site.release is not None and file in site.release.value_files


def rendered_namespace(ctx: ValidationContext, file: str) -> str | None:
    """For an object no finding names: the namespace its file is deployed to (a production one
    when there are several: judge the worst case)."""
    namespaces = sorted({r.namespace for r in ctx.repo_index().renderings_of(file) if r.namespace})
    prod = [ns for ns in namespaces if ctx.policy.is_production(ns)]
    return (prod or namespaces or [None])[0]
