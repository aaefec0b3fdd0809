"""Helm charts of a GitOps repository, read from their values (never from their templates:
rendering would need the chart's dependencies). The conventions are those of ``helm create``:

* environments: one per ``values-<env>.yaml`` (or ``values.<env>.yaml``) file, plus every env the
  repository's kustomizations declare for the chart's team (a chart deploys to all of its team's
  environments; ``values.yaml`` holds the defaults). Each env's values are ``values.yaml``
  deep-merged with that env's file, as ``helm -f values.yaml -f values-<env>.yaml`` does;
* namespace per env: ``namespaceOverride`` or ``namespace`` in the values, else the namespace of a
  kustomization labelled with the same team and env (``labels: [{pairs: {team, env}}]`` or
  ``commonLabels``), else ``<team>-<env>``; the team is the values' ``labels`` / ``commonLabels``
  / ``podLabels`` entry ``team`` or ``app.kubernetes.io/part-of`` (or a top-level ``team``). A
  chart that names no team and no namespace is a *floating* release: it matches a namespace
  whose name carries the env (``shop-prod`` → ``values-prod.yaml``), or the defaults;
* workload: a Deployment (``kind`` / ``workloadKind`` may name another workload kind) named
  ``fullnameOverride`` or the chart name, ``replicaCount`` replicas, one regular container named
  after the chart whose requests/limits are the values' ``resources``;
* HPA: ``autoscaling.enabled: true`` scales on CPU when ``targetCPUUtilizationPercentage`` is set
  and on memory when ``targetMemoryUtilizationPercentage`` is set; with neither, Kubernetes'
  default metric (80% CPU) applies;
* PDB: ``podDisruptionBudget`` or ``pdb`` with ``enabled`` / ``create`` true and ``minAvailable``
  or ``maxUnavailable``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.manifests import WORKLOAD_KINDS, is_container_name, is_object_name
from gitops.kustomize import Kustomization

TEAM_LABELS = ("team", "app.kubernetes.io/part-of")
ENV_LABELS = ("env", "environment")
_VALUES_ENV = re.compile(r"^values[-.](?P<env>[A-Za-z0-9_-]+)\.ya?ml$")
_TOKENS = re.compile(r"[-_.]")
# Kubernetes' HPA default when no metric is given (autoscaling/v2): 80% average CPU utilization.
HPA_DEFAULT_METRIC = ("cpu", 80)


def helm_merge(base: Any, override: Any) -> Any:
    """Helm's coalescing of ``-f values.yaml -f values-<env>.yaml``: maps merge key by key, a
    ``null`` in the later file deletes the key, anything else (lists too) is replaced."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = helm_merge(out[key], value) if key in out else value
    return out


@dataclass(frozen=True)
class Chart:
    """A chart folder: its name, its default values file and one values file per env."""

    name: str
    folder: str
    base_file: str | None
    env_files: dict[str, str]
    values: dict[str, Any]
    env_values: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class ChartRelease:
    """A chart as one env deploys it: merged values and the objects they describe."""

    chart: Chart
    env: str | None
    namespace: str | None  # None: a floating release (the chart names no namespace)
    values: dict[str, Any]
    kind: str
    name: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind → object
    files: dict[str, str] = field(default_factory=dict)  # kind → values file it comes from

    @property
    def value_files(self) -> list[str]:
        """The values files of this release, most specific first."""
        env_file = self.chart.env_files.get(self.env) if self.env else None
        return [f for f in (env_file, self.chart.base_file) if f]


def _first_map(docs: list[Any]) -> dict[str, Any]:
    return next((d for d in docs if isinstance(d, dict)), {})


