"""Read-only view of a GitOps repository's Kubernetes manifests: HPA targets and container resources.

Every ``*.yaml`` / ``*.yml`` file (all documents) is read with ruamel.yaml's safe loader;
files that are not Kubernetes objects (Helm templates, kustomizations, the AI routing config) are
skipped. Kustomize folders are rendered (resources, patches, namespace); a plain manifest without
``metadata.namespace`` counts for the namespace ``default``.

Helm charts (a folder with ``Chart.yaml``) are read from their values, not their templates
(rendering would need the chart's dependencies). The conventions are those of ``helm create``:

* environments: one per ``values-<env>.yaml`` (or ``values.<env>.yaml``) file, plus every env the
  repository's kustomizations declare for the chart's team (a chart deploys to all of its team's
  environments; ``values.yaml`` holds the defaults). Each env's values are ``values.yaml``
  deep-merged with that env's file, as ``helm -f values.yaml -f values-<env>.yaml`` does;
* namespace per env: ``namespaceOverride`` or ``namespace`` in the values, else the namespace of a
  kustomization labelled with the same team and env (``labels: [{pairs: {team, env}}]`` or
  ``commonLabels``), else ``<team>-<env>``; the team is the values' ``labels`` /
  ``commonLabels`` / ``podLabels`` entry ``team`` or ``app.kubernetes.io/part-of`` (or a top-level
  ``team``). An env with no namespace found is not indexed;
* workload: a Deployment (``kind`` / ``workloadKind`` in the values may name another workload
  kind) named ``fullnameOverride`` or the chart name, with one regular container named after the
  chart whose requests/limits are the values' ``resources``;
* HPA: ``autoscaling.enabled: true`` scales on CPU when ``targetCPUUtilizationPercentage`` is set
  and on memory when ``targetMemoryUtilizationPercentage`` is set; with neither, Kubernetes'
  default metric (80% CPU) applies, so CPU.

A workload that a kustomization or plain manifest already defines in that namespace wins over a
chart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from domain.errors import InputError
from domain.quantity import parse_quantity
from domain.strategic_merge import strategic_merge

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})


def quantity(value: Any) -> Decimal | None:
    """Exact value of a Kubernetes quantity ("250m" → 0.25, "1Gi" → 1073741824); None if invalid."""
    try:
        return parse_quantity(value)
    except InputError:
        return None


@dataclass(frozen=True)
class ContainerSpec:
    namespace: str
    kind: str
    workload: str
    container: str
    container_type: str  # regular | sidecar (init container with restartPolicy Always) | init
    cpu_request: Decimal | None
    cpu_limit: Decimal | None
    memory_request: int | None
    memory_limit: int | None
    file: str


@dataclass(frozen=True)
class HpaTarget:
    namespace: str
    kind: str
    workload: str
    resources: frozenset[str]  # cpu / memory metrics the HPA scales on
    min_replicas: int | None
    max_replicas: int | None
    file: str


@dataclass
class ManifestIndex:
    containers: list[ContainerSpec] = field(default_factory=list)
    hpas: list[HpaTarget] = field(default_factory=list)
    files_read: int = 0

    def hpa_resources(self) -> dict[tuple[str, str, str], frozenset[str]]:
        out: dict[tuple[str, str, str], frozenset[str]] = {}
        for h in self.hpas:
            key = (h.namespace, h.kind, h.workload)
            out[key] = out.get(key, frozenset()) | h.resources
        return out


def _yaml_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.suffix in (".yaml", ".yml") and ".git" not in path.parts and path.is_file():
            yield path


def _first_map(docs: list[Any]) -> dict[str, Any]:
    return next((d for d in docs if isinstance(d, dict)), {})


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = (spec.get("template") or {}).get("spec")
    return template if isinstance(template, dict) else None


def _resources(container: dict[str, Any]) -> tuple[Decimal | None, Decimal | None, int | None, int | None]:
    res = container.get("resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    mem_req, mem_lim = quantity(req.get("memory")), quantity(lim.get("memory"))
    return (
        quantity(req.get("cpu")),
        quantity(lim.get("cpu")),
        None if mem_req is None else int(mem_req),
        None if mem_lim is None else int(mem_lim),
    )


def _hpa(doc: dict[str, Any], namespace: str, file: str) -> HpaTarget | None:
    spec = doc.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    if not ref.get("kind") or not ref.get("name"):
        return None
    resources: set[str] = set()
    if spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
        resources.add("cpu")
    for metric in spec.get("metrics") or []:
        if not isinstance(metric, dict):
            continue
        for section in ("resource", "containerResource"):
            name = (metric.get(section) or {}).get("name")
            if name in ("cpu", "memory"):
                resources.add(name)
    return HpaTarget(
        namespace,
        str(ref["kind"]),
        str(ref["name"]),
        frozenset(resources),
        spec.get("minReplicas"),
        spec.get("maxReplicas"),
        file,
    )


class _Kustomize:
    """Just enough of ``kustomize build`` to know which namespace and resources a manifest ends up with."""

    def __init__(self, root: Path, docs: dict[Path, list[Any]]) -> None:
        self.root, self.docs = root, docs
        self.used: set[Path] = set()  # files rendered through a kustomization or used as patches

    @staticmethod
    def file_of(folder: Path) -> Path | None:
        for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            if (folder / name).is_file():
                return folder / name
        return None

    def render(self, kfile: Path, seen: frozenset[Path] = frozenset()) -> list[tuple[dict[str, Any], Path]]:
        if kfile in seen:
            return []
        self.used.add(kfile)
        spec = next((d for d in self.docs.get(kfile, []) if isinstance(d, dict)), {})
        objects: list[tuple[dict[str, Any], Path]] = []
        for entry in spec.get("resources") or []:
            target = (kfile.parent / str(entry)).resolve()
            if target.is_dir() and (inner := self.file_of(target)):
                objects.extend(self.render(inner, seen | {kfile}))
            elif target in self.docs:
                self.used.add(target)
                objects.extend((d, target) for d in self.docs[target] if isinstance(d, dict))
        patches = [p.get("path") if isinstance(p, dict) else p for p in spec.get("patches") or []]
        patches += list(spec.get("patchesStrategicMerge") or [])
        for rel in patches:
            target = (kfile.parent / str(rel)).resolve() if rel else None
            for patch in self.docs.get(target, []) if target else []:
                self.used.add(target)  # type: ignore[arg-type]
                if not isinstance(patch, dict):
                    continue
                name = (patch.get("metadata") or {}).get("name")
                objects = [
                    (strategic_merge(d, patch), f)
                    if d.get("kind") == patch.get("kind") and (d.get("metadata") or {}).get("name") == name
                    else (d, f)
                    for d, f in objects
                ]
        if isinstance(spec.get("namespace"), str):  # the outermost kustomization's namespace wins
            objects = [
                ({**d, "metadata": {**(d.get("metadata") or {}), "namespace": spec["namespace"]}}, f)
                for d, f in objects
            ]
        return objects


def read_manifests(root: Path) -> ManifestIndex:
    """HPA targets and container resources of every workload under ``root`` (read-only).

    Folders with a ``kustomization.yaml`` are rendered (resources, strategic-merge patches,
    namespace) from each top-level kustomization; other manifests are read as they are.
    """
    yaml = YAML(typ="safe", pure=True)
    index = ManifestIndex()
    if not root.is_dir():
        return index
    root = root.resolve()
    docs: dict[Path, list[Any]] = {}
    for path in _yaml_files(root):
        try:
            docs[path.resolve()] = list(yaml.load_all(path.read_text()))
        except (YAMLError, UnicodeDecodeError):
            continue  # not YAML we can read (e.g. a Helm template); nothing to learn from it
    index.files_read = len(docs)
    charts = [p.parent for p in docs if p.name == "Chart.yaml"]
    # A chart's templates are Go templates, not manifests; the few that parse as YAML would
    # otherwise be indexed under names like "{{ include ... }}".
    docs_k8s = {p: d for p, d in docs.items() if not any(p.is_relative_to(c / "templates") for c in charts)}
    kz = _Kustomize(root, docs_k8s)
    kfiles = [p for p in docs_k8s if p.name in ("kustomization.yaml", "kustomization.yml")]
    referenced: set[Path] = set()
    for kfile in kfiles:
        for entry in _first_map(docs[kfile]).get("resources") or []:
            target = (kfile.parent / str(entry)).resolve()
            if target.is_dir() and (inner := kz.file_of(target)):
                referenced.add(inner.resolve())
    rendered: list[tuple[dict[str, Any], Path]] = []
    for kfile in kfiles:
        if kfile not in referenced:
            rendered.extend(kz.render(kfile))
    for path, file_docs in docs_k8s.items():
        if path not in kz.used:
            rendered.extend((d, path) for d in file_docs if isinstance(d, dict))
    team_envs = _team_envs(kfiles, docs)
    for chart in sorted(charts):
        rendered.extend(_chart_objects(chart, docs, team_envs))
    seen: set[tuple[str, str, str, str]] = set()
    for doc, path in rendered:
        _index_doc(index, doc, str(path.relative_to(root)), seen)
    return index


def _index_doc(
    index: ManifestIndex, doc: dict[str, Any], rel: str, seen: set[tuple[str, str, str, str]]
) -> None:
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return
    namespace, kind, name = str(meta.get("namespace") or "default"), doc.get("kind"), meta["name"]
    if (namespace, str(kind), name, "") in seen:
        return  # the same object rendered twice (two overlays of one base with one namespace)
    seen.add((namespace, str(kind), name, ""))
    if kind == "HorizontalPodAutoscaler":
        hpa = _hpa(doc, namespace, rel)
        if hpa:
            index.hpas.append(hpa)
        return
    if kind not in WORKLOAD_KINDS or (pod := _pod_spec(doc)) is None:
        return
    for section, default_type in (("containers", "regular"), ("initContainers", "init")):
        for c in pod.get(section) or []:
            if not isinstance(c, dict) or not c.get("name"):
                continue
            native_sidecar = default_type == "init" and c.get("restartPolicy") == "Always"
            ctype = "sidecar" if native_sidecar else default_type
            index.containers.append(
                ContainerSpec(namespace, kind, name, str(c["name"]), ctype, *_resources(c), rel)
            )


TEAM_LABELS = ("team", "app.kubernetes.io/part-of")
ENV_LABELS = ("env", "environment")
_VALUES_ENV = re.compile(r"^values[-.](?P<env>[A-Za-z0-9_-]+)\.ya?ml$")
# Kubernetes' HPA default when no metric is given (autoscaling/v2): 80% average CPU utilization.
_HPA_DEFAULT_METRIC = ("cpu", 80)


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


def _label_maps(
    spec: dict[str, Any], map_keys: tuple[str, ...], pairs_key: str | None = None
) -> list[dict[str, Any]]:
    """Label maps of an object: ``spec[k]`` for each map key, plus kustomize's ``labels: [{pairs}]``."""
    entries = (spec.get(pairs_key) if pairs_key else None) or []
    maps = [e["pairs"] for e in entries if isinstance(e, dict) and isinstance(e.get("pairs"), dict)]
    return maps + [spec[k] for k in map_keys if isinstance(spec.get(k), dict)]


