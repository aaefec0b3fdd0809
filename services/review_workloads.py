"""Workloads of a repository model as cost shapes (``tools.manifest_costs``), and the monthly
delta of each between a base and a head model."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.errors import InputError
from domain.manifests import REPLICATED_KINDS
from domain.quantity import format_cpu, format_memory, parse_cpu, parse_memory
from gitops.repo import GitOpsRepo, WorkloadSite
from services.review_models import ReviewRequest, WorkloadDelta
from tools.manifest_costs import (
    ContainerRequests,
    NodePrices,
    WorkloadShape,
    cron_runs_per_month,
    job_pods,
    monthly_cost,
)

GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


@dataclass(frozen=True)
class Priced:
    shape: WorkloadShape
    files: tuple[str, ...]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _quantity(parse: Any, value: Any, where: str, notes: list[str]) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        return Decimal(parse(value))
    except InputError as exc:
        notes.append(f"{where}: {exc}; counted as 0")
        return Decimal(0)


def _containers(pod: dict[str, Any], where: str, notes: list[str]) -> list[ContainerRequests]:
    """Regular containers and native sidecars (init containers that keep running)."""
    listed = [c for c in pod.get("containers") or [] if isinstance(c, dict)]
    listed += [
        c
        for c in pod.get("initContainers") or []
        if isinstance(c, dict) and c.get("restartPolicy") == "Always"
    ]
    out = []
    for c in listed:
        res = _dict(c.get("resources"))
        requests, limits = _dict(res.get("requests")), _dict(res.get("limits"))
        name = str(c.get("name") or "?")
        at = f"{where} container {name}"
        gpu = next(
            (requests.get(g, limits.get(g)) for g in GPU_RESOURCES if g in requests or g in limits), None
        )
        out.append(
            ContainerRequests(
                name=name,
                # The API server defaults a missing request to the limit.
                cpu_cores=_quantity(parse_cpu, requests.get("cpu", limits.get("cpu")), at, notes),
                memory_bytes=_quantity(parse_memory, requests.get("memory", limits.get("memory")), at, notes),
                gpus=_quantity(parse_cpu, gpu, at, notes),
            )
        )
    return out


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def shape_of(
    site: WorkloadSite, index: GitOpsRepo, request: ReviewRequest, notes: list[str]
) -> WorkloadShape:
    """The workload as deployed, with its average pod count and where that count comes from."""
    data = site.effective()
    kind = site.obj.kind
    where = f"{site.namespace}/{kind}/{site.obj.name}"
    spec = _dict(data.get("spec"))
    if kind == "CronJob":
        job = _dict(_dict(spec.get("jobTemplate")).get("spec"))
        pod = _dict(_dict(job.get("template")).get("spec"))
        try:
            runs = (
                Decimal(0)
                if spec.get("suspend") is True
                else cron_runs_per_month(str(spec.get("schedule") or ""))
            )
        except ValueError as exc:
            notes.append(f"{where}: {exc}; counted as no runs")
            runs = Decimal(0)
        hours, basis_hours = _run_hours(job, request)
        parallel = max(_int(job.get("parallelism"), 1), 1)
        pods = job_pods(runs, hours, parallel)
        basis = f"{runs.normalize():f} runs/month × {basis_hours} × {parallel} pod(s)"
    elif kind == "Job":
        pod = _dict(_dict(spec.get("template")).get("spec"))
        hours, basis_hours = _run_hours(spec, request)
        parallel = max(_int(spec.get("parallelism"), 1), 1)
        pods = job_pods(Decimal(1), hours, parallel)
        basis = f"one run × {basis_hours} × {parallel} pod(s)"
    else:
        pod = _dict(_dict(spec.get("template")).get("spec"))
        if kind == "DaemonSet":
            pods = Decimal(request.daemonset_nodes)
            basis = f"DaemonSet × {request.daemonset_nodes} node(s)"
        elif kind in REPLICATED_KINDS:
            pods, basis = _replicas(site, index, spec)
        else:
            pods, basis = Decimal(1), "1 pod"
    return WorkloadShape(kind=kind, pods=pods, pods_basis=basis, containers=_containers(pod, where, notes))


def _run_hours(job_spec: dict[str, Any], request: ReviewRequest) -> tuple[Decimal, str]:
    deadline = job_spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and not isinstance(deadline, bool) and deadline > 0:
        hours = Decimal(deadline) / Decimal(3600)
        return hours, f"{hours.normalize():f} h (activeDeadlineSeconds)"
    return request.job_hours, f"{request.job_hours.normalize():f} h per run (assumed)"


def _replicas(site: WorkloadSite, index: GitOpsRepo, spec: dict[str, Any]) -> tuple[Decimal, str]:
    for hpa in index.related(site, "HorizontalPodAutoscaler"):
        floor = _int(_dict(hpa.data.get("spec")).get("minReplicas"), 1)
        return Decimal(floor), f"HPA minReplicas {floor}"
    if "replicas" in spec:
        count = _int(spec.get("replicas"), 1)
        return Decimal(count), f"replicas {count}"
    return Decimal(1), "replicas 1 (default)"


def priced_workloads(index: GitOpsRepo, request: ReviewRequest, notes: list[str]) -> dict[str, Priced]:
    """Every workload the repository deploys (namespace/Kind/name → shape and defining files)."""
    out: dict[str, Priced] = {}
    for site in index.workload_sites():
        key = f"{site.namespace or 'default'}/{site.obj.kind}/{site.obj.name}"
        files = (site.obj.path, *(p.path for p in site.patches))
        out[key] = Priced(shape_of(site, index, request, notes), files)
    return out


def _container_details(before: WorkloadShape, after: WorkloadShape) -> list[str]:
    old = {c.name: c for c in before.containers}
    new = {c.name: c for c in after.containers}
    details = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a is None or b is None:
            details.append(f"container {name} {'added' if a is None else 'removed'}")
            continue
        if a.cpu_cores != b.cpu_cores:
            details.append(f"{name}: cpu {format_cpu(a.cpu_cores)} → {format_cpu(b.cpu_cores)}")
        if a.memory_bytes != b.memory_bytes:
            details.append(
                f"{name}: memory {format_memory(int(a.memory_bytes))} → {format_memory(int(b.memory_bytes))}"
            )
        if a.gpus != b.gpus:
            details.append(f"{name}: GPUs {a.gpus.normalize():f} → {b.gpus.normalize():f}")
    return details


def _summary(shape: WorkloadShape) -> str:
    gpus = sum((c.gpus for c in shape.containers), Decimal(0))
    gpu_text = f", {gpus.normalize():f} GPU(s) per pod" if gpus else ""
    return f"{shape.pods_basis}, {len(shape.containers)} container(s){gpu_text}"


def workload_deltas(
    before: dict[str, Priced], after: dict[str, Priced], prices: NodePrices
) -> list[WorkloadDelta]:
    """Workloads whose cost inputs differ (added, removed, or changed replicas/requests/GPUs),
    largest absolute delta first."""
    rows = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None and a.shape == b.shape:
            continue
        cost_a = monthly_cost(a.shape if a else None, prices)
        cost_b = monthly_cost(b.shape if b else None, prices)
        if a is None:
            change, details = "added", [_summary(b.shape)] if b else []
        elif b is None:
            change, details = "removed", [_summary(a.shape)]
        else:
            change = "modified"
            details = (
                [f"{a.shape.pods_basis} → {b.shape.pods_basis}"]
                if a.shape.pods_basis != b.shape.pods_basis
                else []
            )
            details += _container_details(a.shape, b.shape)
        rows.append(
            WorkloadDelta(
                workload=key,
                change=change,  # type: ignore[arg-type]
                details=details,
                monthly_before=cost_a.monthly,
                monthly_after=cost_b.monthly,
                monthly_delta=cost_b.monthly - cost_a.monthly,
                pods_before=a.shape.pods_basis if a else None,
                pods_after=b.shape.pods_basis if b else None,
                gpus_unpriced=cost_a.gpus_unpriced or cost_b.gpus_unpriced,
                files=sorted(set((a.files if a else ()) + (b.files if b else ()))),
            )
        )
    rows.sort(key=lambda r: (-abs(r.monthly_delta), r.workload))
    return rows
