"""The one model of a GitOps repository: ``GitOpsRepo.load(root)``.

Right-sizing (through ``manifest_facts``), the playbook planner and the guardrails all read the
checkout through this model, so they see the same workloads, namespaces, HPAs and PDBs:

* kustomize overlays, including legacy ``bases:`` (``gitops.kustomize``);
* plain manifests (a file no kustomization renders; without ``metadata.namespace`` it deploys
  to ``default``);
* Helm charts, read from their values files (``gitops.helm``);
* the AI routing config ``ai/routing.yaml`` (``gitops.routing``).

Every file is parsed once, safely (``gitops.repo_files``); a file or object that cannot be used —
unsafe YAML, a symlink out of the repository, a name Kubernetes would refuse — is skipped with a
note in ``notes`` and the model goes on with everything else. A kustomized or plain workload wins
over a chart release of the same name in the same namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from domain.errors import ConfigError
from domain.manifests import WORKLOAD_KINDS, ManifestFacts, is_container_name, is_object_name
from gitops import helm
from gitops.kustomize import Kustomization, Rendering, is_kustomization, parse_kustomization, render
from gitops.repo_files import read_repo
from gitops.routing import ROUTING_FILE, routing_config
from gitops.workloads import ObjectRef, WorkloadSite, effective_labels, related_objects

__all__ = ["GitOpsRepo", "ObjectRef", "Rendering", "WorkloadSite"]

DEFAULT_NAMESPACE = "default"  # where ``kubectl apply`` puts an object that names no namespace


@dataclass
class GitOpsRepo:
    repo: Path
    objects: list[ObjectRef]
    patches: list[ObjectRef]
    renderings: list[Rendering]
    kustomizations: list[Kustomization]
    helm_charts: list[helm.Chart]
    releases: list[helm.ChartRelease]
    routing: dict[str, Any] | None
    notes: list[str]
    files: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)  # path → (text, documents)

    @classmethod
    def load(cls, root: Path) -> GitOpsRepo:
        """Parse the checkout at ``root`` (a missing folder gives an empty model)."""
        read = read_repo(root)
        notes = read.notes
        docs = {rel: d for rel, (_, d) in read.files.items()}
        kustomizations = [
            k
            for rel, d in docs.items()
            if is_kustomization(rel) and d and (k := parse_kustomization(rel, d[0], notes)) is not None
        ]
        patch_files = {p for k in kustomizations for p in k.patches}
        objects, patches = [], []
        for rel, items in docs.items():
            if is_kustomization(rel):
                continue
            for i, data in enumerate(items):
                ref = _object(rel, i, data, notes)
                if ref is not None:
                    (patches if rel in patch_files else objects).append(ref)
        charts = helm.find_charts(docs, notes)
        teams = helm.team_envs(kustomizations)
        releases = [r for c in charts for r in helm.releases(c, teams, notes)]
        routing = (docs.get(ROUTING_FILE) or [None])[0]
        return cls(
            read.root,
            objects,
            patches,
            render(kustomizations),
            kustomizations,
            charts,
            releases,
            routing if isinstance(routing, dict) else None,
            notes,
            read.files,
        )

    # --- files and objects ----------------------------------------------------------------

    @property
    def errors(self) -> list[str]:
        """Former name of ``notes``."""
        return self.notes

    def parsed(self, path: str, text: str) -> list[Any] | None:
        """The documents of ``path`` when ``text`` is what the model read (already checked)."""
        known = self.files.get(path)
        return known[1] if known is not None and known[0] == text else None

    def text_of(self, path: str) -> str | None:
        known = self.files.get(path)
        return known[0] if known is not None else None

    def renderings_of(self, path: str) -> list[Rendering]:
        return self._by_path.get(path, [])

    def objects_of(self, kind: str) -> list[ObjectRef]:
        return self._by_kind.get(kind.lower(), [])

    def patches_for(self, kind: str, name: str) -> list[ObjectRef]:
        """Patch documents (from kustomizations' patch files) that target ``kind/name``."""
        return self._patches_by_name.get((kind, name), [])

    @cached_property
    def charts(self) -> dict[str, str]:
        """Chart name → chart folder."""
        return {c.name: c.folder for c in self.helm_charts}

    @cached_property
    def patch_files(self) -> frozenset[str]:
        return frozenset(p.path for p in self.patches)

    def namespaces_of(self, obj: ObjectRef) -> list[tuple[str | None, Rendering | None]]:
        """Namespaces an object is deployed to: each rendering's, or its own."""
        homes = [(r.namespace or obj.namespace, r) for r in self.renderings_of(obj.path)]
        return homes or [(obj.namespace, None)]

    @cached_property
    def _by_path(self) -> dict[str, list[Rendering]]:
        out: dict[str, list[Rendering]] = {}
        for r in self.renderings:
            out.setdefault(r.file, []).append(r)
        return out

    @cached_property
    def _patches_by_name(self) -> dict[tuple[str, str], list[ObjectRef]]:
        out: dict[tuple[str, str], list[ObjectRef]] = {}
        for p in self.patches:
            out.setdefault((p.kind, p.name), []).append(p)
        return out

    @cached_property
    def _by_kind(self) -> dict[str, list[ObjectRef]]:
        out: dict[str, list[ObjectRef]] = {}
        for obj in self.objects:
            out.setdefault(obj.kind.lower(), []).append(obj)
        return out

    # --- workloads -----------------------------------------------------------------------

    def find_workload(self, namespace: str, kind: str, name: str) -> WorkloadSite | None:
        """The workload ``kind/name`` as deployed in ``namespace``: a kustomized or plain
        manifest first, else a chart release (a floating chart by the env its name carries)."""
        for obj in self.objects_of(kind):
            if obj.name != name:
                continue
            for ns, overlay in self.namespaces_of(obj):
                if (ns or DEFAULT_NAMESPACE) == namespace:
                    return self._site(obj, namespace, overlay)
        fixed = [r for r in self.releases if r.namespace == namespace and r.kind == kind and r.name == name]
        if fixed:
            return self._release_site(fixed[0], namespace)
        floating = [r for r in self.releases if r.namespace is None and r.kind == kind and r.name == name]
        if floating:
            env = helm.infer_env(floating[0].chart, namespace)
            match = next((r for r in floating if r.env == env), None) or next(
                (r for r in floating if r.env is None), None
            )
            if match is not None:
                return self._release_site(match, namespace)
        return None

    def workload_sites(self) -> list[WorkloadSite]:
        """Every workload in every namespace the repository names for it (floating chart
        releases, which name none, are left out), each once."""
        out: dict[tuple[str, str, str], WorkloadSite] = {}
        for obj in self.objects:
            if obj.kind not in WORKLOAD_KINDS:
                continue
            for ns, overlay in self.namespaces_of(obj):
                key = (ns or DEFAULT_NAMESPACE, obj.kind, obj.name)
                out.setdefault(key, self._site(obj, key[0], overlay))
        for r in self.releases:
            if r.namespace is not None:
                out.setdefault((r.namespace, r.kind, r.name), self._release_site(r, r.namespace))
        return [out[k] for k in sorted(out)]

    def related(self, site: WorkloadSite, kind: str) -> list[ObjectRef]:
        """HPAs (by scaleTargetRef) or PDBs (by selector) acting on the workload in its
        namespace: manifests of the repository and the ones its chart's values render."""
        candidates = [
            (obj, [ns or DEFAULT_NAMESPACE for ns, _ in self.namespaces_of(obj)])
            for obj in self.objects_of(kind)
        ]
        found = related_objects(site, kind, candidates)
        if site.release is not None and kind in site.release.objects:
            found.append(
                ObjectRef(
                    site.release.files[kind],
                    0,
                    kind,
                    site.release.name,
                    site.namespace,
                    site.release.objects[kind],
                )
            )
        return found

    def manifest_facts(self, namespaces: list[str] | None = None) -> ManifestFacts:
        """Containers and autoscalers of every workload, as domain facts for the tools;
        ``namespaces`` (e.g. those with utilization samples) also resolve floating charts."""
        from gitops.facts import manifest_facts

        return manifest_facts(self, namespaces)

    def _site(self, obj: ObjectRef, namespace: str, overlay: Rendering | None) -> WorkloadSite:
        patches = tuple(
            p for p in self.patches_for(obj.kind, obj.name) if overlay and p.path in overlay.patches
        )
        return WorkloadSite(obj, namespace, overlay, patches, self)

    def _release_site(self, release: helm.ChartRelease, namespace: str) -> WorkloadSite:
        data = release.objects["workload"]
        obj = ObjectRef(release.files["workload"], 0, release.kind, release.name, namespace, data)
        return WorkloadSite(obj, namespace, None, (), self, release)

    def labels_of(self, site: WorkloadSite) -> dict[str, str]:
        return effective_labels(site)

    def routing_config(self) -> dict[str, Any]:
        """The checked AI routing config; ConfigError naming the file when it is missing,
        was skipped as unsafe, or lacks ``models:`` / ``features:``."""
        if ROUTING_FILE not in self.files:
            skipped = next((n for n in self.notes if n.startswith(ROUTING_FILE)), None)
            raise ConfigError(
                skipped
                or f"{self.repo / ROUTING_FILE}: no AI routing config (expected models: and features:)"
            )
        return routing_config(self.routing, ROUTING_FILE)


def _object(rel: str, doc: int, data: Any, notes: list[str]) -> ObjectRef | None:
    """The Kubernetes object of one document, or None; an object whose names Kubernetes would
    refuse is skipped with a note (names go into field paths, file names and diff headers)."""
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return None
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name, namespace = meta.get("name"), meta.get("namespace")
    bad = []
    if name is not None and not is_object_name(name):
        bad.append(f"name {name!r}")
    if namespace is not None and not is_object_name(namespace):
        bad.append(f"namespace {namespace!r}")
    if data["kind"] in WORKLOAD_KINDS:
        bad.extend(f"container name {c!r}" for c in _container_names(data) if not is_container_name(c))
    ref = (data.get("spec") or {}).get("scaleTargetRef") if isinstance(data.get("spec"), dict) else None
    if isinstance(ref, dict) and ref.get("name") is not None and not is_object_name(ref.get("name")):
        bad.append(f"scaleTargetRef name {ref.get('name')!r}")
    if bad:
        where = f"{rel}#{doc}" if doc else rel
        notes.append(f"{where}: {data['kind']} skipped: not a valid Kubernetes name: {', '.join(bad)}")
        return None
    return ObjectRef(rel, doc, data["kind"], str(name or ""), namespace, data)


def _container_names(data: dict[str, Any]) -> list[Any]:
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    if data.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    pod = (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    if not isinstance(pod, dict):
        return []
    return [
        c.get("name")
        for section in ("containers", "initContainers")
        for c in (pod.get(section) or [])
        if isinstance(c, dict) and "name" in c
    ]
