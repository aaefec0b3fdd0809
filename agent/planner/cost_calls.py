"""Builders of cost questions: spend, change ("why …"), anomalies, forecast, budgets, unit costs, untagged.

Defaults when the question names no period: spend and untagged spend → ``this-month``; change →
``last-7d`` against the 7 days before; anomalies → ``last-30d``; unit costs → ``last-30d``.
Month-like periods compare with the previous calendar month (month to date: the same days of it),
quarters with the previous quarter. "why …" adds an anomaly scan over the same period and scope.
Forecast horizons run to the end of what was named (month end for "this month"/"November",
``days`` for "next N days"), else 30 days.
"""

from __future__ import annotations

import re
from datetime import date

from agent.planner.days import add_months, forward_month_end, month_period, quarter_before, quarter_period
from agent.planner.models import ToolCall
from agent.planner.scope import (
    DEFAULT_MEASURE,
    TIME_DIMS,
    WAREHOUSE_DIMS,
    Scope,
    breakdown_dims,
    period_or_default,
    warehouse_filters,
)
from domain.period import parse_period

# "why did X go up": break down one level below the most specific thing named.
DRILL: dict[str, str] = {
    "provider": "service",
    "account": "service",
    "region": "service",
    "env": "team",
    "category": "service",
    "team": "service",
    "service": "team",
    "feature": "model",
    "model": "feature",
}
SPECIFICITY: tuple[str, ...] = (
    "model",
    "feature",
    "service",
    "team",
    "category",
    "env",
    "region",
    "account",
    "provider",
)
MAX_HORIZON = 366
DEFAULT_TOP = 5
_SUPERLATIVE = re.compile(
    r"(?<![\w-])(?:the\s+most|most\s+expensive|biggest|largest|highest|costliest|priciest)(?![\w-])"
)
_N_DAYS = re.compile(r"(?<![\w-])(\d{1,3})[- ]days?(?![\w-])")


def spend(scope: Scope) -> list[ToolCall]:
    period = period_or_default(scope, "this-month")
    filters = warehouse_filters(scope)
    by = breakdown_dims(scope, filters, [])
    top = scope.top if scope.top is not None else scope.carried("spend", "top")
    if not by and top is None and _SUPERLATIVE.search(scope.text):
        top = DEFAULT_TOP  # "what is costing us the most": the top services
    if top is not None and not by:
        by = ["service"]
        scope.notes.append("ranked by service (no dimension named)")
    measure = scope.measure or scope.carried("spend", "measure") or DEFAULT_MEASURE
    return [
        ToolCall(
            tool="spend",
            args={"period": period, "by": by, "filters": filters, "measure": measure, "top": top},
        )
    ]


