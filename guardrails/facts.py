"""What a change really does, computed from the parsed files before and after it.

Validators judge these facts, never the playbook's own account of the change: the changed
fields come from comparing parsed documents, the new values are read back from the patched
text, and the workload's context (labels, HPA, PDB, namespace) comes from the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.changes import PlannedChange
from domain.errors import InputError
from domain.findings import Finding, FindingKind
from domain.quantity import parse_quantity
from gitops.diff import changed_fields, identity
from gitops.targets import ROUTING_FILE, WorkloadSite, find_workload, related
from gitops.yaml_patch import UnsafeYamlError, load_documents, resolve_in_repo
from gitops.yaml_path import MISSING, Key, Named, get_value, parse_path, split_selector
from guardrails.context import ValidationContext, finding_key, workload_key

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Rollout"}
_RESOURCE = re.compile(r"resources\.(requests|limits)\.(cpu|memory)$")
_MODEL = re.compile(r"^features\.([^.\[\]]+)\.model$")


@dataclass
class FileFacts:
    path: str
    before: list[Any] | None = None
    after: list[Any] | None = None
    path_error: str | None = None
    unsafe: str | None = None
    parse_error: str | None = None


@dataclass(frozen=True)
class Leaf:
    file: str
    doc: int
    selector: str | None
    path: str


@dataclass
class ResourceChange:
    workload: str
    container: str
    group: str  # requests | limits
    resource: str  # cpu (cores) | memory (bytes)
    before: Decimal | None
    after: Decimal | None
    effective: dict[str, dict[str, Decimal]]  # requests/limits after the change, canonical units
    finding: Finding | None


@dataclass
class ReplicaChange:
    workload: str
    field: str  # replicas | minReplicas | maxReplicas
    before: int | None
    after: int | None
    leaf: Leaf


@dataclass
class ModelChange:
    feature: str
    before: str | None
    after: str | None
    finding: Finding | None


@dataclass
class WorkloadFacts:
    key: str
    namespace: str | None
    kind: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    site: WorkloadSite | None = None
    hpas: list[Any] = field(default_factory=list)
    pdbs: list[Any] = field(default_factory=list)
    is_prod: bool = False
    protected: bool = False


@dataclass
class ChangeFacts:
    files: list[FileFacts]
    leaves: list[Leaf] = field(default_factory=list)
    resources: list[ResourceChange] = field(default_factory=list)
    replicas: list[ReplicaChange] = field(default_factory=list)
    models: list[ModelChange] = field(default_factory=list)
    workloads: dict[str, WorkloadFacts] = field(default_factory=dict)

    @property
    def parsed(self) -> bool:
        return all(f.after is not None and f.before is not None for f in self.files)


def build_facts(change: PlannedChange, ctx: ValidationContext) -> ChangeFacts:
    facts = ChangeFacts(files=[_parse_file(ctx, f.path, f.before, f.after) for f in change.files])
    new_files = {f.path for f in change.files if f.before == ""}
    for ff in facts.files:
        if ff.before is None or ff.after is None:
            continue
        if ff.path in new_files:
            # A new file: everything but each document's identity is a change to judge.
            ff.before = [identity(d) for d in ff.after]
        for doc in range(max(len(ff.before), len(ff.after))):
            pair = (
                [ff.before[doc]] if doc < len(ff.before) else [],
                [ff.after[doc]] if doc < len(ff.after) else [],
            )
            for text in changed_fields(*pair):
                selector, path = split_selector(text)
                facts.leaves.append(Leaf(ff.path, doc, selector, path))
    for finding in change.findings:
        if finding.kind is not FindingKind.cheaper_model:
            _workload(
                facts,
                ctx,
                finding.target.get("namespace"),
                finding.target.get("kind", "Deployment"),
                finding.target.get("workload", "?"),
            )
    by_file = {ff.path: ff for ff in facts.files}
    for leaf in facts.leaves:
        ff = by_file[leaf.file]
        if leaf.path.startswith("#") or leaf.path == "<document>":
            continue
        before_doc = ff.before[leaf.doc] if ff.before and leaf.doc < len(ff.before) else None
        after_doc = ff.after[leaf.doc] if ff.after and leaf.doc < len(ff.after) else None
        _classify(facts, ctx, change, leaf, before_doc, after_doc)
    return facts


def _parse_file(ctx: ValidationContext, path: str, before: str, after: str) -> FileFacts:
    ff = FileFacts(path)
    try:
        resolve_in_repo(ctx.repo, path)
    except InputError as exc:
        ff.path_error = str(exc)
        return ff
    index = ctx.repo_index()
    for attr, text in (("before", before), ("after", after)):
        known = index.parsed(path, text)  # the repo's own text: parsed and checked once, at indexing
        try:
            setattr(ff, attr, known if known is not None else load_documents(text, path))
        except UnsafeYamlError as exc:
            ff.unsafe = ff.unsafe or f"{attr}: {exc}"
        except InputError as exc:
            ff.parse_error = ff.parse_error or f"{attr}: {exc}"
    return ff


def _classify(
    facts: ChangeFacts, ctx: ValidationContext, change: PlannedChange, leaf: Leaf, before: Any, after: Any
) -> None:
    doc = after if isinstance(after, dict) else before
    kind = doc.get("kind") if isinstance(doc, dict) else None
    tokens = parse_path(leaf.path)
    if leaf.file == ROUTING_FILE and (m := _MODEL.match(leaf.path)):
        finding = next((f for f in change.findings if f.target.get("feature") == m.group(1)), None)
        old, new = get_value(before, tokens), get_value(after, tokens)
        facts.models.append(ModelChange(m.group(1), _opt_str(old), _opt_str(new), finding))
        return
    owner = _owner(facts, ctx, change, doc, kind, tokens, leaf.file)
    if owner is None:
        return
    if m := _RESOURCE.search(leaf.path):
        group, resource = m.groups()
        container = next((t.name for t in tokens if isinstance(t, Named)), None) or _finding_container(
            change, owner
        )
        kind_list = _container_list(tokens)
        finding = _finding_for(change, owner.key, container)
        block = get_value(after, tokens[:-2])
        effective = _effective_resources(owner, container, block, kind_list)
        facts.resources.append(
            ResourceChange(
                owner.key,
                container or "?",
                group,
                resource,
                _quantity(_current(owner, before, tokens, container, f"{group}.{resource}", kind_list)),
                _quantity(get_value(after, tokens)),
                effective,
                finding,
            )
        )
    elif kind == "HorizontalPodAutoscaler" and leaf.path in ("spec.minReplicas", "spec.maxReplicas"):
        facts.replicas.append(
            ReplicaChange(
                owner.key,
                leaf.path[5:],
                _opt_int(get_value(before, tokens)),
                _opt_int(get_value(after, tokens)),
                leaf,
            )
        )
    elif kind in WORKLOAD_KINDS and leaf.path.startswith('metadata.annotations["downscaler/'):
        # kube-downscaler: outside the uptime window the workload runs downtime-replicas (default 0).
        annotations = (after or {}).get("metadata", {}).get("annotations") or {}
        scheduled = "downscaler/uptime" in annotations or "downscaler/downtime" in annotations
        seen = any(r.workload == owner.key and r.field == "replicas_off_hours" for r in facts.replicas)
        if scheduled and not seen:
            off = _opt_int(_int_text(annotations.get("downscaler/downtime-replicas", "0")))
            facts.replicas.append(ReplicaChange(owner.key, "replicas_off_hours", None, off, leaf))
    elif kind is None and leaf.path.endswith("autoscaling.minReplicas"):
        facts.replicas.append(
            ReplicaChange(
                owner.key,
                "minReplicas",
                _opt_int(get_value(before, tokens)),
                _opt_int(get_value(after, tokens)),
                leaf,
            )
        )
    elif (kind in WORKLOAD_KINDS and leaf.path == "spec.replicas") or (
        kind is None and isinstance(tokens[-1], Key) and tokens[-1].name in ("replicaCount", "replicas")
    ):
        facts.replicas.append(
            ReplicaChange(
                owner.key,
                "replicas",
                _opt_int(get_value(before, tokens)),
                _opt_int(get_value(after, tokens)),
                leaf,
            )
        )


def _owner(
    facts: ChangeFacts,
    ctx: ValidationContext,
    change: PlannedChange,
    doc: Any,
    kind: str | None,
    tokens: tuple,
    file: str,
) -> WorkloadFacts | None:
    """The workload a changed field belongs to: the document's own object, an HPA's target, or
    (for values files) the finding the change implements."""
    if isinstance(doc, dict) and kind in WORKLOAD_KINDS | {"HorizontalPodAutoscaler"}:
        meta = doc.get("metadata") or {}
        if kind == "HorizontalPodAutoscaler":
            ref = (doc.get("spec") or {}).get("scaleTargetRef") or {}
            kind, name = ref.get("kind", "Deployment"), ref.get("name", "?")
        else:
            name = meta.get("name", "?")
        namespace = (
            meta.get("namespace")
            or next(
                (f.target.get("namespace") for f in change.findings if f.target.get("workload") == name), None
            )
            or _rendered_namespace(ctx, file)
        )
        return _workload(facts, ctx, namespace, str(kind), str(name))
    named = {t.name for t in tokens if isinstance(t, Named | Key)}
    candidates = [f for f in change.findings if f.kind is not FindingKind.cheaper_model]
    finding = next(
        (f for f in candidates if f.target.get("container") in named), candidates[0] if candidates else None
    )
    if finding is None:
        return None
    t = finding.target
    return _workload(facts, ctx, t.get("namespace"), t.get("kind", "Deployment"), t.get("workload", "?"))


def _rendered_namespace(ctx: ValidationContext, file: str) -> str | None:
    """For an object no finding names: the namespace its file is deployed to (a production one
    when there are several: judge the worst case)."""
    namespaces = sorted({r.namespace for r in ctx.repo_index().renderings_of(file) if r.namespace})
    prod = [ns for ns in namespaces if ctx.policy.is_production(ns)]
    return (prod or namespaces or [None])[0]


def _workload(
    facts: ChangeFacts, ctx: ValidationContext, namespace: str | None, kind: str, name: str
) -> WorkloadFacts:
    key = workload_key(namespace, kind, name)
    if key in facts.workloads:
        return facts.workloads[key]
    wf = WorkloadFacts(key, namespace, kind, name)
    index = ctx.repo_index()
    site = find_workload(index, namespace, kind, name) if namespace else None
    if site is not None:
        data = site.effective()
        wf.site = site
        for path in ("metadata.labels", "spec.template.metadata.labels"):
            labels = get_value(data, parse_path(path))
            if isinstance(labels, dict):
                wf.labels.update({str(k): str(v) for k, v in labels.items()})
        wf.hpas = related(site, "HorizontalPodAutoscaler")
        wf.pdbs = related(site, "PodDisruptionBudget")
    elif name in index.charts:
        wf.hpas = _helm_autoscaling(ctx, index.charts[name], namespace)
    ns_policy = ctx.policy.namespaces
    env = next((wf.labels[k].lower() for k in ns_policy.env_labels if k in wf.labels), None)
    wf.is_prod = env in ("prod", "production") or ctx.policy.is_production(namespace)
    wf.protected = ctx.policy.is_protected(namespace)
    facts.workloads[key] = wf
    return wf


@dataclass(frozen=True)
class HelmAutoscaling:
    """A chart's ``autoscaling.enabled: true``: the chart renders an HPA for the workload."""

    name: str


