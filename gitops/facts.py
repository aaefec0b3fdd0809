"""Domain facts from the repository model: every workload container's current requests and
limits, and every autoscaler with the resources it scales on (``domain.manifests``).

These are what right-sizing receives; it never reads the repository itself, so it sees exactly
the workloads (namespaces, overlay patches, chart values) the planner and the guardrails see.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.errors import InputError
from domain.manifests import ManifestAutoscaler, ManifestContainer, ManifestFacts
from domain.quantity import parse_quantity
from gitops.workloads import ObjectRef, WorkloadSite

if TYPE_CHECKING:
    from gitops.repo import GitOpsRepo

_DEFAULT = "default"


def quantity(value: Any) -> Decimal | None:
    """Exact value of a Kubernetes quantity ("250m" → 0.25, "1Gi" → 1073741824); None if invalid."""
    try:
        return parse_quantity(value)
    except InputError:
        return None


def hpa_resources(spec: Any) -> frozenset[str]:
    """The cpu / memory metrics an HPA spec scales on. With no metric at all Kubernetes scales
    on 80% average CPU (autoscaling/v1 and v2 alike)."""
    if not isinstance(spec, dict):
        return frozenset()
    found: set[str] = set()
    if spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
        found.add("cpu")
    metrics = spec.get("metrics")
    for metric in metrics if isinstance(metrics, list) else []:
        for section in ("resource", "containerResource"):
            block = metric.get(section) if isinstance(metric, dict) else None
            if isinstance(block, dict) and block.get("name") in ("cpu", "memory"):
                found.add(block["name"])
    if not found and not metrics:
        found.add("cpu")
    return frozenset(found)


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    if doc.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    pod = template.get("spec")
    return pod if isinstance(pod, dict) else None


def _resources(container: dict[str, Any]) -> dict[str, Any]:
    res = container.get("resources") if isinstance(container.get("resources"), dict) else {}
    req = res.get("requests") if isinstance(res.get("requests"), dict) else {}
    lim = res.get("limits") if isinstance(res.get("limits"), dict) else {}
    mem_req, mem_lim = quantity(req.get("memory")), quantity(lim.get("memory"))
    return {
        "cpu_request": quantity(req.get("cpu")),
        "cpu_limit": quantity(lim.get("cpu")),
        "memory_request": None if mem_req is None else int(mem_req),
        "memory_limit": None if mem_lim is None else int(mem_lim),
    }


def _resources_file(site: WorkloadSite, container: str) -> str:
    """The file that sets the container's resources: the last overlay patch that does, else
    the defining file (for a chart, the values file)."""
    for patch in reversed(site.patches):
        pod = _pod_spec(patch.data) or {}
        for section in ("containers", "initContainers"):
            for c in pod.get(section) or []:
                if isinstance(c, dict) and c.get("name") == container and "resources" in c:
                    return patch.path
    return site.obj.path


def containers_of(site: WorkloadSite) -> list[ManifestContainer]:
    """Every container of the workload: regular ones, native sidecars (init containers with
    ``restartPolicy: Always``) and run-to-completion init containers."""
    pod = _pod_spec(site.effective())
    out: list[ManifestContainer] = []
    for section, default_type in (("containers", "regular"), ("initContainers", "init")):
        for c in (pod or {}).get(section) or []:
            if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                continue
            sidecar = default_type == "init" and c.get("restartPolicy") == "Always"
            out.append(
                ManifestContainer(
                    namespace=site.namespace or _DEFAULT,
                    kind=site.obj.kind,
                    workload=site.obj.name,
                    container=c["name"],
                    container_type="sidecar" if sidecar else default_type,  # type: ignore[arg-type]
                    file=_resources_file(site, c["name"]),
                    **_resources(c),
                )
            )
    return out


def autoscaler(obj: ObjectRef, namespace: str) -> ManifestAutoscaler | None:
    spec = obj.data.get("spec") if isinstance(obj.data.get("spec"), dict) else {}
    ref = spec.get("scaleTargetRef") if isinstance(spec.get("scaleTargetRef"), dict) else {}
    if not ref.get("kind") or not ref.get("name"):
        return None
    return ManifestAutoscaler(
        namespace=namespace,
        kind=str(ref["kind"]),
        workload=str(ref["name"]),
        name=obj.name,
        resources=hpa_resources(spec),  # type: ignore[arg-type]
        min_replicas=_int(spec.get("minReplicas")),
        max_replicas=_int(spec.get("maxReplicas")),
        file=obj.path,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def manifest_facts(repo: GitOpsRepo, namespaces: list[str] | None = None) -> ManifestFacts:
    """Containers and autoscalers of every workload site; chart releases that name no namespace
    are resolved for each of ``namespaces`` (those right-sizing has samples for)."""
    sites = repo.workload_sites()
    seen = {(s.namespace, s.obj.kind, s.obj.name) for s in sites}
    for ns in sorted(set(namespaces or [])):
        for r in repo.releases:
            if r.namespace is None and (ns, r.kind, r.name) not in seen:
                site = repo.find_workload(ns, r.kind, r.name)
                if site is not None and site.release is not None:
                    sites.append(site)
                    seen.add((ns, r.kind, r.name))
    containers = [c for site in sites for c in containers_of(site)]
    scalers: dict[tuple[str, str, str, str], ManifestAutoscaler] = {}
    for obj in repo.objects_of("HorizontalPodAutoscaler"):
        for ns, _ in repo.namespaces_of(obj):
            a = autoscaler(obj, ns or _DEFAULT)
            if a is not None:
                scalers.setdefault((a.namespace, a.kind, a.workload, a.name), a)
    for site in sites:
        for obj in repo.related(site, "HorizontalPodAutoscaler"):
            a = autoscaler(obj, site.namespace or _DEFAULT)
            if a is not None:
                scalers.setdefault((a.namespace, a.kind, a.workload, a.name), a)
    return ManifestFacts(
        containers=tuple(containers),
        autoscalers=tuple(scalers[k] for k in sorted(scalers)),
        notes=tuple(repo.notes),
        files_read=len(repo.files),
    )
