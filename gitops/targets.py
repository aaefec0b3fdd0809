"""Where a value is defined in a GitOps repository.

A workload's field may live in a plain manifest, in a kustomize base (possibly shared by several
overlays) or in an overlay's patch, in a Helm chart's values files, or (for LLM features) in the
AI routing config ``ai/routing.yaml``. A change must be made where the value is actually
defined: editing a base when an overlay patch overrides the field changes nothing, and editing a
shared base changes every overlay that renders it (reported in ``Location.shared_by``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InputError
from domain.strategic_merge import strategic_merge
from gitops.yaml_patch import PatchError, load_documents, resolve_in_repo
from gitops.yaml_path import MISSING, get_value, parse_path

ROUTING_FILE = "ai/routing.yaml"
_SKIP_DIRS = {".git", ".costpilot", "node_modules", "templates"}
_KUSTOMIZATION = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class Location(BaseModel):
    """One field of one document of one file (paths relative to the repo root)."""

    model_config = ConfigDict(frozen=True)

    path: str
    doc: int
    field: str
    source: str = Field(description="manifest | kustomize-base | kustomize-patch | helm-values | routing")
    shared_by: list[str] = Field(default_factory=list, description="other overlays rendering this file")
    defined: bool = Field(True, description="False when the field is absent and will be created")
    new_patch_of: str | None = Field(
        None, description="Kind/name: create this strategic-merge patch file for the workload"
    )
    kustomization: str | None = Field(None, description="kustomization file that must list the new patch")


@dataclass(frozen=True)
class ObjectRef:
    path: str
    doc: int
    kind: str
    name: str
    namespace: str | None
    data: dict[str, Any]


@dataclass
class Kustomization:
    """One kustomization file as written: its namespace, resources, patch files and labels."""

    folder: str
    namespace: str | None
    resources: list[str] = field(default_factory=list)
    patches: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendering:
    """One file as a top-level kustomization renders it: namespace (the outermost one set wins,
    as in kustomize), labels and the patch files of every level above it."""

    file: str
    root: str
    namespace: str | None
    labels: tuple[tuple[str, str], ...]
    patches: tuple[str, ...]
    home: str | None = None  # the kustomization folder that sets the namespace

    @property
    def name(self) -> str:
        return f"{self.root} ({self.namespace or 'no namespace'})"


@dataclass
class RepoIndex:
    repo: Path
    objects: list[ObjectRef]
    patches: list[ObjectRef]
    renderings: list[Rendering]
    charts: dict[str, str]
    routing: dict[str, Any] | None
    errors: list[str]
    files: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)  # path → (text, documents)

    def parsed(self, path: str, text: str) -> list[Any] | None:
        """The documents of ``path`` when ``text`` is what the index read (already checked)."""
        known = self.files.get(path)
        return known[1] if known is not None and known[0] == text else None

    def renderings_of(self, path: str) -> list[Rendering]:
        return self._by_path.get(path, [])

    def objects_of(self, kind: str) -> list[ObjectRef]:
        return self._by_kind.get(kind.lower(), [])

    @cached_property
    def _by_path(self) -> dict[str, list[Rendering]]:
        out: dict[str, list[Rendering]] = {}
        for r in self.renderings:
            out.setdefault(r.file, []).append(r)
        return out

    def patches_for(self, kind: str, name: str) -> list[ObjectRef]:
        """Patch documents (from kustomizations' patch files) that target ``kind/name``."""
        return self._patches_by_name.get((kind, name), [])

    @cached_property
    def patch_files(self) -> frozenset[str]:
        return frozenset(p.path for p in self.patches)

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

    def namespaces_of(self, obj: ObjectRef) -> list[tuple[str | None, Rendering | None]]:
        """Namespaces an object is deployed to: each rendering's, or its own."""
        homes = [(r.namespace or obj.namespace, r) for r in self.renderings_of(obj.path)]
        return homes or [(obj.namespace, None)]


@dataclass(frozen=True)
class WorkloadSite:
    """A workload as deployed in one namespace: its defining object and the overlay patches."""

    obj: ObjectRef
    namespace: str | None
    overlay: Rendering | None
    patches: tuple[ObjectRef, ...]
    index: RepoIndex

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


def index_repo(repo: Path) -> RepoIndex:
    """Parse every YAML file of the repo once (unsafe or broken files are listed, not fatal)."""
    repo = repo.resolve()
    docs: dict[str, list[Any]] = {}
    texts: dict[str, str] = {}
    errors: list[str] = []
    for file in sorted(repo.rglob("*")):
        rel = file.relative_to(repo).as_posix()
        if file.suffix not in (".yaml", ".yml") or _SKIP_DIRS & set(Path(rel).parts[:-1]):
            continue
        try:
            resolve_in_repo(repo, rel)
            texts[rel] = file.read_text()
            docs[rel] = load_documents(texts[rel], rel)
        except (PatchError, InputError, OSError, UnicodeDecodeError) as exc:
            errors.append(str(exc))
    kustomizations = [
        _kustomization(rel, d[0]) for rel, d in docs.items() if Path(rel).name in _KUSTOMIZATION and d
    ]
    patch_files = {p for k in kustomizations for p in k.patches}
    objects, patches = [], []
    for rel, items in docs.items():
        for i, data in enumerate(items):
            if isinstance(data, dict) and isinstance(data.get("kind"), str):
                meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
                ref = ObjectRef(rel, i, data["kind"], str(meta.get("name", "")), meta.get("namespace"), data)
                (patches if rel in patch_files else objects).append(ref)
    charts = {}
    for rel, items in docs.items():
        if Path(rel).name == "Chart.yaml" and items and isinstance(items[0], dict):
            charts[str(items[0].get("name") or Path(rel).parent.name)] = Path(rel).parent.as_posix()
    routing = docs.get(ROUTING_FILE, [None])[0]
    return RepoIndex(
        repo,
        objects,
        patches,
        _render(kustomizations),
        charts,
        routing if isinstance(routing, dict) else None,
        errors,
        {rel: (texts[rel], d) for rel, d in docs.items()},
    )


def find_workload(index: RepoIndex, namespace: str, kind: str, name: str) -> WorkloadSite | None:
    """The workload ``kind/name`` as deployed in ``namespace``, or None."""
    for obj in index.objects_of(kind):
        if obj.name != name:
            continue
        for ns, overlay in index.namespaces_of(obj):
            if ns == namespace or (ns is None and overlay is None):
                patches = tuple(
                    p for p in index.patches_for(obj.kind, obj.name) if overlay and p.path in overlay.patches
                )
                return WorkloadSite(obj, namespace, overlay, patches, index)
    return None


def locate_field(
    site: WorkloadSite, field_path: str, protect: Callable[[str | None], bool] | None = None
) -> Location:
    """The file and document where ``field_path`` of the workload is (or should be) defined.

    The overlay patch wins when it sets the field (or its parent resources block); otherwise
    the defining manifest, whose other renderers are listed in ``shared_by`` — unless that
    manifest is a shared base that a ``protect``-ed namespace (production) also renders without
    overriding the field: then a new patch file in this namespace's overlay is proposed.
    """
    tokens = parse_path(field_path)
    for patch in reversed(site.patches):
        for depth in (len(tokens), len(tokens) - 1):
            if get_value(patch.data, tokens[:depth]) is not MISSING:
                defined = get_value(patch.data, tokens) is not MISSING
                return Location(
                    path=patch.path,
                    doc=patch.doc,
                    field=field_path,
                    source="kustomize-patch",
                    defined=defined,
                )
    homes = site.index.renderings_of(site.obj.path)
    others = sorted(r.name for r in homes if r != site.overlay)
    leaks = [
        r
        for r in homes
        if r != site.overlay
        and protect is not None
        and protect(r.namespace)
        and not _overrides(site, r, tokens)
    ]
    if leaks and site.overlay is not None and site.overlay.home:
        # Editing the shared base would also change a protected (production) rendering that does
        # not override the field: the change goes into a new patch of this namespace's overlay.
        home = site.overlay.home
        return Location(
            path=f"{home}/patches/costpilot-{site.obj.kind.lower()}-{site.obj.name}.yaml",
            doc=0,
            field=field_path,
            source="kustomize-new-patch",
            defined=False,
            new_patch_of=f"{site.obj.kind}/{site.obj.name}",
            kustomization=_kustomization_file(site.index, home),
        )
    return Location(
        path=site.obj.path,
        doc=site.obj.doc,
        field=field_path,
        source="kustomize-base" if homes else "manifest",
        shared_by=others,
        defined=get_value(site.obj.data, tokens) is not MISSING,
    )


def _overrides(site: WorkloadSite, rendering: Rendering, tokens: tuple[Any, ...]) -> bool:
    patches = [p for p in site.index.patches_for(site.obj.kind, site.obj.name) if p.path in rendering.patches]
    return any(get_value(p.data, tokens) is not MISSING for p in patches)


def _kustomization_file(index: RepoIndex, folder: str) -> str:
    for name in _KUSTOMIZATION:
        if (index.repo / folder / name).is_file():
            return f"{folder}/{name}"
    return f"{folder}/kustomization.yaml"


def related(site: WorkloadSite, kind: str) -> list[ObjectRef]:
    """HPAs (by scaleTargetRef) or PDBs (by selector) that act on the workload in its namespace."""
    pod_labels = get_value(site.effective(), parse_path("spec.template.metadata.labels"))
    out = []
    for obj in site.index.objects_of(kind):
        if site.namespace not in [ns for ns, _ in site.index.namespaces_of(obj)] + [None]:
            continue
        if kind == "HorizontalPodAutoscaler":
            ref = obj.data.get("spec", {}).get("scaleTargetRef", {})
            if ref.get("name") == site.obj.name and ref.get("kind", site.obj.kind) == site.obj.kind:
                out.append(obj)
        elif kind == "PodDisruptionBudget":
            want = get_value(obj.data, parse_path("spec.selector.matchLabels"))
            matches = isinstance(want, dict) and want and isinstance(pod_labels, dict)
            if matches and all(pod_labels.get(k) == v for k, v in want.items()):
                out.append(obj)
    return out


def locate_helm_value(index: RepoIndex, chart: str, envs: list[str], templates: list[str]) -> Location | None:
    """The most specific values file (``values-<env>.yaml`` for each env in turn, then
    ``values.yaml``) that defines one of the candidate value paths; if none does, the first
    candidate in values.yaml."""
    folder = index.charts.get(chart)
    if folder is None:
        return None
    candidates = [f"{folder}/values-{env}.yaml" for env in envs]
    candidates.append(f"{folder}/values.yaml")
    for rel in candidates:
        file = index.repo / rel
        if not file.is_file():
            continue
        data = load_documents(file.read_text(), rel)[0] or {}
        for template in templates:
            if get_value(data, parse_path(template)) is not MISSING:
                return Location(path=rel, doc=0, field=template, source="helm-values")
    return Location(
        path=f"{folder}/values.yaml", doc=0, field=templates[0], source="helm-values", defined=False
    )


def locate_model(index: RepoIndex, feature: str) -> Location | None:
    """Where a feature's model is set in the AI routing config."""
    features = (index.routing or {}).get("features")
    if not isinstance(features, dict) or feature not in features:
        return None
    return Location(path=ROUTING_FILE, doc=0, field=f"features.{feature}.model", source="routing")


def _kustomization(rel: str, data: Any) -> Kustomization:
    folder = Path(rel).parent
    data = data if isinstance(data, dict) else {}
    resources = [
        _norm(folder, r) for r in data.get("resources") or data.get("bases") or [] if isinstance(r, str)
    ]
    patches = [_norm(folder, p) for p in data.get("patchesStrategicMerge") or [] if isinstance(p, str)]
    for item in data.get("patches") or []:
        path = item.get("path") if isinstance(item, dict) else item
        if isinstance(path, str):
            patches.append(_norm(folder, path))
    labels = {str(k): str(v) for k, v in (data.get("commonLabels") or {}).items()}
    for item in data.get("labels") or []:
        if isinstance(item, dict) and isinstance(item.get("pairs"), dict):
            labels.update({str(k): str(v) for k, v in item["pairs"].items()})
    return Kustomization(folder.as_posix(), data.get("namespace"), resources, patches, labels)


def _norm(folder: Path, rel: str) -> str:
    import posixpath

    return posixpath.normpath((folder / rel).as_posix())


def _render(kustomizations: list[Kustomization]) -> list[Rendering]:
    """Every file rendered by every top-level kustomization (one not included by another)."""
    by_folder = {k.folder: k for k in kustomizations}
    included = {r for k in kustomizations for r in k.resources if r in by_folder}
    out: list[Rendering] = []

    def walk(
        folder: str,
        root: str,
        ns: str | None,
        labels: dict[str, str],
        patches: tuple[str, ...],
        seen: frozenset[str],
        home: str | None = None,
    ) -> None:
        k = by_folder[folder]
        # The outer kustomization's namespace and labels are applied last, so they win.
        if ns is None and k.namespace:
            home = folder
        ns = ns or k.namespace
        labels = {**k.labels, **labels}
        patches = (*k.patches, *patches)
        for res in k.resources:
            if res in by_folder:
                if res not in seen:
                    walk(res, root, ns, labels, patches, seen | {res}, home)
            else:
                out.append(Rendering(res, root, ns, tuple(sorted(labels.items())), patches, home))

    for k in kustomizations:
        if k.folder not in included:
            walk(k.folder, k.folder, None, {}, (), frozenset({k.folder}))
    return out
