"""What each changed field means, by classifier name: a model switch, a resource value, a
replica count (workload, HPA, chart values, kube-downscaler annotations).

``CLASSIFIERS`` is tried in order; the first whose ``applies`` holds records the leaf. Each
classifier says what it matches and how to read it, so a new kind of change is one entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from domain.changes import PlannedChange
from domain.errors import InputError
from domain.findings import Finding
from domain.manifests import REPLICATED_KINDS, WORKLOAD_KINDS
from domain.quantity import parse_quantity
from gitops.routing import ROUTING_FILE
from gitops.yaml_path import MISSING, Key, Named, Token, get_value, parse_path
from guardrails.context import ValidationContext, finding_key
from guardrails.fact_types import ChangeFacts, Leaf, ModelChange, ReplicaChange, ResourceChange, WorkloadFacts
from guardrails.workload_context import owner

_RESOURCE = re.compile(r"resources\.(requests|limits)\.(cpu|memory)$")
_MODEL = re.compile(r"^features\.([^.\[\]]+)\.model$")
_CONTAINER_LISTS = ("containers", "initContainers")


@dataclass
class LeafContext:
    """One changed leaf with the documents around it; the owning workload is looked up once."""

    facts: ChangeFacts
    ctx: ValidationContext
    change: PlannedChange
    leaf: Leaf
    before: Any
    after: Any

    @cached_property
    def doc(self) -> Any:
        return self.after if isinstance(self.after, dict) else self.before

    @cached_property
    def kind(self) -> str | None:
        kind = self.doc.get("kind") if isinstance(self.doc, dict) else None
        return kind if isinstance(kind, str) else None

    @cached_property
    def tokens(self) -> tuple[Token, ...]:
        return parse_path(self.leaf.path)

    @cached_property
    def owner(self) -> WorkloadFacts | None:
        return owner(self.facts, self.ctx, self.change, self.doc, self.kind, self.tokens, self.leaf.file)

    def value(self, side: str) -> Any:
        return get_value(self.before if side == "before" else self.after, self.tokens)


@dataclass(frozen=True)
class Classifier:
    name: str
    description: str
    applies: Callable[[LeafContext], bool]
    record: Callable[[LeafContext], None]
    needs_owner: bool = True


def _replica(lc: LeafContext, field: str) -> None:
    assert lc.owner is not None
    lc.facts.replicas.append(
        ReplicaChange(lc.owner.key, field, _opt_int(lc.value("before")), _opt_int(lc.value("after")), lc.leaf)
    )


def _record_model(lc: LeafContext) -> None:
    m = _MODEL.match(lc.leaf.path)
    assert m is not None
    finding = next((f for f in lc.change.findings if f.target.get("feature") == m.group(1)), None)
    lc.facts.models.append(
        ModelChange(m.group(1), _opt_str(lc.value("before")), _opt_str(lc.value("after")), finding)
    )


def _record_resource(lc: LeafContext) -> None:
    m = _RESOURCE.search(lc.leaf.path)
    assert m is not None and lc.owner is not None
    group, resource = m.groups()
    wf = lc.owner
    container = next((t.name for t in lc.tokens if isinstance(t, Named)), None) or next(
        (f.target.get("container") for f in lc.change.findings if finding_key(f) == wf.key), None
    )
    kind_list = _container_list(lc.tokens)
    before = lc.value("before")
    if before is MISSING and wf.site is not None and container:
        # A field new to this file (e.g. a new overlay patch): the workload's effective value.
        before = get_value(
            wf.site.effective(),
            parse_path(f"spec.template.spec.{kind_list}[{container}].resources.{group}.{resource}"),
        )
    lc.facts.resources.append(
        ResourceChange(
            wf.key,
            container or "?",
            group,
            resource,
            _quantity(before),
            _quantity(lc.value("after")),
            _effective_resources(wf, container, get_value(lc.after, lc.tokens[:-2]), kind_list),
            _finding_for(lc.change, wf.key, container),
        )
    )


def _record_off_hours(lc: LeafContext) -> None:
    # kube-downscaler: outside the uptime window the workload runs downtime-replicas (default 0).
    assert lc.owner is not None
    annotations = (lc.after or {}).get("metadata", {}).get("annotations") or {}
    scheduled = "downscaler/uptime" in annotations or "downscaler/downtime" in annotations
    seen = any(r.workload == lc.owner.key and r.field == "replicas_off_hours" for r in lc.facts.replicas)
    if scheduled and not seen:
        off = _int_text(annotations.get("downscaler/downtime-replicas", "0"))
        lc.facts.replicas.append(ReplicaChange(lc.owner.key, "replicas_off_hours", None, off, lc.leaf))


def _is_values_replicas(lc: LeafContext) -> bool:
    last = lc.tokens[-1] if lc.tokens else None
    return lc.kind is None and isinstance(last, Key) and last.name in ("replicaCount", "replicas")


CLASSIFIERS: dict[str, Classifier] = {
    c.name: c
    for c in (
        Classifier(
            "routing-model",
            "features.<feature>.model in the AI routing config",
            lambda lc: lc.leaf.file == ROUTING_FILE and _MODEL.match(lc.leaf.path) is not None,
            _record_model,
            needs_owner=False,
        ),
        Classifier(
            "container-resources",
            "a container's (or chart values') resources.requests|limits.cpu|memory",
            lambda lc: _RESOURCE.search(lc.leaf.path) is not None,
            _record_resource,
        ),
        Classifier(
            "hpa-replicas",
            "an HPA's spec.minReplicas / spec.maxReplicas",
            lambda lc: (
                lc.kind == "HorizontalPodAutoscaler"
                and lc.leaf.path in ("spec.minReplicas", "spec.maxReplicas")
            ),
            lambda lc: _replica(lc, lc.leaf.path.removeprefix("spec.")),
        ),
        Classifier(
            "downscaler-schedule",
            "kube-downscaler annotations: replicas outside the uptime window",
            lambda lc: (
                lc.kind in WORKLOAD_KINDS and lc.leaf.path.startswith('metadata.annotations["downscaler/')
            ),
            _record_off_hours,
        ),
        Classifier(
            "values-hpa-min-replicas",
            "a chart's autoscaling.minReplicas",
            lambda lc: lc.kind is None and lc.leaf.path.endswith("autoscaling.minReplicas"),
            lambda lc: _replica(lc, "minReplicas"),
        ),
        Classifier(
            "workload-replicas",
            "a workload's spec.replicas, or a chart's replicaCount / replicas",
            lambda lc: (
                (lc.kind in REPLICATED_KINDS and lc.leaf.path == "spec.replicas") or _is_values_replicas(lc)
            ),
            lambda lc: _replica(lc, "replicas"),
        ),
    )
}


def classify(lc: LeafContext) -> str | None:
    """Record the leaf with the first classifier that applies; its name, or None."""
    if lc.leaf.path.startswith("#") or lc.leaf.path == "<document>":
        return None
    for classifier in CLASSIFIERS.values():
        # Any other changed field still names its workload (opt-out, cooldown and blast radius
        # judge every touched workload), so the owner is looked up before the first classifier
        # that needs one, whether it applies or not.
        if classifier.needs_owner and lc.owner is None:
            return None
        if classifier.applies(lc):
            classifier.record(lc)
            return classifier.name
    return None


def _container_list(tokens: tuple[Token, ...]) -> str:
    """The pod-spec list the changed path names (``initContainers`` for a native sidecar), so the
    base value and limits are read from the same list the patch edits; ``containers`` when the
    path names neither (e.g. a Helm values path)."""
    for token, nxt in zip(tokens, tokens[1:], strict=False):
        if isinstance(token, Key) and token.name in _CONTAINER_LISTS and isinstance(nxt, Named):
            return token.name
    return "containers"


def _effective_resources(
    wf: WorkloadFacts, container: str | None, block: Any, kind_list: str
) -> dict[str, dict[str, Decimal]]:
    """Requests/limits after the change: the repo's effective container resources, overlaid by
    the patched resources block."""
    merged: dict[str, dict[str, Any]] = {"requests": {}, "limits": {}}
    current = None
    if wf.site is not None and container:
        current = get_value(
            wf.site.effective(), parse_path(f"spec.template.spec.{kind_list}[{container}].resources")
        )
    for src in (current, block):
        if isinstance(src, dict):
            for group in merged:
                if isinstance(src.get(group), dict):
                    merged[group].update(src[group])
    out: dict[str, dict[str, Decimal]] = {"requests": {}, "limits": {}}
    for group, values in merged.items():
        for res in ("cpu", "memory"):
            q = _quantity(values.get(res, MISSING))
            if q is not None:
                out[group][res] = q
    return out


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
