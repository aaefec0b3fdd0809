"""Objects of the repository model and workloads as deployed: their effective spec, labels, and
the HPAs and PDBs that act on them."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from domain.strategic_merge import strategic_merge
from gitops.kustomize import Rendering
from gitops.yaml_path import get_value, parse_path

if TYPE_CHECKING:
    from gitops.helm import ChartRelease
    from gitops.repo import GitOpsRepo

_POD_LABELS = parse_path("spec.template.metadata.labels")


@dataclass(frozen=True)
class ObjectRef:
    """One Kubernetes object: the file and document that define it (for a chart, the values
    file its values come from), and its data as written."""

    path: str
    doc: int
    kind: str
    name: str
    namespace: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class WorkloadSite:
    """A workload as deployed in one namespace: its defining object and the overlay patches,
    or the chart release that renders it."""

    obj: ObjectRef
    namespace: str | None
    overlay: Rendering | None
    patches: tuple[ObjectRef, ...]
    index: GitOpsRepo
    release: ChartRelease | None = None

    @property
    def source(self) -> str:
        """helm | kustomize | manifest"""
        if self.release is not None:
            return "helm"
        return "kustomize" if self.overlay is not None else "manifest"

    def effective(self) -> dict[str, Any]:
        """The object with the overlay's strategic-merge patches applied (containers by name);
        computed once per site (callers read it, never mutate it)."""
        return self._effective

    @cached_property
    def _effective(self) -> dict[str, Any]:
        data = copy.deepcopy(self.obj.data)
        for patch in self.patches:
            data = strategic_merge(data, patch.data)
        if self.overlay is not None and self.overlay.labels:
            meta = data.setdefault("metadata", {})
            if isinstance(meta, dict):
                meta["labels"] = {**(meta.get("labels") or {}), **dict(self.overlay.labels)}
        return data


def effective_labels(site: WorkloadSite) -> dict[str, str]:
    """The workload's labels and its pod template's, as strings (pod labels win)."""
    out: dict[str, str] = {}
    data = site.effective()
    for path in (parse_path("metadata.labels"), _POD_LABELS):
        labels = get_value(data, path)
        if isinstance(labels, dict):
            out.update({str(k): str(v) for k, v in labels.items()})
    return out


def related_objects(
    site: WorkloadSite, kind: str, candidates: list[tuple[ObjectRef, list[str]]]
) -> list[ObjectRef]:
    """Of ``candidates`` (object, namespaces it is deployed to), the HPAs whose scaleTargetRef
    names the workload, or the PDBs whose selector matches its pod labels, in its namespace."""
    pod_labels = get_value(site.effective(), _POD_LABELS)
    out = []
    for obj, namespaces in candidates:
        if site.namespace is not None and site.namespace not in namespaces:
            continue
        if kind == "HorizontalPodAutoscaler":
            spec = obj.data.get("spec") if isinstance(obj.data.get("spec"), dict) else {}
            ref = spec.get("scaleTargetRef") if isinstance(spec.get("scaleTargetRef"), dict) else {}
            if ref.get("name") == site.obj.name and ref.get("kind", site.obj.kind) == site.obj.kind:
                out.append(obj)
        elif kind == "PodDisruptionBudget":
            want = get_value(obj.data, parse_path("spec.selector.matchLabels"))
            matches = isinstance(want, dict) and want and isinstance(pod_labels, dict)
            if matches and all(pod_labels.get(k) == v for k, v in want.items()):
                out.append(obj)
    return out
