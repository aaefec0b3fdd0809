"""Just enough of ``kustomize build`` to know where each manifest is deployed.

A kustomization lists ``resources`` (and, in the legacy form, ``bases``: the same thing),
strategic-merge patch files (``patches[].path``, ``patchesStrategicMerge``), a ``namespace`` and
labels (``commonLabels``, ``labels[].pairs``). Rendering walks each top-level kustomization (one
no other includes) down through the folders it includes; the outermost namespace and labels win,
as in kustomize. Each manifest file reached becomes a ``Rendering``: the same base file rendered
by dev, staging and prod overlays has three.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.manifests import is_object_name
from gitops.yaml_load import has_control_chars

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass
class Kustomization:
    """One kustomization file as written: its namespace, resources, patch files and labels."""

    folder: str
    namespace: str | None
    resources: list[str] = field(default_factory=list)
    patches: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    file: str = ""


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


def is_kustomization(path: str) -> bool:
    return Path(path).name in KUSTOMIZATION_FILES


def parse_kustomization(rel: str, data: Any, notes: list[str]) -> Kustomization | None:
    """The kustomization in file ``rel``; None (with a note) when its namespace is not a valid
    Kubernetes namespace, since every object it renders would land in it."""
    folder = Path(rel).parent
    data = data if isinstance(data, dict) else {}
    namespace = data.get("namespace")
    if namespace is not None and not is_object_name(namespace):
        notes.append(f"{rel}: namespace {_shown(namespace)} is not a valid Kubernetes namespace; skipped")
        return None
    # Legacy kustomizations list their bases under ``bases:`` (kustomize < 2.1); both count.
    entries = [*(data.get("bases") or []), *(data.get("resources") or [])]
    resources = [_norm(folder, r) for r in entries if isinstance(r, str) and not has_control_chars(r)]
    patches = [_norm(folder, p) for p in data.get("patchesStrategicMerge") or [] if isinstance(p, str)]
    for item in data.get("patches") or []:
        path = item.get("path") if isinstance(item, dict) else item
        if isinstance(path, str):
            patches.append(_norm(folder, path))
    pairs = [data.get("commonLabels")] + [
        item.get("pairs") for item in data.get("labels") or [] if isinstance(item, dict)
    ]
    labels: dict[str, str] = {}
    for mapping in pairs:
        for key, value in (mapping or {}).items() if isinstance(mapping, dict) else ():
            if has_control_chars(str(key)) or has_control_chars(str(value)):
                notes.append(f"{rel}: label {_shown(str(key))} holds a control character; ignored")
                continue
            labels[str(key)] = str(value)
    return Kustomization(folder.as_posix(), namespace, resources, patches, labels, rel)


def _norm(folder: Path, rel: str) -> str:
    return posixpath.normpath((folder / rel).as_posix())


def _shown(value: object) -> str:
    return repr(value) if not isinstance(value, str) or has_control_chars(value) else value


def render(kustomizations: list[Kustomization]) -> list[Rendering]:
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