def _label_maps(spec: dict[str, Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [spec[k] for k in keys if isinstance(spec.get(k), dict)]


def _pick(maps: list[dict[str, Any]], keys: tuple[str, ...]) -> str | None:
    for labels in maps:
        for key in keys:
            if isinstance(labels.get(key), str) and labels[key]:
                return str(labels[key])
    return None


def team_envs(kustomizations: list[Kustomization]) -> dict[tuple[str, str], str]:
    """(team, env) → namespace, from kustomizations that set a namespace and label team and env."""
    out: dict[tuple[str, str], str] = {}
    for k in sorted(kustomizations, key=lambda k: k.file):
        team, env = _pick([k.labels], TEAM_LABELS), _pick([k.labels], ENV_LABELS)
        if k.namespace and team and env:
            out.setdefault((team, env), k.namespace)
    return out


def find_charts(files: dict[str, list[Any]], notes: list[str]) -> list[Chart]:
    """Every folder with a ``Chart.yaml`` that names the chart."""
    charts = []
    for rel in sorted(files):
        if Path(rel).name != "Chart.yaml":
            continue
        folder = Path(rel).parent.as_posix()
        name = _first_map(files[rel]).get("name")
        if not isinstance(name, str) or not name:
            continue
        base_file = next(
            (f"{folder}/{f}" for f in ("values.yaml", "values.yml") if f"{folder}/{f}" in files), None
        )
        env_files = {
            m["env"]: path
            for path in files
            if Path(path).parent.as_posix() == folder and (m := _VALUES_ENV.match(Path(path).name))
        }
        charts.append(
            Chart(
                name,
                folder,
                base_file,
                env_files,
                _first_map(files[base_file]) if base_file else {},
                {env: _first_map(files[path]) for env, path in env_files.items()},
            )
        )
    return charts


def chart_team(values: dict[str, Any]) -> str | None:
    maps = _label_maps(values, ("labels", "commonLabels", "podLabels"))
    return _pick(maps, TEAM_LABELS) or (values["team"] if isinstance(values.get("team"), str) else None)


def _namespace(values: dict[str, Any], env: str | None, teams: dict[tuple[str, str], str]) -> str | None:
    for key in ("namespaceOverride", "namespace"):
        if isinstance(values.get(key), str) and values[key]:
            return str(values[key])
    team = chart_team(values)
    if team is None or env is None:
        return None
    return teams.get((team, env), f"{team}-{env}")


def releases(chart: Chart, teams: dict[tuple[str, str], str], notes: list[str]) -> list[ChartRelease]:
    """One release per env of the chart (floating ones have no namespace), plus the defaults'
    floating release when the chart names no namespace at all."""
    team = chart_team(chart.values)
    envs: list[str | None] = sorted(set(chart.env_files) | {e for t, e in teams if t == team})
    out = [r for env in envs or [None] if (r := release(chart, env, teams, notes)) is not None]
    if envs and all(r.namespace is None for r in out) and (d := release(chart, None, teams, notes)):
        out.append(d)  # a floating chart: namespaces whose env has no values file get the defaults
    return out


def release(
    chart: Chart, env: str | None, teams: dict[tuple[str, str], str], notes: list[str]
) -> ChartRelease | None:
    """The release of ``chart`` for ``env`` (None: the defaults alone); None, with a note, when
    its names are not valid Kubernetes names."""
    env_values = chart.env_values.get(env, {}) if env else {}
    values = helm_merge(chart.values, env_values)
    where = chart.env_files.get(env) if env else None
    where = where or chart.base_file or f"{chart.folder}/Chart.yaml"
    namespace = _namespace(values, env, teams)
    name = values.get("fullnameOverride")
    name = name if isinstance(name, str) and name else chart.name
    problems = [
        f"{what} {value!r}"
        for what, value, ok in (
            ("name", name, is_object_name(name)),
            ("container name", chart.name, is_container_name(chart.name)),
            ("namespace", namespace, namespace is None or is_object_name(namespace)),
        )
        if not ok
    ]
    if problems:
        notes.append(
            f"{where}: chart {chart.name!r} skipped: not a valid Kubernetes name: {', '.join(problems)}"
        )
        return None
    kind = next(
        (values[k] for k in ("kind", "workloadKind") if values.get(k) in WORKLOAD_KINDS), "Deployment"
    )
    rel = ChartRelease(chart, env, namespace, values, kind, name)

    def file_of(*keys: str) -> str:
        env_file = chart.env_files.get(env) if env else None
        if env_file and any(k in env_values for k in keys):
            return env_file
        return chart.base_file or f"{chart.folder}/Chart.yaml"

    rel.objects["workload"] = _workload(chart.name, values, kind, name, namespace)
    rel.files["workload"] = file_of("resources")
    hpa = _hpa(values, kind, name, namespace)
    if hpa is not None:
        rel.objects["HorizontalPodAutoscaler"], rel.files["HorizontalPodAutoscaler"] = (
            hpa,
            file_of("autoscaling"),
        )
    pdb = _pdb(chart.name, values, name, namespace)
    if pdb is not None:
        rel.objects["PodDisruptionBudget"], rel.files["PodDisruptionBudget"] = (
            pdb,
            file_of("podDisruptionBudget", "pdb"),
        )
    return rel


def infer_env(chart: Chart, namespace: str) -> str | None:
    """The env of a floating chart in ``namespace``: the values-<env> file the namespace's name
    carries (``shop-prod`` → prod), else None (the defaults)."""
    tokens = {namespace, *_TOKENS.split(namespace)}
    return next((env for env in sorted(chart.env_files) if env in tokens), None)


def _selector(chart_name: str, name: str) -> dict[str, str]:
    # helm create's selectorLabels
    return {"app.kubernetes.io/name": chart_name, "app.kubernetes.io/instance": name}


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _workload(
    chart_name: str, values: dict[str, Any], kind: str, name: str, ns: str | None
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": chart_name}
    if isinstance(values.get("resources"), dict):
        container["resources"] = values["resources"]
    labels = {**_str_map(values.get("commonLabels")), **_str_map(values.get("labels"))}
    pod_labels = {**labels, **_str_map(values.get("podLabels")), **_selector(chart_name, name)}
    spec: dict[str, Any] = {
        "template": {"metadata": {"labels": pod_labels}, "spec": {"containers": [container]}}
    }
    if isinstance(values.get("replicaCount"), int) and not isinstance(values["replicaCount"], bool):
        spec["replicas"] = values["replicaCount"]
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if ns:
        meta["namespace"] = ns
    if kind == "CronJob":
        spec = {"jobTemplate": {"spec": spec}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}


def _hpa(values: dict[str, Any], kind: str, name: str, ns: str | None) -> dict[str, Any] | None:
    auto = values.get("autoscaling")
    if not (isinstance(auto, dict) and auto.get("enabled")):  # Go template truthiness
        return None
    targets = [
        (resource, auto[key])
        for resource, key in (
            ("cpu", "targetCPUUtilizationPercentage"),
            ("memory", "targetMemoryUtilizationPercentage"),
        )
        if auto.get(key)
    ] or [HPA_DEFAULT_METRIC]
    metrics = [
        {
            "type": "Resource",
            "resource": {"name": r, "target": {"type": "Utilization", "averageUtilization": u}},
        }
        for r, u in targets
    ]
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
        "minReplicas": auto.get("minReplicas"),
        "maxReplicas": auto.get("maxReplicas"),
        "metrics": metrics,
    }
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta, "spec": spec}


def _pdb(chart_name: str, values: dict[str, Any], name: str, ns: str | None) -> dict[str, Any] | None:
    block = next((values[k] for k in ("podDisruptionBudget", "pdb") if isinstance(values.get(k), dict)), None)
    if not block or not (block.get("enabled") or block.get("create")):
        return None
    spec: dict[str, Any] = {
        k: block[k] for k in ("minAvailable", "maxUnavailable") if block.get(k) is not None
    }
    spec["selector"] = {"matchLabels": _selector(chart_name, name)}
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta, "spec": spec}
