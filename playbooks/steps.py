"""Stepped right-sizing and reliability labels: pure functions over one finding.

A cut larger than the policy's ``max_decrease_pct`` is proposed as the largest allowed step
(rounded toward the current value, so the rounding never exceeds the limit), never below the
observed peak × headroom and never so low that an unchanged limit exceeds the allowed
limit/request ratio; the next step follows after the cooldown, from the values then deployed.
An increase larger than ``max_increase_pct`` is capped the same way only when the capped value
still covers the observed peak × headroom (otherwise the full increase is proposed and the
guardrail decides: blocking is for rules a step cannot satisfy).

Evidence keys used (canonical units): ``cpu_p95`` (cores), ``memory_peak`` (bytes), ``oom_kills``,
``replicas``, ``usd_per_vcpu_hour`` / ``usd_per_gib_hour`` (USD, added by the scan's detector),
``cpu_throttled_share`` (0..1, when the samples carry it).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from domain.findings import Finding, FindingKind
from domain.money import round_cents
from guardrails.policy import Policy

GIB = Decimal(2**30)
MIB = 2**20
HOURS_PER_MONTH = Decimal(730)
# Share of a limit at which usage counts as "at the limit" (a reliability signal).
AT_LIMIT = Decimal("0.9")

_RESOURCES = ("cpu_request", "memory_request", "memory_limit")


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _round(key: str, value: Decimal, toward: Decimal) -> Decimal:
    """CPU to whole millicores, memory to whole MiB, rounded toward ``toward`` (the current value)."""
    unit = Decimal("0.001") if key.startswith("cpu") else Decimal(MIB)
    mode = ROUND_CEILING if toward > value else ROUND_FLOOR
    return (value / unit).to_integral_value(rounding=mode) * unit


def _floor(key: str, finding: Finding, policy: Policy) -> Decimal:
    """The lowest value a step may reach: observed usage × headroom, and limit / max ratio."""
    ev, cur = finding.evidence, finding.current
    res = policy.resources
    floors = [Decimal(0)]
    if key == "cpu_request":
        if (p95 := _dec(ev.get("cpu_p95"))) is not None:
            floors.append(p95 * res.cpu_headroom)
        limit = _dec(cur.get("cpu_limit"))
        if limit is not None and finding.proposed.get("cpu_limit") in (None, cur.get("cpu_limit")):
            floors.append(limit / res.max_limit_request_ratio)
    else:
        if (peak := _dec(ev.get("memory_peak"))) is not None:
            floors.append(peak * res.memory_headroom)
        limit = _dec(finding.proposed.get("memory_limit")) or _dec(cur.get("memory_limit"))
        if key == "memory_request" and limit is not None:
            floors.append(limit / res.max_limit_request_ratio)
    return max(floors)


def _step_value(key: str, current: Decimal, proposed: Decimal, finding: Finding, policy: Policy) -> Decimal:
    res = policy.resources
    change = (proposed - current) / current * 100
    if change < -res.max_decrease_pct:
        step = _round(key, current * (1 - res.max_decrease_pct / 100), current)
        value = max(step, _round(key, _floor(key, finding, policy), current * 2))
        return min(value, current)
    if change > res.max_increase_pct:
        step = _round(key, current * (1 + res.max_increase_pct / 100), current)
        return step if step >= _floor(key, finding, policy) else proposed
    return proposed


def steps_needed(current: Decimal, target: Decimal, max_pct: Decimal) -> int:
    """About how many steps of at most ``max_pct`` % lead from ``current`` to ``target``."""
    if current <= 0 or target <= 0 or target == current:
        return 1
    ratio = float(target / current)
    per_step = 1 - float(max_pct) / 100 if ratio < 1 else 1 + float(max_pct) / 100
    if per_step <= 0:
        return 1
    return max(1, math.ceil(round(math.log(ratio) / math.log(per_step), 9)))


def _monthly_cost(cpu: Decimal | None, memory: Decimal | None, finding: Finding) -> Decimal | None:
    ev = finding.evidence
    p_cpu, p_mem, replicas = (_dec(ev.get(k)) for k in ("usd_per_vcpu_hour", "usd_per_gib_hour", "replicas"))
    if p_cpu is None or p_mem is None or replicas is None:
        return None
    per_hour = (cpu or Decimal(0)) * p_cpu + (memory or Decimal(0)) / GIB * p_mem
    return round_cents(per_hour * HOURS_PER_MONTH * replicas)


def step_finding(finding: Finding, policy: Policy) -> Finding:
    """The finding with each proposed value cut to the largest step the policy allows.

    Unchanged when no value exceeds the step limit (or the finding is not right-sizing). A
    stepped finding carries ``evidence.step`` = 1, ``evidence.steps`` ≈ N, ``evidence.final``
    (the full recommendation) and a re-priced ``monthly_cost_after`` (USD/month)."""
    if finding.kind is not FindingKind.rightsize:
        return finding
    proposed = dict(finding.proposed)
    final: dict[str, Any] = {}
    steps = 1
    for key in _RESOURCES:
        cur, want = _dec(finding.current.get(key)), _dec(proposed.get(key))
        if cur is None or want is None or cur <= 0 or want == cur:
            continue
        value = _step_value(key, cur, want, finding, policy)
        if value == want:
            continue
        pct = policy.resources.max_decrease_pct if want < cur else policy.resources.max_increase_pct
        steps = max(steps, steps_needed(cur, want, pct))
        final[key] = proposed[key]
        proposed[key] = str(value.normalize()) if key.startswith("cpu") else int(value)
    if not final:
        return finding
    after = _stepped_cost(finding, proposed)
    evidence = {
        **finding.evidence,
        "step": 1,
        "steps": max(steps, 2),
        "final": final,
        "step_note": f"step 1 of about {max(steps, 2)}; the next step follows after the cooldown",
    }
    return finding.model_copy(
        update={"proposed": proposed, "evidence": evidence, "monthly_cost_after": after}
    )


def _stepped_cost(finding: Finding, proposed: dict[str, Any]) -> Decimal:
    """Cost after the step: priced from requests × hours × unit prices when the evidence has
    them, else the estimate scaled by the share of the change the step makes."""

    def val(src: dict[str, Any], key: str) -> Decimal | None:
        return _dec(src.get(key))

    priced = _monthly_cost(val(proposed, "cpu_request"), val(proposed, "memory_request"), finding)
    if priced is not None:
        return priced
    shares = []
    for key in ("cpu_request", "memory_request"):
        cur, full, now = val(finding.current, key), val(finding.proposed, key), val(proposed, key)
        if cur is not None and full is not None and now is not None and full != cur:
            shares.append((now - cur) / (full - cur))
    share = sum(shares, Decimal(0)) / len(shares) if shares else Decimal(1)
    delta = finding.monthly_cost_after - finding.monthly_cost_now
    return round_cents(finding.monthly_cost_now + delta * share)


def reliability_reasons(finding: Finding, *, strong_only: bool = False) -> list[str]:
    """Why a right-sizing finding raises a value: OOM kills, CPU throttling, memory or CPU at the
    limit (strong signals), or usage above the request (weak: eviction / contention risk, shown
    only when ``strong_only`` is False). Empty when the evidence shows none of these."""
    if finding.kind is not FindingKind.rightsize:
        return []
    ev, cur = finding.evidence, finding.current
    strong: list[str] = []
    weak: list[str] = []
    kills = ev.get("oom_kills")
    if isinstance(kills, int) and not isinstance(kills, bool) and kills > 0:
        strong.append(f"OOM-killed {kills} time(s)")
    peak, mem_limit = _dec(ev.get("memory_peak")), _dec(cur.get("memory_limit"))
    mem_req = _dec(cur.get("memory_request"))
    if peak is not None and mem_limit and peak >= mem_limit * AT_LIMIT:
        strong.append(
            f"memory peak {peak / MIB:.0f}Mi at {peak / mem_limit:.0%} of the {mem_limit / MIB:.0f}Mi limit"
        )
    elif peak is not None and mem_req and peak > mem_req:
        # Usage above the request: the pod is first in line for eviction under node pressure.
        weak.append(f"memory peak {peak / MIB:.0f}Mi above the {mem_req / MIB:.0f}Mi request")
    throttled = _dec(ev.get("cpu_throttled_share"))
    if throttled is not None and throttled > 0:
        strong.append(f"CPU throttled in {throttled:.0%} of periods")
    p95, cpu_req, cpu_limit = (
        _dec(ev.get("cpu_p95")),
        _dec(cur.get("cpu_request")),
        _dec(cur.get("cpu_limit")),
    )
    if p95 is not None and cpu_limit and p95 >= cpu_limit * AT_LIMIT:
        strong.append(
            f"CPU p95 {p95 * 1000:.0f}m at {p95 / cpu_limit:.0%} of the {cpu_limit * 1000:.0f}m limit"
        )
    elif p95 is not None and cpu_req and p95 > cpu_req:
        weak.append(f"CPU p95 {p95 * 1000:.0f}m above the {cpu_req * 1000:.0f}m request")
    return strong if strong_only else strong + weak


def raises_cost(finding: Finding) -> bool:
    return finding.monthly_cost_after > finding.monthly_cost_now


def raises_any(finding: Finding) -> bool:
    """Some proposed request or limit is above the current one."""
    for key in _RESOURCES:
        cur, want = _dec(finding.current.get(key)), _dec(finding.proposed.get(key))
        if cur is not None and want is not None and want > cur:
            return True
    return False


def is_reliability(finding: Finding) -> bool:
    """A right-sizing finding that raises cost, or raises a value for a reliability reason (an
    OOM-killed container's memory, even when its CPU cut makes the total a saving): its own PR,
    labelled with the reason."""
    if finding.kind is not FindingKind.rightsize:
        return False
    return raises_cost(finding) or (
        raises_any(finding) and bool(reliability_reasons(finding, strong_only=True))
    )
