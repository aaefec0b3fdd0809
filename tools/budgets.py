"""Budget status: spent, projected at period end (from the forecast), % used, crossing date, alerts.

Alert levels follow the usual cloud-budget thresholds: 50/75/90/100% of the hard amount on
actual spend, plus "projected overrun" when the period-end projection exceeds it; a soft amount
raises its own alert when actual spend reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import ibis
from pydantic import BaseModel, ConfigDict, Field

from domain.errors import DataError, InputError
from domain.money import Money, round_cents
from domain.period import Period
from domain.provenance import Provenance
from store.budgets import BudgetRecord
from tools.anomalies.models import BudgetBurn
from tools.forecast import Projection, forecast_spend, month_of
from warehouse.query import scoped, spend_breakdown

# Scope kinds → the dimension they filter on (None: the whole bill).
SCOPE_DIMENSIONS: dict[str, str | None] = {
    "total": None,
    "team": "team",
    "env": "env",
    "feature": "feature",
    "model": "model",
}
ALERT_LEVELS: tuple[int, ...] = (50, 75, 90, 100)
PCT = Decimal("0.01")
PACE_TOLERANCE = Decimal("1.10")  # spend share more than 10% above the time share: ahead of pace
CENT = Decimal("0.01")
ALL_TIME = Period(start=date(1970, 1, 1), end=date(2999, 12, 31))


def quarter_of(day: date) -> Period:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + 2
    nxt = date(day.year + (end_month == 12), end_month % 12 + 1, 1)
    return Period(start=start, end=nxt - timedelta(days=1))


PERIOD_KINDS: dict[str, Callable[[date], Period]] = {"month": month_of, "quarter": quarter_of}


def parse_scope(text: str) -> tuple[str, str]:
    """``total`` or ``team=payments`` (env=, feature=, model=) → (kind, value)."""
    raw = text.strip()
    kind, sep, value = raw.partition("=")
    kind, value = kind.strip(), value.strip()
    if kind not in SCOPE_DIMENSIONS:
        raise InputError(f"scope {text!r}: unknown scope; use total or one of: "
                         f"{', '.join(k + '=NAME' for k in SCOPE_DIMENSIONS if k != 'total')}")  # fmt: skip
    if kind == "total":
        if sep:
            raise InputError(f"scope {text!r}: total takes no value")
        return "total", ""
    if not value:
        raise InputError(f"scope {text!r}: expected {kind}=NAME")
    return kind, value


def check_budget(amount: Decimal, soft: Decimal | None, period: str) -> None:
    for flag, value in (("amount", amount), ("soft amount", soft)):
        if value is not None and value != value.quantize(CENT):
            raise InputError(f"{flag} {value}: budgets are in whole cents (at most 2 decimals)")
    if amount <= 0:
        raise InputError(f"amount {amount}: must be greater than 0")
    if soft is not None and not 0 < soft <= amount:
        raise InputError(f"soft amount {soft}: must be greater than 0 and at most the amount {amount}")
    if period not in PERIOD_KINDS:
        raise InputError(f"budget period {period!r}: use one of: {', '.join(PERIOD_KINDS)}")


def scope_filters(kind: str, value: str) -> dict[str, list[str]]:
    dimension = SCOPE_DIMENSIONS[kind]
    return {} if dimension is None else {dimension: [value]}


def check_scope_exists(backend: ibis.BaseBackend, kind: str, value: str) -> None:
    """InputError when a team/env/feature/model value matches no cost row at any time.

    A typo (``team=paymnets``) would otherwise make a budget that silently stays at 0 spent.
    """
    filters = scope_filters(kind, value)
    if not filters:
        return
    if int(scoped(backend, ALL_TIME, filters).count().execute()) == 0:
        raise InputError(
            f"scope {kind}={value}: no cost rows have {kind} {value!r}; check the name, "
            "or force it to budget a scope that has no spend yet"
        )


class BudgetStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    scope: str
    period_kind: str
    period: Period
    amount: Money
    soft_amount: Money | None
    spent: Money = Field(description="billed so far in the period (through the as-of day)")
    projected: Money | None = Field(description="spend at period end: actual + forecast")
    projected_lo80: Money | None
    projected_hi80: Money | None
    pct_used: Decimal = Field(description="spent / amount × 100")
    pct_projected: Decimal | None
    crossed_on: date | None = Field(description="day the hard amount is (or is forecast to be) reached")
    crossed_forecast: bool = Field(description="True when crossed_on comes from the forecast")
    soft_crossed_on: date | None
    alert_level: int | None = Field(description="highest of 50/75/90/100 reached by actual spend")
    projected_overrun: bool
    alerts: list[str]
    model: str | None
    note: str | None = None


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole * 100).quantize(PCT, rounding=ROUND_HALF_EVEN)


def evaluate(
    budget: BudgetRecord, period: Period, spent: Decimal, projection: Projection | None, model: str | None,
    note: str | None = None,
) -> BudgetStatus:  # fmt: skip
    """Pure: a budget, the spend so far and the period-end projection → status and alerts."""
    amount, soft = budget.amount, budget.soft_amount
    projected = None if projection is None else max(projection.projected, round_cents(spent))
    level = max((lv for lv in ALERT_LEVELS if spent * 100 >= amount * lv), default=None)
    overrun = projected is not None and projected > amount
    crossed = projection.crossing_date(amount) if projection else None
    actual_crossed = crossed is not None and projection is not None and projection.actual_through is not None and (
        crossed <= projection.actual_through
    )  # fmt: skip
    soft_crossed = projection.crossing_date(soft) if projection and soft is not None else None
    alerts = []
    if level is not None:
        alerts.append(f"{level}% of the {budget.period}ly budget used ({_pct(spent, amount)}%)")
    if soft is not None and spent >= soft:
        alerts.append(f"soft budget {soft} reached")
    if overrun and projected is not None:
        alerts.append(f"projected overrun: {projected} against {amount}")
    return BudgetStatus(
        scope=budget.scope, period_kind=budget.period, period=period, amount=amount, soft_amount=soft,
        spent=round_cents(spent), projected=projected,
        projected_lo80=None if projection is None else max(projection.lo80, round_cents(spent)),
        projected_hi80=None if projection is None else max(projection.hi80, round_cents(spent)),
        pct_used=_pct(spent, amount), pct_projected=None if projected is None else _pct(projected, amount),
        crossed_on=crossed, crossed_forecast=crossed is not None and not actual_crossed,
        soft_crossed_on=soft_crossed, alert_level=level, projected_overrun=overrun, alerts=alerts,
        model=model, note=note,
    )  # fmt: skip


class BudgetReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: date
    budgets: list[BudgetStatus]
    provenance: Provenance


def budget_status(backend: ibis.BaseBackend, budgets: list[BudgetRecord], as_of: date) -> BudgetReport:
    """Status of every budget for the period (month / quarter) that contains ``as_of``."""
    statuses = []
    rows_scanned = 0
    for budget in budgets:
        period = PERIOD_KINDS[budget.period](as_of)
        filters = scope_filters(budget.scope_kind, budget.scope_value)
        to_date = Period(start=period.start, end=min(period.end, as_of))
        spent_rows = spend_breakdown(backend, to_date, [], filters)
        rows_scanned += spent_rows.rows_scanned
        spent = sum((r["cost"] for r in spent_rows.rows), Decimal(0))
        try:
            report = forecast_spend(backend, as_of, [], filters, horizon=1, projection=period)
        except DataError as exc:
            statuses.append(evaluate(budget, period, spent, None, None, note=str(exc)))
            continue
        series = report.forecasts[0]
        notes = [n for n in (series.note, series.month_end.note if series.month_end else None) if n]
        if report.no_data_since and not (series.month_end and series.month_end.note):
            notes.append(
                f"no data since {report.no_data_since}: spent counts data through {report.last_final_day}"
            )
        statuses.append(
            evaluate(budget, period, spent, series.month_end, series.model, "; ".join(notes) or None)
        )
    return BudgetReport(
        as_of=as_of,
        budgets=statuses,
        provenance=Provenance(
            tool="budgets",
            engine=backend.name,
            query="spend to date + forecast_spend per budget scope",
            rows_scanned=rows_scanned,
        ),  # fmt: skip
    )


def burn_findings(report: BudgetReport) -> list[BudgetBurn]:
    """Pure: budgets whose projection exceeds the amount or whose spend runs ahead of the calendar.

    Ahead of pace: % of the amount spent > 1.1 × % of the period's days already past.
    """
    findings = []
    for s in report.budgets:
        elapsed = Decimal(max(0, (report.as_of - s.period.start).days)) / s.period.days * 100
        reasons = []
        if s.projected_overrun and s.projected is not None:
            reasons.append(f"projected {s.projected} at period end, over the budget of {s.amount}")
        if elapsed > 0 and s.pct_used > elapsed * PACE_TOLERANCE:
            reasons.append(f"{s.pct_used}% used with {elapsed.quantize(PCT)}% of the period gone")
        if reasons:
            findings.append(
                BudgetBurn(
                    scope=s.scope,
                    period_kind=s.period_kind,
                    period_start=s.period.start,
                    period_end=s.period.end,
                    amount=s.amount,
                    spent=s.spent,
                    projected=s.projected,
                    pct_used=float(s.pct_used),
                    pct_elapsed=float(elapsed.quantize(PCT)),
                    crossed_on=s.crossed_on,
                    reasons=reasons,
                )  # fmt: skip
            )
    return findings