def _pick(maps: list[dict[str, Any]], keys: tuple[str, ...]) -> str | None:
    for labels in maps:
        for key in keys:
            if isinstance(labels.get(key), str) and labels[key]:
                return str(labels[key])
    return None


def _team_envs(kfiles: list[Path], docs: dict[Path, list[Any]]) -> dict[tuple[str, str], str]:
    """(team, env) → namespace, from kustomizations that set a namespace and label team and env."""
    out: dict[tuple[str, str], str] = {}
    for kfile in sorted(kfiles):
        spec = _first_map(docs[kfile])
        maps = _label_maps(spec, ("commonLabels",), pairs_key="labels")
        team, env = _pick(maps, TEAM_LABELS), _pick(maps, ENV_LABELS)
        if isinstance(spec.get("namespace"), str) and team and env:
            out.setdefault((team, env), spec["namespace"])
    return out


def _chart_team(values: dict[str, Any]) -> str | None:
    maps = _label_maps(values, ("labels", "commonLabels", "podLabels"))
    return _pick(maps, TEAM_LABELS) or (values["team"] if isinstance(values.get("team"), str) else None)


def _chart_namespace(
    values: dict[str, Any], env: str | None, team_envs: dict[tuple[str, str], str]
) -> str | None:
    for key in ("namespaceOverride", "namespace"):
        if isinstance(values.get(key), str) and values[key]:
            return str(values[key])
    team = _chart_team(values)
    if team is None or env is None:
        return None
    return team_envs.get((team, env), f"{team}-{env}")