def _helm_autoscaling(ctx: ValidationContext, folder: str, namespace: str | None) -> list[Any]:
    env = (namespace or "").rsplit("-", 1)[-1]
    enabled = False
    for rel in (f"{folder}/values.yaml", f"{folder}/values-{env}.yaml", f"{folder}/values-{namespace}.yaml"):
        file = ctx.repo / rel
        if file.is_file():
            try:
                data = load_documents(file.read_text(), rel)[0]
            except InputError:
                continue
            value = get_value(data, parse_path("autoscaling.enabled"))
            if isinstance(value, bool):
                enabled = value
    return [HelmAutoscaling(f"{folder} autoscaling")] if enabled else []


_CONTAINER_LISTS = ("containers", "initContainers")


def _container_list(tokens: tuple[Any, ...]) -> str:
    """The pod-spec list the changed path names (``initContainers`` for a native sidecar), so the
    base value and limits are read from the same list the patch edits; ``containers`` when the
    path names neither (e.g. a Helm values path)."""
    for token, nxt in zip(tokens, tokens[1:], strict=False):
        if isinstance(token, Key) and token.name in _CONTAINER_LISTS and isinstance(nxt, Named):
            return token.name
    return "containers"


def _current(
    owner: WorkloadFacts,
    before: Any,
    tokens: tuple[Any, ...],
    container: str | None,
    field: str,
    kind_list: str = "containers",
) -> Any:
    """The value before the change: in the patched document, else (a field new to this file, e.g.
    a new overlay patch) the workload's effective value from the repository."""
    value = get_value(before, tokens)
    if value is MISSING and owner.site is not None and container:
        value = get_value(
            owner.site.effective(),
            parse_path(f"spec.template.spec.{kind_list}[{container}].resources.{field}"),
        )
    return value


