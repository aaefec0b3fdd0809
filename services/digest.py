"""The weekly cost digest as one operation, built only from ``TOOLS`` results (``call_tool``), so
every number in it is the one ``costpilot spend|movers|anomalies|forecast|budget|unit-costs|
proposals --json`` prints.

The week is the last full ISO week (Monday..Sunday) before today (``--as-of``), compared with the
one before it. A week without cost data is ``skipped`` with a note, never sent empty (LiteLLM
#6015); each section is capped (#36951); a section whose tool has nothing to say is left out
with a note instead of failing the digest.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import DataError, InputError
from domain.money import Money
from domain.period import Period
from services.deps import Deps
from services.requests import DigestRequest

BREAKDOWNS: tuple[str, ...] = ("team", "env", "service", "model")
AI_FILTER = {"service_category": ["AI and Machine Learning"]}
CHART_DAYS = 28
MAX_ANOMALIES = 5
MAX_AI_LINES = 5


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Change(Frozen):
    current: Money
    previous: Money
    delta: Money
    delta_pct: Decimal | None = Field(description="delta / previous; None when previous is 0")


class Line(Change):
    dims: dict[str, str]
    share_of_delta: Decimal | None = Field(description="this line's delta / the total delta")


class Breakdown(Frozen):
    dimension: str
    lines: list[Line]
    notes: list[str] = Field(default_factory=list)


class RootCauseLine(Frozen):
    dimension: str
    value: str
    contribution: Money


class WeekAnomaly(Frozen):
    series: dict[str, str]
    start: str
    end: str
    expected: Money
    actual: Money
    impact: Money
    impact_pct: float | None
    root_causes: list[RootCauseLine]


class BudgetLine(Frozen):
    scope: str
    period_kind: str
    amount: Money
    spent: Money
    projected: Money | None
    pct_used: Decimal
    pct_projected: Decimal | None
    projected_overrun: bool
    alert_level: int | None


class MonthOutlook(Frozen):
    month: Period
    actual_to_date: Money
    projected: Money
    lo80: Money
    hi80: Money
    budget: Money | None = Field(description="the monthly total budget, when one is set")
    projected_pct_of_budget: Decimal | None
    budget_crossed_on: date | None
    note: str | None


class UnitLine(Frozen):
    feature: str
    model: str
    cost: Money
    tokens: int
    requests: int
    cost_per_1k_tokens: Money | None
    cost_per_request: Money | None


class AiEconomics(Frozen):
    total: Money
    lines: list[UnitLine]
    untagged_share: Decimal | None


class Stage(Frozen):
    count: int
    monthly_savings: Money = Field(description="monthly cost now - after, summed (currency/month)")
    proposals: list[str]


class BlockedLine(Frozen):
    id: str
    title: str
    rules: list[str]


class SavingsPipeline(Frozen):
    open: Stage = Field(description="awaiting approval")
    approved: Stage = Field(description="approved, PR opened or being opened")
    merged: Stage
    realised: Money | None = Field(description="measured after merge; None: not measured yet")
    realised_note: str
    blocked: list[BlockedLine]
    waiting: Stage = Field(
        default_factory=lambda: Stage(count=0, monthly_savings=Decimal(0), proposals=[]),
        description="held back by the limits (open PRs, new per scan) or a cooldown; branches",
    )
    estimated_of_measured: Money | None = Field(
        None, description="the estimates of the merges that were measured (beside realised)"
    )


class DayCost(Frozen):
    day: date
    cost: Money
    in_week: bool


class ToolCall(Frozen):
    tool: str
    args: dict[str, Any]


class DigestResult(Frozen):
    status: Literal["ok", "skipped"]
    week: str = Field(description="ISO week, e.g. 2026-W47")
    period: Period
    compare: Period
    currency: str | None = None
    total: Change | None = None
    breakdowns: list[Breakdown] = Field(default_factory=list)
    movers: list[Line] = Field(default_factory=list, description="top movers by team × service")
    anomalies: list[WeekAnomaly] = Field(default_factory=list)
    more_anomalies: int = 0
    month: MonthOutlook | None = None
    budgets: list[BudgetLine] = Field(default_factory=list)
    ai: AiEconomics | None = None
    savings: SavingsPipeline | None = None
    daily: list[DayCost] = Field(default_factory=list, description=f"{CHART_DAYS} days ending with the week")
    notes: list[str] = Field(default_factory=list)
    calls: list[ToolCall] = Field(default_factory=list, description="every tool call the digest made")


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_period(request: DigestRequest, today: date) -> Period:
    if request.week is None:
        monday = today - timedelta(days=today.weekday())
        return Period(start=monday - timedelta(days=7), end=monday - timedelta(days=1))
    year, week = int(request.week[:4]), int(request.week[6:])
    try:
        start = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InputError(f"week {request.week!r}: no such ISO week") from None
    return Period(start=start, end=start + timedelta(days=6))


class _Tools:
    """``call_tool`` that remembers each call (the digest's provenance)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.calls: list[ToolCall] = []

    def __call__(self, tool: str, args: dict[str, Any]) -> Any:
        from services.registry import call_tool

        self.calls.append(ToolCall(tool=tool, args=args))
        return call_tool(tool, args, self.deps)


def _line(m: Any) -> Line:
    return Line(
        dims=m.dims, current=m.current, previous=m.previous, delta=m.delta,
        delta_pct=m.delta_pct, share_of_delta=m.share_of_delta,
    )  # fmt: skip


def digest(request: DigestRequest, deps: Deps) -> DigestResult:
    """Week-over-week spend, movers, anomalies, month-end outlook, AI unit economics and the
    savings pipeline for one ISO week."""
    week = week_period(request, deps.today)
    compare = week.previous()
    tools = _Tools(deps)
    base = {"week": iso_week(week.start), "period": week, "compare": compare}
    try:
        spent = tools("spend", {"period": week.label(), "by": ["day"]})
    except DataError:
        note = f"no cost data for {iso_week(week.start)} ({week.label()}): digest skipped, nothing posted"
        return DigestResult(status="skipped", notes=[note], calls=tools.calls, **base)
    notes: list[str] = []
    if len(spent.rows) < week.days:
        notes.append(f"only {len(spent.rows)} of {week.days} days of {iso_week(week.start)} have cost data")
    span = {"period": week.label(), "compare": compare.label()}
    overall = tools("movers", {**span, "by": ["team", "service"], "top": request.top})
    notes.extend(overall.notes)
    total = Change(
        current=overall.current_total, previous=overall.previous_total,
        delta=overall.delta, delta_pct=overall.delta_pct,
    )  # fmt: skip
    breakdowns = []
    for dim in BREAKDOWNS:
        filters = AI_FILTER if dim == "model" else {}
        try:
            moved = tools("movers", {**span, "by": [dim], "top": request.top, "filters": filters})
        except (DataError, InputError) as exc:
            notes.append(f"by {dim}: {exc}")
            continue
        breakdowns.append(Breakdown(dimension=dim, lines=[_line(m) for m in moved.movers]))
    anomalies, more = _anomalies(tools, week, notes)
    budgets, total_budget = _budgets(tools, notes)
    return DigestResult(
        status="ok",
        currency=spent.currency,
        total=total,
        breakdowns=breakdowns,
        movers=[_line(m) for m in overall.movers],
        anomalies=anomalies,
        more_anomalies=more,
        month=_month(tools, total_budget, notes),
        budgets=budgets,
        ai=_ai(tools, week, notes),
        savings=_savings(tools),
        daily=_daily(tools, week, notes),
        notes=notes,
        calls=tools.calls,
        **base,
    )


def _anomalies(tools: _Tools, week: Period, notes: list[str]) -> tuple[list[WeekAnomaly], int]:
    try:
        report = tools("anomalies", {"period": week.label()})
    except (DataError, InputError) as exc:
        notes.append(f"anomalies: {exc}")
        return [], 0
    found = [
        WeekAnomaly(
            series=a.series,
            start=str(a.start),
            end=str(a.end),
            expected=a.expected,
            actual=a.actual,
            impact=a.impact,
            impact_pct=a.impact_pct,
            root_causes=[RootCauseLine(**c.model_dump()) for c in a.root_causes[:3]],
        )  # fmt: skip
        for a in sorted(report.anomalies, key=lambda a: -abs(a.impact))
    ]
    return found[:MAX_ANOMALIES], max(len(found) - MAX_ANOMALIES, 0)


def _budgets(tools: _Tools, notes: list[str]) -> tuple[list[BudgetLine], Decimal | None]:
    try:
        report = tools("budget_status", {})
    except InputError:  # none set: the outlook is shown without a budget
        return [], None
    except DataError as exc:
        notes.append(f"budgets: {exc}")
        return [], None
    lines = [
        BudgetLine(
            scope=b.scope,
            period_kind=b.period_kind,
            amount=b.amount,
            spent=b.spent,
            projected=b.projected,
            pct_used=b.pct_used,
            pct_projected=b.pct_projected,
            projected_overrun=b.projected_overrun,
            alert_level=b.alert_level,
        )  # fmt: skip
        for b in report.budgets
    ]
    total = next((b.amount for b in lines if b.scope == "total" and b.period_kind == "month"), None)
    return lines, total


def _month(tools: _Tools, budget: Decimal | None, notes: list[str]) -> MonthOutlook | None:
    args: dict[str, Any] = {"horizon": 7} | ({"budget": str(budget)} if budget is not None else {})
    try:
        report = tools("forecast", args)
    except (DataError, InputError) as exc:
        notes.append(f"month-end forecast: {exc}")
        return None
    projection = report.forecasts[0].month_end if report.forecasts else None
    if projection is None:
        notes.append("month-end forecast: not enough history")
        return None
    ratio = projection.projected / budget if budget else None
    return MonthOutlook(
        month=Period(start=projection.start, end=projection.end),
        actual_to_date=projection.actual_to_date, projected=projection.projected,
        lo80=projection.lo80, hi80=projection.hi80, budget=budget,
        projected_pct_of_budget=None if ratio is None else (ratio * 100).quantize(Decimal("0.1")),
        budget_crossed_on=projection.budget_crossed_on, note=projection.note,
    )  # fmt: skip


def _ai(tools: _Tools, week: Period, notes: list[str]) -> AiEconomics | None:
    try:
        report = tools("unit_costs", {"period": week.label()})
    except (DataError, InputError) as exc:
        notes.append(f"AI unit economics: {exc}")
        return None
    if not report.rows:
        notes.append("AI unit economics: no LLM usage this week")
        return None
    rows = sorted(report.rows, key=lambda r: -r.cost)[:MAX_AI_LINES]
    return AiEconomics(
        total=report.total,
        untagged_share=report.untagged_share,
        lines=[
            UnitLine(
                feature=r.feature,
                model=r.model,
                cost=r.cost,
                tokens=r.tokens,
                requests=r.requests,
                cost_per_1k_tokens=r.cost_per_1k_tokens,
                cost_per_request=r.cost_per_request,
            )  # fmt: skip
            for r in rows
        ],
    )


def _stage(items: list[Any]) -> Stage:
    saving = sum((i.monthly_cost_now - i.monthly_cost_after for i in items), Decimal(0))
    return Stage(count=len(items), monthly_savings=saving, proposals=[i.id for i in items])


def _savings(tools: _Tools) -> SavingsPipeline:
    items = tools("proposals_list", {}).proposals
    by_state: dict[str, list[Any]] = {}
    for item in items:
        by_state.setdefault(item.state, []).append(item)
    measured = tools("savings", {})
    if measured.measured:
        realised: Decimal | None = measured.realised_monthly_saving
        note = (
            f"{measured.measured} of {measured.merged} merged change(s) measured: realised "
            f"{measured.realised_monthly_saving}/month vs estimated {measured.estimated_of_measured}/month"
        )
    else:
        realised = None
        note = (
            f"{measured.merged} merged change(s), none with enough data after the merge yet"
            if measured.merged
            else "nothing merged yet"
        )
    return SavingsPipeline(
        open=_stage(by_state.get("awaiting_approval", [])),
        approved=_stage(by_state.get("approved", []) + by_state.get("pr_opened", [])),
        merged=_stage(by_state.get("merged", [])),
        realised=realised,
        realised_note=note,
        blocked=[
            BlockedLine(id=i.id, title=i.title, rules=i.blocked_rules) for i in by_state.get("blocked", [])
        ],
        waiting=Stage(
            count=len(measured.waiting),
            monthly_savings=measured.waiting_monthly_saving,
            proposals=[w.branch for w in measured.waiting],
        ),
        estimated_of_measured=measured.estimated_of_measured if measured.measured else None,
    )


def _daily(tools: _Tools, week: Period, notes: list[str]) -> list[DayCost]:
    window = Period(start=week.end - timedelta(days=CHART_DAYS - 1), end=week.end)
    result = tools("spend", {"period": window.label(), "by": ["day"]})
    by_day = {date.fromisoformat(r.dims["day"][:10]): r.cost for r in result.rows}
    days = [window.start + timedelta(days=i) for i in range(CHART_DAYS)]
    missing = [d for d in days if d not in by_day]
    if missing:
        notes.append(f"chart: no cost data on {len(missing)} of {CHART_DAYS} days (shown as 0)")
    return [DayCost(day=d, cost=by_day.get(d, Decimal(0)), in_week=week.start <= d <= week.end) for d in days]