def _chart_objects(
    chart: Path, docs: dict[Path, list[Any]], team_envs: dict[tuple[str, str], str]
) -> list[tuple[dict[str, Any], Path]]:
    """The workload and HPA each environment's values describe, as Kubernetes-shaped objects."""
    name = _first_map(docs.get(chart / "Chart.yaml", [])).get("name")
    if not isinstance(name, str) or not name:
        return []
    base_file = next((chart / f for f in ("values.yaml", "values.yml") if chart / f in docs), None)
    base = _first_map(docs[base_file]) if base_file else {}
    fallback = base_file or chart / "Chart.yaml"
    env_files = {
        m["env"]: path for path in docs if path.parent == chart and (m := _VALUES_ENV.match(path.name))
    }
    team = _chart_team(base)
    envs: list[str | None] = sorted(set(env_files) | {e for t, e in team_envs if t == team})
    objects: list[tuple[dict[str, Any], Path]] = []
    for env in envs or [None]:
        env_file = env_files.get(env)
        env_values = _first_map(docs[env_file]) if env_file else {}
        values = helm_merge(base, env_values)
        namespace = _chart_namespace(values, env, team_envs)
        if namespace is None:
            continue
        # Each object points at the file its values came from: the env file when it sets them.
        files = {
            k: env_file if env_file and k in env_values else fallback for k in ("resources", "autoscaling")
        }
        objects.extend(_chart_workload(name, values, namespace, files))
    return objects


