"""Untagged workloads: which workloads lack the cost-allocation labels, and what to propose.

Pure logic: workload manifests (as deployed — overlay labels and patches applied) in, Findings
and notes out. A label counts as present only under its canonical key (``team``,
``cost_center``: the keys the ``enforce-cost-tags`` playbook writes and cost allocation reads
first); ``app.kubernetes.io/part-of`` names an application, so it is a *source* for the team
value, not a replacement for the label. A value is proposed only when it can be read from the
workload itself (another of its labels or annotations) or, for the team, from a namespace named
``<team>-<env>``; anything else is reported as a note, never guessed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.findings import Finding, FindingKind, Severity
from warehouse.config import DEFAULT_TAG_ALIASES

REQUIRED_LABELS: tuple[str, ...] = ("team", "cost_center")
# Keys read for a label's value besides the tag aliases (sample repos and costpilot's own marks).
EXTRA_SOURCES: dict[str, tuple[str, ...]] = {
    "team": ("app.kubernetes.io/part-of", "costpilot.io/team", "owner"),
    "cost_center": ("costpilot.io/cost-center", "costpilot.io/cost_center"),
}
# Namespace suffixes that name an environment: ``payments-prod`` belongs to team ``payments``.
ENV_SUFFIXES = frozenset(
    {
        "dev",
        "development",
        "test",
        "qa",
        "uat",
        "stage",
        "staging",
        "preprod",
        "prod",
        "production",
        "sandbox",
    }
)
# A Kubernetes label value: ≤ 63 characters, alphanumeric at both ends.
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


class WorkloadManifest(BaseModel):
    """One workload as deployed in one namespace."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    kind: str
    name: str
    data: dict[str, Any] = Field(description="the effective object (overlay labels, patches applied)")
    defined_in: str = Field(
        description="file (and document) that defines it; renderings of one file share it"
    )
    production: bool = False


class UntaggedResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="labels missing with no value to propose")


def _mapping(data: Any, *path: str) -> dict[str, Any]:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _labels(w: WorkloadManifest) -> dict[str, Any]:
    return _mapping(w.data, "metadata", "labels")


def _derive(
    w: WorkloadManifest, key: str, aliases: Mapping[str, Sequence[str]]
) -> tuple[str, str] | tuple[None, str | None]:
    """(value, where it came from); (None, reason) when a source holds an unusable value;
    (None, None) when nothing names one."""
    keys = [k for k in (*aliases.get(key, ()), *EXTRA_SOURCES.get(key, ())) if k != key]
    places = (
        ("label", _labels(w)),
        ("annotation", _mapping(w.data, "metadata", "annotations")),
        ("pod label", _mapping(w.data, "spec", "template", "metadata", "labels")),
    )
    bad: str | None = None
    for place, values in places:
        for source in dict.fromkeys(keys):
            value = values.get(source)
            if value is None or str(value).strip() == "":
                continue
            text = str(value).strip()
            if _LABEL_VALUE.match(text):
                return text, f"{place} {source}"
            bad = bad or f"{place} {source} is not a valid label value"
    if key == "team":
        team, _, env = w.namespace.rpartition("-")
        if team and env.lower() in ENV_SUFFIXES and _LABEL_VALUE.match(team):
            return team, f"namespace {w.namespace}"
    return None, bad


def _opted_out(w: WorkloadManifest, label: str) -> bool:
    # the opt-out guardrail reads the workload's and its pods' labels alike
    pods = _mapping(w.data, "spec", "template", "metadata", "labels")
    return any(str(labels.get(label, "")).lower() == "true" for labels in (_labels(w), pods))


def find_untagged(
    workloads: Sequence[WorkloadManifest],
    required: Sequence[str] = REQUIRED_LABELS,
    aliases: Mapping[str, Sequence[str]] = DEFAULT_TAG_ALIASES,
    opt_out_label: str = "costpilot.io/opt-out",
) -> UntaggedResult:
    """One finding per defining manifest that lacks a required label in some namespace.

    Renderings of one manifest (a kustomize base in dev, staging and prod) are one finding: the
    label is added where the manifest defines it, so it reaches every rendering. The finding
    targets a production rendering when there is one, so the approval is production's.
    Opted-out workloads get a note instead: a proposal for them could only be blocked, and it
    would block the other workloads of its pull request with it.
    """
    by_file: dict[str, list[WorkloadManifest]] = defaultdict(list)
    for w in workloads:
        by_file[w.defined_in].append(w)
    findings: list[Finding] = []
    notes: list[str] = []
    for defined_in, group in sorted(by_file.items()):
        group = sorted(group, key=lambda w: w.namespace)
        missing = {k: [w for w in group if k not in _labels(w)] for k in required}
        proposed: dict[str, str] = {}
        sources: dict[str, str] = {}
        first = group[0]
        what = f"{first.kind}/{first.name} ({defined_in})"
        if any(missing.values()) and any(_opted_out(w, opt_out_label) for w in group):
            absent = ", ".join(k for k, lacking in missing.items() if lacking)
            notes.append(f'{what} lacks label {absent} but is labelled {opt_out_label}: "true"; not proposed')
            continue
        for key, lacking in missing.items():
            if not lacking:
                continue
            derived = [_derive(w, key, aliases) for w in lacking]
            values = {v for v, _ in derived if v is not None}
            where = ", ".join(w.namespace for w in lacking)
            if len(values) == 1 and all(v is not None for v, _ in derived):
                proposed[key] = values.pop()
                sources[key] = derived[0][1] or ""
            elif len(values) > 1:
                notes.append(
                    f"{what} lacks label {key} in {where}; the namespaces disagree on the value "
                    f"({', '.join(sorted(values))}): set it by hand"
                )
            else:
                # a value must hold for every rendering of the file it is written to
                unknown = ", ".join(
                    w.namespace for w, (v, _) in zip(lacking, derived, strict=True) if v is None
                )
                reason = next((r for v, r in derived if v is None and r), None)
                detail = f" ({reason})" if reason else ""
                notes.append(
                    f"{what} lacks label {key} in {where}; no value to propose for {unknown}{detail}: "
                    "set it by hand"
                )
        if not proposed:
            continue
        lacking_all = [w for w in group if all(k not in _labels(w) for k in proposed)]
        candidates = lacking_all or [w for w in group if any(k not in _labels(w) for k in proposed)]
        target = sorted(candidates, key=lambda w: (not w.production, w.namespace))[0]
        names = ", ".join(f"{k}={v}" for k, v in sorted(proposed.items()))
        findings.append(
            Finding(
                kind=FindingKind.untagged,
                target={"namespace": target.namespace, "kind": target.kind, "workload": target.name},
                title=f"{target.kind}/{target.name} lacks cost labels; add {names}",
                current={"labels": {k: _labels(target).get(k) for k in required}},
                proposed={"labels": proposed},
                evidence={
                    "missing": sorted(proposed),
                    "sources": sources,
                    "namespaces": [w.namespace for w in group],
                    "defined_in": defined_in,
                },
                severity=Severity.low,
            )
        )
    return UntaggedResult(findings=findings, notes=notes)
