"""The documents a change creates or modifies, as Gatekeeper's admission-review inputs.

A policy judges what the cluster would receive, so a workload is rendered as deployed: a change
to a kustomize overlay's patch is the patched workload in the overlay's namespace (never the
partial patch alone), a change to a base manifest is that manifest as each overlay renders it.
Kustomizations and Helm values files are not Kubernetes objects and are not sent; a document
that is unchanged (a comment-only edit) is not sent either.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitops.repo import GitOpsRepo
    from gitops.workloads import ObjectRef, WorkloadSite
    from guardrails.fact_types import FileFacts

_NOT_OBJECTS = frozenset({"Kustomization", "Component"})


@dataclass(frozen=True)
class AdmissionDocument:
    """One object as the API server would be asked to admit it."""

    file: str
    doc: int
    operation: str  # CREATE | UPDATE
    kind: str
    name: str
    namespace: str | None
    object: dict[str, Any]
    old_object: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace or '-'}/{self.kind}/{self.name}"

    def review(self, with_old_object: bool = True) -> dict[str, Any]:
        """``input`` for the policies: ``input.request.kind.kind``, ``input.request.object`` …
        (``oldObject`` is None unless ``with_old_object``: it doubles the input's size)."""
        api = str(self.object.get("apiVersion") or "v1")
        group, _, version = api.rpartition("/")
        return {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": f"costpilot:{self.file}#{self.doc}:{self.key}",
                "kind": {"group": group, "version": version, "kind": self.kind},
                "name": self.name,
                "namespace": self.namespace,
                "operation": self.operation,
                "object": self.object,
                "oldObject": self.old_object if with_old_object else None,
                "dryRun": True,
                "userInfo": {"username": "costpilot"},
            },
        }


def _is_object(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("kind"), str) and doc["kind"] not in _NOT_OBJECTS


def _ident(doc: dict[str, Any]) -> tuple[str, str, str]:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return str(doc.get("kind")), str(meta.get("name") or ""), str(meta.get("namespace") or "")


def _in_namespace(data: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    """``data`` with ``metadata.namespace`` set as kustomize would (a copy; the input is shared)."""
    if namespace is None:
        return data
    out = dict(data)
    meta = dict(out.get("metadata") or {}) if isinstance(out.get("metadata"), dict) else {}
    meta["namespace"] = namespace
    out["metadata"] = meta
    return out


@dataclass
class _Sites:
    by_object: dict[tuple[str, str, str], list[WorkloadSite]]  # (path, kind, name) → sites
    by_patch: dict[tuple[str, str, str], list[WorkloadSite]]
    objects: dict[tuple[str, str, str], ObjectRef]


_CACHE: dict[int, tuple[weakref.ref[Any], _Sites]] = {}
_LOCK = threading.Lock()


def _sites(index: GitOpsRepo) -> _Sites:
    key = id(index)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0]() is index:
            return hit[1]
    found = _Sites({}, {}, {})
    for site in index.workload_sites():
        if site.release is not None:
            continue
        found.by_object.setdefault((site.obj.path, site.obj.kind, site.obj.name), []).append(site)
        for p in site.patches:
            found.by_patch.setdefault((p.path, p.kind, p.name), []).append(site)
    for obj in index.objects:
        found.objects.setdefault((obj.path, obj.kind, obj.name), obj)
    with _LOCK:
        _CACHE[key] = (weakref.ref(index, lambda _r, k=key, cache=_CACHE: cache.pop(k, None)), found)
    return found


def changed_documents(
    files: list[FileFacts], index: GitOpsRepo, new_files: set[str] | frozenset[str] = frozenset()
) -> list[AdmissionDocument]:
    """Every object the parsed ``files`` create or modify, rendered as deployed (see above)."""
    sites = _sites(index)
    out: list[AdmissionDocument] = []
    for ff in files:
        if ff.after is None:
            continue
        befores = [] if ff.path in new_files or ff.before is None else ff.before
        by_ident = {_ident(d): d for d in befores if _is_object(d)}
        for i, after in enumerate(ff.after):
            if not _is_object(after):
                continue
            ident = _ident(after)
            before = by_ident.get(ident)
            if before is not None and before == after:
                continue
            out.extend(_rendered(ff.path, i, after, before, sites, index))
    return out


def _rendered(
    path: str,
    doc: int,
    after: dict[str, Any],
    before: dict[str, Any] | None,
    sites: _Sites,
    index: GitOpsRepo,
) -> list[AdmissionDocument]:
    kind, name, own_ns = _ident(after)
    key = (path, kind, name)
    out = []
    if path in index.patch_files:
        # A patch alone is a partial object: judge each workload it patches, as patched.
        for site in sites.by_patch.get(key, []):
            patches = tuple(
                dataclasses.replace(p, data=after) if (p.path, p.name) == (path, name) else p
                for p in site.patches
            )
            changed = dataclasses.replace(site, patches=patches)
            out.append(
                _document(path, doc, "UPDATE", site.obj.kind, site.obj.name, site.namespace, changed, site)
            )
        return out
    if before is not None and key in sites.by_object:
        for site in sites.by_object[key]:
            changed = dataclasses.replace(site, obj=dataclasses.replace(site.obj, data=after))
            out.append(_document(path, doc, "UPDATE", kind, name, site.namespace, changed, site))
        return out
    obj = sites.objects.get(key) if before is not None else None
    homes = [ns for ns, _ in index.namespaces_of(obj)] if obj is not None else [own_ns or None]
    for ns in homes:
        out.append(
            AdmissionDocument(
                path,
                doc,
                "UPDATE" if before is not None else "CREATE",
                kind,
                name,
                ns,
                _in_namespace(after, ns),
                _in_namespace(before, ns) if before is not None else None,
            )
        )
    return out


def _document(
    path: str,
    doc: int,
    op: str,
    kind: str,
    name: str,
    ns: str | None,
    changed: WorkloadSite,
    base: WorkloadSite,
) -> AdmissionDocument:
    return AdmissionDocument(
        path,
        doc,
        op,
        kind,
        name,
        ns,
        _in_namespace(changed.effective(), ns),
        _in_namespace(base.effective(), ns),
    )
