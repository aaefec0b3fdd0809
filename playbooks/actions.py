"""Playbook actions by name: each turns one finding into field edits of the GitOps repo.

An action declares the finding kinds it handles, its options schema (extra keys forbidden) and
the field patterns it writes; it plans edits only (dry run): the engine applies them to text.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import ConfigError, InputError
from domain.findings import Finding, FindingKind
from domain.money import round_cents
from domain.quantity import parse_cpu, parse_memory
from gitops.repo import GitOpsRepo, WorkloadSite
from gitops.targets import Location, locate_field, locate_helm_value, locate_model
from gitops.yaml_path import MISSING, Key, format_path, get_value, parse_path
from playbooks.models import Playbook

Protect = Callable[[str | None], bool]  # namespaces a shared-base edit must not reach (production)


class PlanSkip(Exception):
    """The finding cannot be planned (target not in the repo, nothing to change); says why."""


@dataclass(frozen=True)
class PlannedEdit:
    location: Location
    value: Any
    unit: Literal["cpu", "memory", "raw"]
    finding: Finding


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetResourcesOptions(_Options):
    resources: list[Literal["cpu_request", "cpu_limit", "memory_request", "memory_limit"]] = Field(
        default_factory=lambda: ["cpu_request", "cpu_limit", "memory_request", "memory_limit"],
        description="which proposed values the action may write",
    )


class ScaleReplicasOptions(_Options):
    replicas: int = Field(0, ge=0, description="replicas when the finding proposes none")
    hpa_min_replicas: int = Field(
        1, ge=1, description="floor for an HPA's minReplicas (0 needs an alpha gate)"
    )


class SetModelOptions(_Options):
    pass


class AddLabelsOptions(_Options):
    labels: list[str] = Field(min_length=1, description="label keys the action may add")


@dataclass(frozen=True)
class Action:
    name: str
    kinds: tuple[FindingKind, ...]
    options: type[_Options]
    writes: tuple[str, ...]
    plan: Callable[[Finding, GitOpsRepo, Playbook, Any, Protect], list[PlannedEdit]]


_RESOURCE_PATHS = {
    "cpu_request": ("requests.cpu", "cpu"),
    "cpu_limit": ("limits.cpu", "cpu"),
    "memory_request": ("requests.memory", "memory"),
    "memory_limit": ("limits.memory", "memory"),
}


_SOURCE_NEEDS = {
    "helm": {"helm"},
    "kustomize": {"kustomize", "manifests"},
    "manifest": {"kustomize", "manifests"},
}


def _site(finding: Finding, index: GitOpsRepo, playbook: Playbook | None = None) -> WorkloadSite | None:
    """The workload the finding targets, as the repository model deploys it; PlanSkip when the
    playbook does not edit the kind of source that defines it (e.g. a chart's values)."""
    t = finding.target
    if not t.get("namespace") or not t.get("workload"):
        raise PlanSkip(f"finding {finding.id}: target lacks namespace/workload")
    site = index.find_workload(t["namespace"], t.get("kind", "Deployment"), t["workload"])
    if (
        site is not None
        and playbook is not None
        and not _SOURCE_NEEDS[site.source] & set(playbook.targets.sources)
    ):
        raise PlanSkip(
            f"finding {finding.id}: {site.obj.kind}/{site.obj.name} in {site.namespace} is defined by "
            f"{site.source} ({site.obj.path}); playbook {playbook.name} edits {', '.join(playbook.targets.sources)}"
        )
    return site


def _envs(finding: Finding) -> list[str]:
    ns = finding.target.get("namespace", "")
    envs = [finding.target["env"]] if finding.target.get("env") else []
    return envs + [ns] + ([ns.rsplit("-", 1)[-1]] if "-" in ns else [])


def _quantity(finding: Finding, key: str, value: Any) -> Any:
    """A proposed CPU (cores) or memory (bytes) value, checked: a bad one skips the finding."""
    try:
        parsed = parse_cpu(value) if key.startswith("cpu") else parse_memory(value)
    except InputError as exc:
        raise PlanSkip(f"finding {finding.id}: proposed {key} {value!r} is not a quantity") from exc
    if parsed <= 0:
        raise PlanSkip(f"finding {finding.id}: proposed {key} {value!r} is not positive")
    return parsed


def _named(items: Any, name: str) -> dict[str, Any] | None:
    if not isinstance(items, list):
        return None
    return next((c for c in items if isinstance(c, dict) and c.get("name") == name), None)


def _container_list(site: WorkloadSite, container: str) -> str:
    """``containers``, or ``initContainers`` for a native sidecar (an init container with
    ``restartPolicy: Always``, Kubernetes ≥ 1.29: it runs beside the app for the pod's life, so
    its requests are sized from usage like any container's). A run-to-completion init
    container is not right-sized from steady-state usage: the finding is skipped."""
    spec = site.effective()
    if _named(get_value(spec, parse_path("spec.template.spec.containers")), container) is not None:
        return "containers"
    init = _named(get_value(spec, parse_path("spec.template.spec.initContainers")), container)
    where = f"{site.obj.path}: {site.obj.kind}/{site.obj.name}"
    if init is None:
        raise PlanSkip(f"{where} has no container {container!r}")
    if init.get("restartPolicy") != "Always":
        raise PlanSkip(
            f"{where}: {container!r} is an init container that runs to completion, not a native "
            "sidecar (restartPolicy: Always); its requests are not sized from steady usage"
        )
    return "initContainers"


def plan_resources(
    finding: Finding, index: GitOpsRepo, playbook: Playbook, opts: SetResourcesOptions, protect: Protect
) -> list[PlannedEdit]:
    container = finding.target.get("container")
    if not container:
        raise PlanSkip(f"finding {finding.id}: target lacks a container")
    wanted = [
        (k, _quantity(finding, k, v))
        for k, v in finding.proposed.items()
        if k in opts.resources and v is not None
    ]
    if not wanted:
        raise PlanSkip(f"finding {finding.id}: proposes no value this playbook may set")
    site = _site(finding, index, playbook)
    if site is None:
        raise PlanSkip(
            f"finding {finding.id}: workload {finding.target.get('workload')} not found in the repository"
        )
    edits = []
    if site.release is None:
        kind = _container_list(site, container)
        pod = f"spec.template.spec.{kind}[{container}]"
        for key, value in wanted:
            suffix, unit = _RESOURCE_PATHS[key]
            loc = locate_field(site, f"{pod}.resources.{suffix}", protect)
            edits.append(PlannedEdit(loc, value, unit, finding))
        return edits
    # A chart release: the values file of its env (else values.yaml) that holds the resources.
    name = finding.target["workload"]
    templates = [t.format(container=container, workload=name) for t in playbook.targets.helm_value_paths]
    envs = [site.release.env] if site.release.env else _envs(finding)
    root = locate_helm_value(index, site.release.chart.name, envs, templates)
    if root is None:  # pragma: no cover - a release always has its chart
        raise PlanSkip(f"finding {finding.id}: chart of {name} not found")
    for key, value in wanted:
        suffix, unit = _RESOURCE_PATHS[key]
        edits.append(
            PlannedEdit(root.model_copy(update={"field": f"{root.field}.{suffix}"}), value, unit, finding)
        )
    return edits


_CRON_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def uptime_annotation(schedule: dict[str, Any]) -> str:
    """kube-downscaler's ``downscaler/uptime`` ("Mon-Fri 08:00-19:00 UTC") from the idle
    detector's cron schedule (``0 8 * * 1,2,3,4,5`` up, ``0 19 * * 1,2,3,4,5`` down)."""
    try:
        up = str(schedule["scale_up_cron"]).split()
        down = str(schedule["scale_down_cron"]).split()
        days = [int(d) % 7 for d in up[4].split(",")]
        start, end = f"{int(up[1]):02d}:{int(up[0]):02d}", f"{int(down[1]):02d}:{int(down[0]):02d}"
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise PlanSkip(f"unreadable schedule {schedule!r}") from exc
    ordered = sorted(days, key=lambda d: (d - 1) % 7)  # Monday first
    contiguous = [(ordered[0] + i) % 7 for i in range(len(ordered))] == ordered
    names = (
        f"{_CRON_DAYS[ordered[0]]}-{_CRON_DAYS[ordered[-1]]}"
        if contiguous and len(ordered) > 1
        else ",".join(_CRON_DAYS[d] for d in ordered)
    )
    return f"{names} {start}-{end} {schedule.get('timezone', 'UTC')}"


def _count(finding: Finding, key: str, default: int) -> int:
    value = finding.proposed.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PlanSkip(f"finding {finding.id}: proposed {key} {value!r} is not a replica count")
    return value


def plan_replicas(
    finding: Finding, index: GitOpsRepo, playbook: Playbook, opts: ScaleReplicasOptions, protect: Protect
) -> list[PlannedEdit]:
    site = _site(finding, index, playbook)
    if site is None:
        raise PlanSkip(
            f"finding {finding.id}: workload {finding.target.get('workload')} not found in the repository"
        )
    if "schedule" in finding.proposed:
        return _plan_off_hours(finding, index, site, opts, protect)
    replicas = _count(finding, "replicas", opts.replicas)
    hpas = index.related(site, "HorizontalPodAutoscaler")
    if hpas:
        # The HPA owns spec.replicas; its floor is what can be lowered.
        hpa = hpas[0]
        loc = Location(path=hpa.path, doc=hpa.doc, field="spec.minReplicas", source="manifest")
        return [PlannedEdit(loc, max(replicas, opts.hpa_min_replicas), "raw", finding)]
    return [PlannedEdit(locate_field(site, "spec.replicas", protect), replicas, "raw", finding)]


def _pdb_floor(pdbs: list[Any], finding: Finding) -> int:
    """The fewest pods (> 0) a PodDisruptionBudget's ``minAvailable`` still allows evicting from:
    replicas must stay above it (0 pods constrain nothing). PlanSkip when no count does."""
    floor = 0
    for pdb in pdbs:
        raw = (pdb.data.get("spec") or {}).get("minAvailable")
        if raw is None:
            continue
        if isinstance(raw, str) and raw.endswith("%"):
            pct = float(raw[:-1])
            if pct >= 100:
                raise PlanSkip(
                    f"finding {finding.id}: PodDisruptionBudget {pdb.name} minAvailable {raw} allows no "
                    "fewer pods; not scaled down off hours"
                )
            k = 1
            while math.ceil(k * pct / 100) >= k:
                k += 1
            floor = max(floor, k)
        else:
            try:
                floor = max(floor, int(raw) + 1)
            except (TypeError, ValueError):
                raise PlanSkip(
                    f"finding {finding.id}: PodDisruptionBudget {pdb.name} minAvailable {raw!r} unreadable"
                ) from None
    return floor


def _plan_off_hours(
    finding: Finding, index: GitOpsRepo, site: WorkloadSite, opts: ScaleReplicasOptions, protect: Protect
) -> list[PlannedEdit]:
    """Off hours only: kube-downscaler runs ``downtime-replicas`` outside the uptime window.

    An HPA-managed workload is not scaled by its ``replicas`` (the HPA would fight it): the HPA
    carries the annotations (kube-downscaler then lowers its ``minReplicas``, at least
    ``hpa_min_replicas``). A PodDisruptionBudget keeps the off-hours count above its
    ``minAvailable`` once any pod runs. The finding's saving is re-priced for the pods that stay."""
    wanted = _count(finding, "replicas_off_hours", opts.replicas)
    hpas = index.related(site, "HorizontalPodAutoscaler")
    pdbs = index.related(site, "PodDisruptionBudget")
    off = max(wanted, opts.hpa_min_replicas) if hpas else wanted
    if off > 0 or hpas:
        off = max(off, _pdb_floor(pdbs, finding))
    replicas = finding.current.get("replicas")
    current = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else None
    why = []
    if hpas:
        why.append(f"HPA {hpas[0].name} keeps minReplicas ≥ {opts.hpa_min_replicas}")
    if pdbs and off > 0:
        why.append(f"PodDisruptionBudget {', '.join(p.name for p in pdbs)} needs more than minAvailable")
    if current is not None and off >= current:
        raise PlanSkip(
            f"finding {finding.id}: off hours it could run no fewer than {off} of its {current} replica(s) "
            f"({'; '.join(why) or 'policy'}); not proposed"
        )
    if off != wanted:
        finding = _repriced(finding, off, current, "; ".join(why))
    annotations = {
        "downscaler/uptime": uptime_annotation(finding.proposed["schedule"]),
        "downscaler/downtime-replicas": str(off),
    }
    if hpas:
        hpa = hpas[0]
        return [
            PlannedEdit(
                Location(
                    path=hpa.path,
                    doc=hpa.doc,
                    field=format_path((Key("metadata"), Key("annotations"), Key(k))),
                    source="manifest",
                ),
                v,
                "raw",
                finding,
            )
            for k, v in annotations.items()
        ]
    return [
        PlannedEdit(
            locate_field(site, format_path((Key("metadata"), Key("annotations"), Key(k))), protect),
            v,
            "raw",
            finding,
        )
        for k, v in annotations.items()
    ]


def _repriced(finding: Finding, off: int, current: int | None, why: str) -> Finding:
    """The finding with ``off`` pods kept off hours: its saving scaled by the pods that stop."""
    saving = finding.monthly_cost_now - finding.monthly_cost_after
    share = Decimal(current - off) / Decimal(current) if current else Decimal(0)
    after = finding.monthly_cost_now - round_cents(saving * max(share, Decimal(0)))
    return finding.model_copy(
        update={
            "proposed": {**finding.proposed, "replicas_off_hours": off},
            "evidence": {**finding.evidence, "off_hours_floor": why},
            "monthly_cost_after": after,
        }
    )


def plan_model(
    finding: Finding, index: GitOpsRepo, playbook: Playbook, opts: SetModelOptions, protect: Protect
) -> list[PlannedEdit]:
    feature, model = finding.target.get("feature"), finding.proposed.get("model")
    if not feature or not model:
        raise PlanSkip(f"finding {finding.id}: needs target.feature and proposed.model")
    loc = locate_model(index, feature)
    if loc is None:
        raise PlanSkip(f"finding {finding.id}: feature {feature!r} not in the routing config")
    return [PlannedEdit(loc, str(model), "raw", finding)]


def plan_labels(
    finding: Finding, index: GitOpsRepo, playbook: Playbook, opts: AddLabelsOptions, protect: Protect
) -> list[PlannedEdit]:
    labels = finding.proposed.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise PlanSkip(f"finding {finding.id}: proposes no labels")
    site = _site(finding, index, playbook)
    if site is None:
        raise PlanSkip(
            f"finding {finding.id}: workload {finding.target.get('workload')} not found in the repository"
        )
    edits = []
    for key, value in sorted(labels.items()):
        if key not in opts.labels:
            raise PlanSkip(
                f"finding {finding.id}: label {key!r} is not one this playbook may add ({', '.join(opts.labels)})"
            )
        path = format_path((Key("metadata"), Key("labels"), Key(key)))
        if get_value(site.effective(), parse_path(path)) is MISSING:
            edits.append(PlannedEdit(locate_field(site, path), str(value), "raw", finding))
    if not edits:
        raise PlanSkip(f"finding {finding.id}: labels already present")
    return edits


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "set-resources",
            (FindingKind.rightsize,),
            SetResourcesOptions,
            (
                "spec.template.spec.containers[*].resources.requests.cpu",
                "spec.template.spec.containers[*].resources.requests.memory",
                # native sidecars (init containers with restartPolicy: Always)
                "spec.template.spec.initContainers[*].resources.requests.cpu",
                "spec.template.spec.initContainers[*].resources.requests.memory",
            ),
            plan_resources,
        ),
        Action(
            "scale-replicas",
            (FindingKind.idle,),
            ScaleReplicasOptions,
            (
                "spec.replicas",
                'metadata.annotations["downscaler/uptime"]',
                'metadata.annotations["downscaler/downtime-replicas"]',
            ),
            plan_replicas,
        ),
        Action("set-model", (FindingKind.cheaper_model,), SetModelOptions, ("features.*.model",), plan_model),
        Action("add-labels", (FindingKind.untagged,), AddLabelsOptions, ("metadata.labels.*",), plan_labels),
    )
}


def get_action(name: str) -> Action:
    """The action ``name``; an unknown name lists the valid ones."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise ConfigError(f"unknown action {name!r}; valid: {', '.join(sorted(ACTIONS))}") from None
