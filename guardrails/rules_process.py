"""Rules on when and how much: cooldown, change freezes, blast radius, and the cost direction."""

from __future__ import annotations

from datetime import timedelta

from domain.changes import GuardrailResult, PlannedChange
from gitops.yaml_path import MISSING, get_value, parse_path
from guardrails.context import ValidationContext, finding_key
from guardrails.facts import ChangeFacts
from guardrails.rule import Rule, failed, passed, warned

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _keys(change: PlannedChange, facts: ChangeFacts) -> list[str]:
    keys = set(facts.workloads) | {finding_key(f) for f in change.findings}
    keys |= {f"feature/{m.feature}" for m in facts.models}
    return sorted(keys)


def cooldown(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    rid = "cooldown"
    hours = ctx.policy.cooldown_hours
    window = timedelta(hours=float(hours))
    out: list[GuardrailResult] = []
    for key in _keys(change, facts):
        last = ctx.last_changed(key)
        if last is None:
            continue
        since = ctx.now - last
        if since < window:
            left = window - since
            out.append(
                failed(
                    rid,
                    f"{key} was changed {since.total_seconds() / 3600:.1f} h ago; cooldown is {hours} h "
                    f"({left.total_seconds() / 3600:.1f} h left)",
                    workload=key,
                    last_change=last.isoformat(),
                )
            )
    return out or [
        passed(rid, f"no touched workload changed in the last {hours} h", workloads=_keys(change, facts))
    ]


def change_freeze(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    rid = "change-freeze"
    now = ctx.now
    for w in ctx.policy.freeze.windows:
        if w.start <= now < w.end:
            return [
                failed(
                    rid,
                    f"change freeze until {w.end.isoformat()}: {w.reason}",
                    start=w.start.isoformat(),
                    end=w.end.isoformat(),
                )
            ]
    day = _WEEKDAYS[now.weekday()]
    for wk in ctx.policy.freeze.weekly:
        if day in wk.days and wk.start <= now.time() <= wk.end:
            return [
                failed(
                    rid,
                    f"weekly change freeze ({day} {wk.start:%H:%M}–{wk.end:%H:%M} UTC): {wk.reason}",
                    day=day,
                )
            ]
    return [passed(rid, f"no change freeze at {now.isoformat()}")]


def blast_radius(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    rid = "blast-radius"
    pol = ctx.policy.blast_radius
    workloads = set(facts.workloads) | {finding_key(f) for f in change.findings}
    # A shared kustomize base renders into every overlay that includes it.
    index = ctx.repo_index()
    extra = []
    for f in change.files:
        homes = index.renderings_of(f.path)
        if len(homes) > 1:
            extra.extend(f"{h.name}:{f.path}" for h in homes[1:])
    count = len(workloads) + len(extra)
    targets_prod = any(ctx.policy.is_production(f.target.get("namespace")) for f in change.findings)
    leaks = [] if targets_prod else _production_renders(change, ctx, facts)
    files = len(change.files)
    ev = {
        "workloads": count,
        "files": files,
        "max_workloads": pol.max_workloads_per_pr,
        "max_files": pol.max_files_per_pr,
    }
    out = []
    for leak in leaks:
        out.append(failed(rid, f"{leak}; the evidence is from non-production only", **ev))
    if count > pol.max_workloads_per_pr:
        out.append(
            failed(
                rid,
                f"{count} workloads in one PR > {pol.max_workloads_per_pr}",
                shared_base_renders=extra,
                **ev,
            )
        )
    if files > pol.max_files_per_pr:
        out.append(failed(rid, f"{files} files in one PR > {pol.max_files_per_pr}", **ev))
    return out or [passed(rid, f"{count} workload(s), {files} file(s) within limits", **ev)]


def _production_renders(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[str]:
    """Fields of a non-production change that production would also get: a shared kustomize
    base whose production overlay does not override the field, or a chart's values.yaml next to
    a production values file. Labels are harmless everywhere and not counted."""
    index = ctx.repo_index()
    out = []
    for leaf in facts.leaves:
        if leaf.path.startswith("metadata.labels"):
            continue
        kind, _, name = (leaf.selector or "").partition("/")
        for r in index.renderings_of(leaf.file):
            if not ctx.policy.is_production(r.namespace):
                continue
            patches = [p for p in index.patches_for(kind, name) if p.path in r.patches]
            if not any(get_value(p.data, parse_path(leaf.path)) is not MISSING for p in patches):
                out.append(
                    f"{leaf.file}: {leaf.path} is shared: production namespace {r.namespace} renders it too"
                )
        folder = leaf.file[: -len("/values.yaml")] if leaf.file.endswith("/values.yaml") else None
        if folder in index.charts.values() and any(
            (index.repo / folder / f"values-{env}.yaml").is_file() for env in ("prod", "production")
        ):
            out.append(f"{leaf.file}: {leaf.path} is a default for every environment, production included")
    return sorted(set(out))


def lowers_cost(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    rid = "lowers-cost"
    now, after = change.monthly_cost_now, change.monthly_cost_after
    ev = {"monthly_cost_now": str(now), "monthly_cost_after": str(after), "delta": str(after - now)}
    if after < now:
        return [passed(rid, f"lowers cost by ${now - after}/month", **ev)]
    if after == now:
        return [warned(rid, "cost-neutral change", **ev)]
    reason = (change.cost_increase_reason or "").strip()
    if reason and ctx.policy.cost.allow_increase_with_reason:
        # A labelled reliability increase is approved like any other change; the report carries
        # the reason and the evidence behind it (OOM kills, throttling, usage at the limit).
        return [
            warned(
                rid,
                f"raises cost by ${after - now}/month, labelled: {reason}",
                reason=reason,
                reliability_evidence=_reliability_evidence(change),
                **ev,
            )
        ]
    if reason:
        return [
            failed(
                rid, f"raises cost by ${after - now}/month; the policy allows no increase ({reason})", **ev
            )
        ]
    return [failed(rid, f"raises cost by ${after - now}/month without a stated reason", **ev)]


_RELIABILITY_KEYS = ("oom_kills", "memory_peak", "cpu_p95", "cpu_throttled_share")


def _reliability_evidence(change: PlannedChange) -> dict[str, dict[str, object]]:
    """Per workload the findings' reliability numbers (OOM kills, memory peak bytes, CPU p95 cores,
    throttled share), with the values before and after."""
    out: dict[str, dict[str, object]] = {}
    for f in change.findings:
        numbers = {k: f.evidence[k] for k in _RELIABILITY_KEYS if f.evidence.get(k) is not None}
        if numbers:
            container = f.target.get("container")
            key = finding_key(f) + (f"/{container}" if container else "")
            out[key] = {**numbers, "current": dict(f.current), "proposed": dict(f.proposed)}
    return out


RULES = (
    Rule("cooldown", "one change per workload per cooldown period", cooldown, True),
    Rule("change-freeze", "no change during a freeze window", change_freeze, True),
    Rule("blast-radius", "at most N workloads and files per PR", blast_radius, True),
    Rule(
        "lowers-cost",
        "the change lowers cost, or is a labelled cost increase with a reason",
        lowers_cost,
        True,
    ),
)