def _chart_workload(
    chart_name: str, values: dict[str, Any], namespace: str, files: dict[str, Path]
) -> list[tuple[dict[str, Any], Path]]:
    kind = next(
        (values[k] for k in ("kind", "workloadKind") if values.get(k) in WORKLOAD_KINDS), "Deployment"
    )
    name = values.get("fullnameOverride")
    name = name if isinstance(name, str) and name else chart_name
    container: dict[str, Any] = {"name": chart_name}
    if isinstance(values.get("resources"), dict):
        container["resources"] = values["resources"]
    spec: dict[str, Any] = {"template": {"spec": {"containers": [container]}}}
    meta = {"name": name, "namespace": namespace}
    workload = {
        "kind": kind,
        "metadata": meta,
        "spec": {"jobTemplate": {"spec": spec}} if kind == "CronJob" else spec,
    }
    out = [(workload, files["resources"])]
    auto = values.get("autoscaling")
    if isinstance(auto, dict) and auto.get("enabled"):  # Go template truthiness, as the chart tests it
        targets = [
            (resource, auto[key])
            for resource, key in (
                ("cpu", "targetCPUUtilizationPercentage"),
                ("memory", "targetMemoryUtilizationPercentage"),
            )
            if auto.get(key)
        ] or [_HPA_DEFAULT_METRIC]
        metrics = [
            {
                "type": "Resource",
                "resource": {"name": r, "target": {"type": "Utilization", "averageUtilization": u}},
            }
            for r, u in targets
        ]
        hpa = {
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta,
            "spec": {
                "scaleTargetRef": {"kind": kind, "name": name},
                "minReplicas": auto.get("minReplicas"),
                "maxReplicas": auto.get("maxReplicas"),
                "metrics": metrics,
            },
        }
        out.append((hpa, files["autoscaling"]))
    return out


def read_routing(path: Path) -> dict[str, Any]:
    """The AI routing config (``ai/routing.yaml``): ``models`` allow-list and ``features``."""
    from domain.errors import ConfigError

    if not path.is_file():
        raise ConfigError(f"{path}: no AI routing config (expected models: and features:)")
    try:
        doc = YAML(typ="safe", pure=True).load(path.read_text())
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("models"), dict)
        or not isinstance(doc.get("features"), dict)
    ):
        raise ConfigError(f"{path}: needs mappings `models:` and `features:`")
    return doc
