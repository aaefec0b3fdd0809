"""Where a value is defined in a GitOps repository.

A workload's field may live in a plain manifest, in a kustomize base (possibly shared by several
overlays) or in an overlay's patch, in a Helm chart's values files, or (for LLM features) in the
AI routing config ``ai/routing.yaml``. A change must be made where the value is actually
defined: editing a base when an overlay patch overrides the field changes nothing, and editing a
shared base changes every overlay that renders it (reported in ``Location.shared_by``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gitops.kustomize import KUSTOMIZATION_FILES, Kustomization, Rendering
from gitops.repo import GitOpsRepo
from gitops.routing import ROUTING_FILE
from gitops.workloads import ObjectRef, WorkloadSite
from gitops.yaml_path import MISSING, get_value, parse_path

RepoIndex = GitOpsRepo  # former name: the index is the repository model
__all__ = [
    "ROUTING_FILE",
    "GitOpsRepo",
    "Kustomization",
    "Location",
    "ObjectRef",
    "Rendering",
    "RepoIndex",
    "WorkloadSite",
    "find_workload",
    "index_repo",
    "locate_field",
    "locate_helm_value",
    "locate_model",
    "related",
]


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


def index_repo(repo: Path) -> GitOpsRepo:
    """The repository model of ``repo`` (former name of ``GitOpsRepo.load``)."""
    return GitOpsRepo.load(repo)


def find_workload(index: GitOpsRepo, namespace: str, kind: str, name: str) -> WorkloadSite | None:
    """The workload ``kind/name`` as deployed in ``namespace``, or None."""
    return index.find_workload(namespace, kind, name)


def related(site: WorkloadSite, kind: str) -> list[ObjectRef]:
    """HPAs (by scaleTargetRef) or PDBs (by selector) that act on the workload in its namespace,
    chart-rendered ones included."""
    return site.index.related(site, kind)


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


def _kustomization_file(index: GitOpsRepo, folder: str) -> str:
    for name in KUSTOMIZATION_FILES:
        if f"{folder}/{name}" in index.files:
            return f"{folder}/{name}"
    return f"{folder}/kustomization.yaml"


def locate_helm_value(
    index: GitOpsRepo, chart: str, envs: list[str], templates: list[str]
) -> Location | None:
    """The most specific values file (``values-<env>.yaml`` for each env in turn, then
    ``values.yaml``) that defines one of the candidate value paths; if none does, the first
    candidate in values.yaml. ``chart`` is the chart's name (or its workload's name)."""
    found = next((c for c in index.helm_charts if c.name == chart), None) or next(
        (r.chart for r in index.releases if r.name == chart), None
    )
    if found is None:
        return None
    candidates = [found.env_files[env] for env in envs if env in found.env_files]
    candidates += [found.base_file] if found.base_file else []
    for rel in candidates:
        docs = index.files[rel][1] if rel in index.files else []
        data = docs[0] if docs else None
        for template in templates:
            if get_value(data, parse_path(template)) is not MISSING:
                return Location(path=rel, doc=0, field=template, source="helm-values")
    return Location(
        path=found.base_file or f"{found.folder}/values.yaml",
        doc=0,
        field=templates[0],
        source="helm-values",
        defined=False,
    )


def locate_model(index: GitOpsRepo, feature: str) -> Location | None:
    """Where a feature's model is set in the AI routing config."""
    features = (index.routing or {}).get("features")
    if not isinstance(features, dict) or feature not in features:
        return None
    return Location(path=ROUTING_FILE, doc=0, field=f"features.{feature}.model", source="routing")