def _effective_resources(
    owner: WorkloadFacts, container: str | None, block: Any, kind_list: str = "containers"
) -> dict[str, dict[str, Decimal]]:
    """Requests/limits after the change: the repo's effective container resources, overlaid by
    the patched resources block."""
    merged: dict[str, dict[str, Any]] = {"requests": {}, "limits": {}}
    if owner.site is not None and container:
        current = get_value(
            owner.site.effective(), parse_path(f"spec.template.spec.{kind_list}[{container}].resources")
        )
        for src in (current, block):
            if isinstance(src, dict):
                for group in merged:
                    if isinstance(src.get(group), dict):
                        merged[group].update(src[group])
    elif isinstance(block, dict):
        for group in merged:
            if isinstance(block.get(group), dict):
                merged[group].update(block[group])
    out: dict[str, dict[str, Decimal]] = {"requests": {}, "limits": {}}
    for group, values in merged.items():
        for res in ("cpu", "memory"):
            q = _quantity(values.get(res, MISSING))
            if q is not None:
                out[group][res] = q
    return out


def _finding_container(change: PlannedChange, owner: WorkloadFacts) -> str | None:
    return next((f.target.get("container") for f in change.findings if finding_key(f) == owner.key), None)


def _finding_for(change: PlannedChange, key: str, container: str | None) -> Finding | None:
    matches = [f for f in change.findings if finding_key(f) == key]
    exact = [f for f in matches if f.target.get("container") == container]
    return (exact or matches or [None])[0]


def _quantity(value: Any) -> Decimal | None:
    if value is MISSING or value is None:
        return None
    try:
        return parse_quantity(value)
    except InputError:
        return None


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int_text(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