def _previous_calendar(period: str, today: date) -> str | None:
    """What a month-, month-to-date- or quarter-shaped period compares with."""
    p = parse_period(period, today)
    month_start = p.start.day == 1
    if month_start and p.end == month_period(p.start.year, p.start.month).end:
        return add_months(p.start, -1).strftime("%Y-%m")
    if month_start and (p.start.year, p.start.month) == (p.end.year, p.end.month):  # month to date
        # the same days of the month before (add_months clamps the 31st to a shorter month's end)
        return f"{add_months(p.start, -1).isoformat()}..{add_months(p.end, -1).isoformat()}"
    quarter = quarter_period(p.start.year, (p.start.month - 1) // 3 + 1)
    if p.start == quarter.start and p.end == quarter.end:
        prev = quarter_before(p.start)
        return f"{prev.start.isoformat()}..{prev.end.isoformat()}"
    return None


_OVER = (
    (re.compile(r"(?<![\w-])(?:week\s+over\s+week|wow|week\s+on\s+week)(?![\w-])"), "last-week"),
    (re.compile(r"(?<![\w-])(?:month\s+over\s+month|mom|month\s+on\s+month)(?![\w-])"), "last-month"),
    (re.compile(r"(?<![\w-])(?:day\s+over\s+day|dod)(?![\w-])"), "yesterday"),
)
_YOY = re.compile(
    r"(?<![\w-])(?:year\s+over\s+year|yoy|a\s+year\s+ago|last\s+year\s+same|same\s+\w+\s+last\s+year)(?![\w-])"
)


def _drill(scope: Scope, filters: dict[str, list[str]]) -> list[str]:
    for dim in SPECIFICITY:
        if dim in filters:
            target = DRILL[dim]
            if target in filters and len(filters[target]) == 1:
                target = "service" if target != "service" else "region"
            return [target]
    return ["team"]


def change(scope: Scope) -> list[ToolCall]:
    filters = warehouse_filters(scope)
    own = [m for m in scope.mentions if m.kind != "shift"]
    compare: str | None = None
    if len(own) >= 2:
        earlier, later = sorted(own[:2], key=lambda m: m.first)
        period, compare = later.period, earlier.period
        scope.used_period = period
    elif len(own) == 1 and own[0].parts:
        earlier, later = sorted(own[0].parts, key=lambda m: m.first)
        period, compare = later.period, earlier.period
        scope.used_period = period
    else:
        named = next((p for pattern, p in _OVER if pattern.search(scope.text)), None)
        if scope.period is None and named:
            scope.period = named
        period = period_or_default(scope, "last-7d")
        if scope.period == scope.carried("movers", "period"):
            compare = scope.carried("movers", "compare")
        if compare is None and _YOY.search(scope.text):
            p = parse_period(period, scope.today)
            compare = f"{add_months(p.start, -12).isoformat()}..{add_months(p.end, -12).isoformat()}"
        compare = compare or _previous_calendar(period, scope.today)
    if scope.by_named:
        by = breakdown_dims(scope, filters, ["team"])
    else:
        by = scope.carried("movers", "by") if scope.previous_args.get("movers") and not filters else None
        by = by or _drill(scope, filters)
    calls = [
        ToolCall(
            tool="movers",
            args={"period": period, "compare": compare, "by": by, "filters": filters, "top": scope.top},
        )
    ]
    if scope.why or "anomalies" in scope.previous_args:  # a follow-up of "why …" still asks why
        calls.append(ToolCall(tool="anomalies", args={"period": period, "by": [], "filters": filters}))
    return calls


def anomalies(scope: Scope) -> list[ToolCall]:
    period = period_or_default(scope, "last-30d")
    filters = warehouse_filters(scope)
    by = [d for d in breakdown_dims(scope, filters, []) if d not in TIME_DIMS]
    return [ToolCall(tool="anomalies", args={"period": period, "by": by, "filters": filters})]


def _horizon(scope: Scope) -> int:
    today = scope.today
    for mention in scope.mentions:
        end = forward_month_end(mention.month, today) if mention.month else mention.calendar_end
        if end > today:
            return max(1, min((end - today).days, MAX_HORIZON))
        if end == today:
            return 1
        scope.notes.append(f"{mention.period} is in the past; a forecast looks ahead")
    if m := _N_DAYS.search(scope.text):
        return max(1, min(int(m.group(1)), MAX_HORIZON))
    carried = scope.carried("forecast", "horizon")
    return int(carried) if carried else 30


def forecast(scope: Scope) -> list[ToolCall]:
    filters = warehouse_filters(scope)
    by = [d for d in breakdown_dims(scope, filters, []) if d not in TIME_DIMS]
    horizon = _horizon(scope)
    scope.used_period = scope.period
    return [ToolCall(tool="forecast", args={"by": by, "filters": filters, "horizon": horizon})]


def budget_status(scope: Scope) -> list[ToolCall]:
    if scope.filters:
        scope.notes.append("budget status lists every budget; each names its own scope")
    scope.used_period = scope.period
    return [ToolCall(tool="budget_status", args={})]


def unit_costs(scope: Scope) -> list[ToolCall]:
    period = period_or_default(scope, "last-30d")
    filters = {k: v for k, v in warehouse_filters(scope).items() if k != "category"}
    scope.used_filters = filters
    return [ToolCall(tool="unit_costs", args={"period": period, "filters": filters})]


_WORKLOAD_WORDS = re.compile(
    r"(?<![\w-])(?:workloads?|deployments?|statefulsets?|manifests?|pods?|labels?|labell?ed|namespaces?|apps?|containers?|resources?)(?![\w-])"
)
_MONEY_WORDS = re.compile(
    r"(?<![\w-])(?:spend|spent|spending|costs?(?!\s+(?:labels?|tags?))|how\s+much|share|percent|percentage|money|bill|dollars)(?![\w-])"
)


def untagged(scope: Scope) -> list[ToolCall]:
    if _WORKLOAD_WORDS.search(scope.text) and not _MONEY_WORDS.search(scope.text):
        scope.used_period = scope.period
        return [ToolCall(tool="untagged", args={})]
    # Untagged spend is the "(untagged)" row of spend by team, shown beside the tagged teams.
    period = period_or_default(scope, "this-month")
    filters = {k: v for k, v in warehouse_filters(scope).items() if k != "team"}
    scope.used_filters = filters
    by = ["team", *[d for d in scope.by if d != "team" and (d in WAREHOUSE_DIMS or d in TIME_DIMS)]]
    measure = scope.measure or DEFAULT_MEASURE
    return [
        ToolCall(
            tool="spend",
            args={"period": period, "by": by, "filters": filters, "measure": measure, "top": None},
        )
    ]
