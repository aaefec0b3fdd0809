"""A changed file that several environments render: what the change does to each of them.

A kustomize base shared by dev and staging changes both. The findings behind a change carry the
evidence of the environment they were found in only, so every other rendering of a changed file
is worked out here — its effective resources before and after (the base with that overlay's own
patches applied) — and judged against that environment's own observed usage
(``ValidationContext.usage``) by ``above-observed-peak``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.errors import InputError
from domain.manifests import WORKLOAD_KINDS
from domain.quantity import parse_quantity
from domain.strategic_merge import strategic_merge
from gitops.kustomize import Rendering
from guardrails.context import ValidationContext, workload_key
from guardrails.fact_types import ChangeFacts

DEFAULT_NAMESPACE = "default"
_LISTS = ("containers", "initContainers")


@dataclass(frozen=True)
class RenderedChange:
    """One CPU/memory value of one container, as another rendering of a changed file gets it."""

    rendering: Rendering
    namespace: str
    kind: str
    name: str
    container: str
    group: str  # requests | limits
    resource: str  # cpu (cores) | memory (bytes)
    before: Decimal | None
    after: Decimal | None

    @property
    def label(self) -> str:
        return (
            f"{self.rendering.name}: {self.kind}/{self.name} container {self.container} "
            f"{self.resource} {self.group.rstrip('s')}"
        )


def other_renderings(ctx: ValidationContext, facts: ChangeFacts) -> list[RenderedChange]:
    """Every CPU/memory value the change alters in a rendering that no resource change of its
    own already judges (the finding's environment is judged with the finding's evidence)."""
    repo = ctx.repo_index()
    judged = {rc.workload for rc in facts.resources}
    out: list[RenderedChange] = []
    for ff in facts.files:
        homes = repo.renderings_of(ff.path)
        if len(homes) < 2 or ff.before is None or ff.after is None:
            continue
        for doc in ff.after:
            ident = _identity(doc)
            if ident is None:
                continue
            kind, name, own_ns = ident
            before_doc = next((d for d in ff.before if _identity(d) == ident), None)
            if before_doc is None:
                continue
            for rendering in homes:
                namespace = rendering.namespace or own_ns or DEFAULT_NAMESPACE
                if workload_key(namespace, kind, name) in judged:
                    continue
                patches = _patches(ctx, rendering, namespace, kind, name, ff.path)
                out.extend(_diff(rendering, namespace, kind, name, before_doc, doc, patches))
    return out


def _identity(doc: Any) -> tuple[str, str, str | None] | None:
    if not isinstance(doc, dict) or doc.get("kind") not in WORKLOAD_KINDS:
        return None
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = meta.get("name")
    if not isinstance(name, str):
        return None
    ns = meta.get("namespace")
    return str(doc["kind"]), name, ns if isinstance(ns, str) else None


def _patches(
    ctx: ValidationContext, rendering: Rendering, namespace: str, kind: str, name: str, path: str
) -> list[Any]:
    """The overlay patches this rendering applies to the object (they win over the base)."""
    site = ctx.repo_index().find_workload(namespace, kind, name)
    if site is None or site.obj.path != path:
        return []
    return [p.data for p in site.patches if p.path in rendering.patches]


def _effective(doc: Any, patches: list[Any]) -> Any:
    data = copy.deepcopy(doc)
    for patch in patches:
        data = strategic_merge(data, patch)
    return data


def _containers(doc: Any) -> dict[str, dict[str, Any]]:
    spec = doc.get("spec") if isinstance(doc, dict) and isinstance(doc.get("spec"), dict) else {}
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    pod = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    out: dict[str, dict[str, Any]] = {}
    for section in _LISTS:
        for c in pod.get(section) or []:
            if isinstance(c, dict) and isinstance(c.get("name"), str):
                res = c.get("resources")
                out[c["name"]] = res if isinstance(res, dict) else {}
    return out


def _quantity(block: dict[str, Any], group: str, resource: str) -> Decimal | None:
    values = block.get(group)
    if not isinstance(values, dict) or values.get(resource) is None:
        return None
    try:
        return parse_quantity(values[resource])
    except InputError:  # an unparsable value is the schema rule's to judge
        return None


def _diff(
    rendering: Rendering,
    namespace: str,
    kind: str,
    name: str,
    before_doc: Any,
    after_doc: Any,
    patches: list[Any],
) -> list[RenderedChange]:
    before = _containers(_effective(before_doc, patches))
    after = _containers(_effective(after_doc, patches))
    out = []
    for container, block in after.items():
        old = before.get(container, {})
        for group in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                a, b = _quantity(block, group, resource), _quantity(old, group, resource)
                if a is not None and a != b:
                    out.append(
                        RenderedChange(rendering, namespace, kind, name, container, group, resource, b, a)
                    )
    return out
