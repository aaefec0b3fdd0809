"""Rules on container resources and on the evidence behind a change.

Evidence keys read from a finding (canonical units; the first name found wins):
  cpu_p95 | cpu_p95_cores                     CPU usage p95, cores
  memory_peak | memory_peak_bytes | memory_max  peak working set, bytes
  days | history_days                         days of history
  samples | sample_count                      utilization samples
  coverage | sample_coverage                  share of expected samples present, 0..1
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.changes import GuardrailResult, PlannedChange
from domain.findings import Finding, FindingKind
from guardrails.context import ValidationContext
from guardrails.facts import ChangeFacts, ResourceChange
from guardrails.rendering_usage import other_renderings
from guardrails.rule import Rule, failed, not_applicable, passed, warned

EVIDENCE_KEYS: dict[str, tuple[str, ...]] = {
    "cpu_p95": ("cpu_p95", "cpu_p95_cores"),
    "memory_peak": ("memory_peak", "memory_peak_bytes", "memory_max"),
    "days": ("days", "history_days"),
    "samples": ("samples", "sample_count"),
    "coverage": ("coverage", "sample_coverage"),
}


def evidence_value(evidence: dict[str, Any], name: str) -> Decimal | None:
    for key in EVIDENCE_KEYS[name]:
        value = evidence.get(key)
        if value is not None and not isinstance(value, bool):
            try:
                return Decimal(str(value))
            except ArithmeticError:
                return None
    return None


def _label(rc: ResourceChange) -> str:
    return f"{rc.workload} container {rc.container} {rc.resource} {rc.group.rstrip('s')}"


def _fmt(rc: ResourceChange, value: Decimal | None) -> str:
    if value is None:
        return "unset"
    if rc.resource == "cpu":
        return f"{(value * 1000).normalize():f}m"
    return f"{(value / 2**20).quantize(Decimal('0.1'))}Mi"


def above_observed_peak(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "above-observed-peak"
    if not facts.resources:
        return [not_applicable(rid, "no CPU/memory value changes")]
    pol = ctx.policy.resources
    out: list[GuardrailResult] = []
    for rc in facts.resources:
        if rc.after is None:
            continue
        evidence = ctx.evidence_of(rc.finding) if rc.finding else {}
        if rc.resource == "memory":
            observed, headroom, what = (
                evidence_value(evidence, "memory_peak"),
                pol.memory_headroom,
                "peak working set",
            )
        else:
            observed, headroom, what = evidence_value(evidence, "cpu_p95"), pol.cpu_headroom, "p95 usage"
        if observed is None:
            if rc.before is not None and rc.after < rc.before:
                out.append(
                    failed(
                        rid,
                        f"{_label(rc)}: lowered to {_fmt(rc, rc.after)} with no observed {what} in the evidence",
                    )
                )
            continue
        floor = observed * headroom
        ev = {
            "workload": rc.workload,
            "container": rc.container,
            "observed": str(observed),
            "headroom": str(headroom),
            "proposed": str(rc.after),
        }
        if rc.after < floor:
            out.append(
                failed(
                    rid,
                    f"{_label(rc)} {_fmt(rc, rc.after)} is below observed {what} {_fmt(rc, observed)} × {headroom}",
                    **ev,
                )
            )
        else:
            out.append(
                passed(
                    rid, f"{_label(rc)} {_fmt(rc, rc.after)} ≥ {what} {_fmt(rc, observed)} × {headroom}", **ev
                )
            )
    out.extend(_other_renderings(ctx, facts))
    return out or [not_applicable(rid, "no value set")]


def _other_renderings(ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    """Each other environment that renders a changed file, against its own observed usage: a
    dev change to a shared base must not take staging below staging's p95 / peak."""
    rid = "above-observed-peak"
    pol = ctx.policy.resources
    out: list[GuardrailResult] = []
    for rc in other_renderings(ctx, facts):
        if rc.after is None or rc.before is None or rc.after >= rc.before:
            continue  # only a lowered value can go below what the environment uses
        usage = ctx.usage_of(rc.namespace, rc.kind, rc.name, rc.container) or {}
        memory = rc.resource == "memory"
        observed = evidence_value(usage, "memory_peak" if memory else "cpu_p95")
        headroom = pol.memory_headroom if memory else pol.cpu_headroom
        what = "peak working set" if memory else "p95 usage"
        shown = _fmt_value(rc.resource, rc.after)
        ev = {"rendering": rc.rendering.name, "namespace": rc.namespace, "workload": rc.name}
        if observed is None:
            text = f"{rc.label}: lowered to {shown} with no observed {what} for {rc.namespace}"
            if ctx.usage is None:  # the caller knows no usage beyond the findings': say so
                out.append(warned(rid, f"{text} (not checked: no usage data given)", **ev))
            else:
                out.append(failed(rid, text, **ev))
            continue
        floor = observed * headroom
        ev |= {"observed": str(observed), "headroom": str(headroom), "proposed": str(rc.after)}
        limit = f"{what} {_fmt_value(rc.resource, observed)} × {headroom} in {rc.namespace}"
        if rc.after < floor:
            out.append(failed(rid, f"{rc.label} {shown} is below observed {limit}", **ev))
        else:
            out.append(passed(rid, f"{rc.label} {shown} ≥ {limit}", **ev))
    return out


def _fmt_value(resource: str, value: Decimal) -> str:
    if resource == "cpu":
        return f"{(value * 1000).normalize():f}m"
    return f"{(value / 2**20).quantize(Decimal('0.1'))}Mi"


def max_change_per_step(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "max-change-per-step"
    pol = ctx.policy.resources
    out: list[GuardrailResult] = []
    for rc in facts.resources:
        if rc.before is None or rc.after is None or rc.before <= 0:
            continue
        pct = (rc.after - rc.before) / rc.before * 100
        limit = pol.max_decrease_pct if pct < 0 else pol.max_increase_pct
        ev = {
            "workload": rc.workload,
            "container": rc.container,
            "change_pct": str(round(pct, 1)),
            "limit_pct": str(limit),
        }
        text = f"{_label(rc)} {_fmt(rc, rc.before)} → {_fmt(rc, rc.after)} ({pct:+.1f}%)"
        if abs(pct) > limit:
            out.append(failed(rid, f"{text} exceeds the {limit}% step limit", **ev))
        else:
            out.append(passed(rid, f"{text} within ±{limit}%", **ev))
    return out or [not_applicable(rid, "no existing CPU/memory value changed")]


def _containers(facts: ChangeFacts) -> dict[tuple[str, str], ResourceChange]:
    return {(rc.workload, rc.container): rc for rc in facts.resources}


def requests_within_limits(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "requests-within-limits"
    out: list[GuardrailResult] = []
    for (workload, container), rc in _containers(facts).items():
        for res in ("cpu", "memory"):
            req, lim = rc.effective["requests"].get(res), rc.effective["limits"].get(res)
            if req is None or lim is None:
                continue
            if req > lim:
                out.append(
                    failed(
                        rid,
                        f"{workload} container {container}: {res} request {req} > limit {lim}",
                        request=str(req),
                        limit=str(lim),
                    )
                )
            else:
                out.append(passed(rid, f"{workload} container {container}: {res} request ≤ limit"))
    return out or [not_applicable(rid, "no request/limit pair")]


def limit_request_ratio(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "limit-request-ratio"
    cap = ctx.policy.resources.max_limit_request_ratio
    out: list[GuardrailResult] = []
    for (workload, container), rc in _containers(facts).items():
        for res in ("cpu", "memory"):
            req, lim = rc.effective["requests"].get(res), rc.effective["limits"].get(res)
            if req is None or lim is None or req <= 0:
                continue
            ratio = lim / req
            msg = f"{workload} container {container}: {res} limit/request = {ratio:.2f}"
            if ratio > cap:
                out.append(failed(rid, f"{msg} > {cap}", ratio=str(round(ratio, 3)), max=str(cap)))
            else:
                out.append(passed(rid, f"{msg} ≤ {cap}"))
    return out or [not_applicable(rid, "no request/limit pair")]


def enough_evidence(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "enough-evidence"
    pol = ctx.policy.evidence
    out: list[GuardrailResult] = []
    for finding in change.findings:
        if finding.kind is FindingKind.untagged:
            continue
        out.extend(_judge_evidence(rid, finding, ctx.evidence_of(finding), pol))
    return out or [not_applicable(rid, "no usage-based finding")]


def _judge_evidence(rid: str, finding: Finding, evidence: dict[str, Any], pol: Any) -> list[GuardrailResult]:
    name = finding.title or finding.id
    days, samples, coverage = (evidence_value(evidence, k) for k in ("days", "samples", "coverage"))
    problems = []
    if days is None or days < pol.min_days:
        problems.append(f"{days if days is not None else 'no'} day(s) of history < {pol.min_days}")
    if finding.kind in (FindingKind.rightsize, FindingKind.idle) and (
        samples is None or samples < pol.min_samples
    ):
        problems.append(f"{samples if samples is not None else 'no'} sample(s) < {pol.min_samples}")
    if coverage is not None and coverage < pol.min_coverage:
        problems.append(f"sample coverage {coverage} < {pol.min_coverage}")
    ev = {"finding": finding.id, "days": str(days), "samples": str(samples), "coverage": str(coverage)}
    if problems:
        return [failed(rid, f"{name}: too little evidence: " + "; ".join(problems), **ev)]
    counted = f", {samples} samples" if samples is not None else ""
    return [passed(rid, f"{name}: {days} days{counted}", **ev)]


RULES = (
    Rule(
        "above-observed-peak",
        "never below observed peak × headroom (memory ≥ max working set, CPU ≥ p95)",
        above_observed_peak,
    ),
    Rule(
        "max-change-per-step",
        "at most the policy's % change of a CPU/memory value per step",
        max_change_per_step,
    ),
    Rule("requests-within-limits", "requests ≤ limits after the change", requests_within_limits),
    Rule("limit-request-ratio", "limit/request ratio bounded", limit_request_ratio),
    Rule(
        "enough-evidence", "enough days of history and sample coverage behind each finding", enough_evidence
    ),
)
