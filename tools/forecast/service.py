"""Forecasts of daily spend from the warehouse, with a period-end projection per series.

Which days are final: the as-of day is in progress and never used. The day before counts as
final unless it looks incomplete — fewer than half the fact rows of the median of the seven
days before it (bills land late; a half-loaded day would drag every forecast down). Left-out
days are forecast instead.

Stale data: when even the day before the as-of day holds no rows, the days from the last data
day to the as-of day are "no data since X" (an ingestion gap, not spend of zero and not "not
final yet"). The model is fitted up to the last data day and forecasts across the gap; the
daily points start at the as-of day, and the period projection says how much of it is actual.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import ibis
import numpy as np
import pandas as pd

from domain.errors import DataError, InputError
from domain.money import round_cents
from domain.period import Period
from domain.provenance import Provenance
from tools.anomalies.detect import Status
from tools.anomalies.service import check_series_dimensions, describe_filters, pivot_daily
from tools.forecast.backtest import interval
from tools.forecast.engines import ETS_MIN_SEASONS, MODEL_NAIVE, MODEL_NONE, ForecastArrays, forecast_arrays
from tools.forecast.models import ForecastPoint, ForecastReport, Projection, SeriesForecast
from warehouse.facts import FACT_TABLE
from warehouse.query import daily_costs, resolve_dimensions

SEASON = 7
INCOMPLETE_ROW_SHARE = 0.5
MAX_HORIZON = 366


def month_of(day: date) -> Period:
    start = day.replace(day=1)
    nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return Period(start=start, end=nxt - timedelta(days=1))


MAX_BILLING_LAG = 1  # days without rows before the as-of day still read as "not final yet"


def data_gap(last_data_day: date, as_of: date) -> list[date]:
    """Days without any rows between the last data day and the as-of day, when that is more
    than the usual billing lag: an ingestion gap ("no data since X"), not days "not final yet".
    """
    missing = (as_of - last_data_day).days - 1
    if missing <= MAX_BILLING_LAG:
        return []
    return [last_data_day + timedelta(days=i) for i in range(1, missing + 1)]


def final_days(frame: pd.DataFrame, as_of: date) -> tuple[date, list[date]]:
    """(last final day, days not final yet) for daily_costs rows ending before ``as_of``.

    Not final: the as-of day, and the day before when it is missing or half loaded. The days
    of a longer gap (``data_gap``) are not listed here.
    """
    rows_per_day = frame.groupby("day")["rows"].sum()
    last = max(rows_per_day.index)
    if data_gap(last, as_of):
        return last, [as_of]
    left_out = [last + timedelta(days=i) for i in range(1, (as_of - last).days + 1)]
    before = rows_per_day[(rows_per_day.index < last) & (rows_per_day.index >= last - timedelta(days=7))]
    incomplete = len(before) >= 3 and rows_per_day[last] < INCOMPLETE_ROW_SHARE * float(
        np.median(before.to_numpy())
    )
    if last == as_of - timedelta(days=1) and incomplete:
        return last - timedelta(days=1), [last, *left_out]
    return last, left_out


def _money(value: float) -> Decimal:
    return round_cents(Decimal(repr(float(value))))


def _note(model: str, history: int) -> str | None:
    if model == MODEL_NONE:
        return f"not enough data: {history} days of history, a forecast needs at least {SEASON + 1}"
    if model == MODEL_NAIVE:
        return f"seasonal naive: only {history} days of history (ETS needs {ETS_MIN_SEASONS * SEASON})"
    return None


def project(
    arrays: ForecastArrays,
    row: int,
    last_final: date,
    period: Period,
    actual_by_day: dict[date, Decimal],
) -> Projection | None:
    """Actual spend of the period's final days + forecast of its remaining days (80% band)."""
    through = min(last_final, period.end)
    actual_days = [d for d in actual_by_day if period.start <= d <= through]
    actual = sum((actual_by_day[d] for d in actual_days), Decimal(0))
    path: list[tuple[date, Decimal]] = [
        (period.start + timedelta(days=i), actual_by_day.get(period.start + timedelta(days=i), Decimal(0)))
        for i in range(max(0, (through - period.start).days + 1))
    ]
    first = max(1, (period.start - last_final).days)  # first forecast step inside the period
    last = (period.end - last_final).days
    if last >= first and arrays.model[row] == MODEL_NONE:
        return None
    mean_sum, var = 0.0, 0.0
    if last >= first:
        steps = (
            np.clip(arrays.mean[row, first - 1 : last], 0, None)
            if arrays.nonnegative[row]
            else arrays.mean[row, first - 1 : last]
        )
        mean_sum = float(steps.sum())
        var = float(arrays.range_sum_variance(first, last, slice(row, row + 1))[0])
        path += [(last_final + timedelta(days=first + i), _money(v)) for i, v in enumerate(steps)]
    lo, hi, mid = interval(
        np.array([[mean_sum]]), np.array([[var]]), 0.80, np.array([bool(arrays.nonnegative[row])])
    )
    return Projection(
        start=period.start, end=period.end, actual_through=through if actual_days or through >= period.start else None,
        actual_to_date=round_cents(actual), projected=round_cents(actual) + _money(mid[0, 0]),
        lo80=round_cents(actual) + _money(lo[0, 0]), hi80=round_cents(actual) + _money(hi[0, 0]), path=tuple(path),
    )  # fmt: skip


def gap_message(gap: list[date]) -> str:
    return f"no data since {gap[0]} ({len(gap)} days without cost rows up to {gap[-1]}; check ingestion)"


def _gap_note(projection: Projection | None, gap: list[date]) -> Projection | None:
    """Say plainly that the actual part of a period stops where the data stops."""
    if projection is None or not gap or gap[0] > projection.end:
        return projection
    through = projection.actual_through
    actual = (
        f"actual_to_date counts data through {through} only, the rest of the period is forecast"
        if through
        else "no actual data in this period, all of it is forecast"
    )
    return projection.model_copy(update={"note": f"no data since {gap[0]}: {actual}"})


def _with_budget(projection: Projection | None, budget: Decimal | None) -> Projection | None:
    if projection is None or budget is None:
        return projection
    return projection.model_copy(
        update={"budget": budget, "budget_crossed_on": projection.crossing_date(budget)}
    )


def _points(
    arrays: ForecastArrays, row: int, last_final: date, horizon: int, skip: int = 0
) -> list[ForecastPoint]:
    """``horizon`` daily points after the first ``skip`` forecast steps (a data gap)."""
    if arrays.model[row] == MODEL_NONE:
        return []
    var = arrays.variance(slice(row, row + 1))[:, skip : skip + horizon]
    mean = arrays.mean[row : row + 1, skip : skip + horizon]
    nonneg = arrays.nonnegative[row : row + 1]
    lo80, hi80, mid = interval(mean, var, 0.80, nonneg)
    lo95, hi95, _ = interval(mean, var, 0.95, nonneg)
    return [
        ForecastPoint(
            date=last_final + timedelta(days=skip + h + 1),
            mean=_money(mid[0, h]),
            lo80=_money(lo80[0, h]),
            hi80=_money(hi80[0, h]),
            lo95=_money(lo95[0, h]),
            hi95=_money(hi95[0, h]),
        )  # fmt: skip
        for h in range(horizon)
    ]


def forecast_spend(
    backend: ibis.BaseBackend,
    as_of: date,
    by: list[str] | None = None,
    filters: dict[str, list[str]] | None = None,
    horizon: int = 30,
    history_days: int = 365,
    engine: str = "ets",
    projection: Period | None = None,
    table: str = FACT_TABLE,
    budget: Decimal | None = None,
) -> ForecastReport:
    """Daily forecasts (``horizon`` days, 80/95% intervals) and a period-end projection per series.

    ``projection`` defaults to the calendar month of ``as_of``; budgets pass their quarter.
    With ``budget`` (currency units, per series), each projection says the day it is crossed.
    """
    by, filters = by or [], filters or {}
    if not 1 <= horizon <= MAX_HORIZON:
        raise InputError(f"horizon {horizon}: use 1..{MAX_HORIZON} days")
    check_series_dimensions(by)
    resolve_dimensions(by, backend, table)
    window = Period(start=as_of - timedelta(days=history_days), end=as_of - timedelta(days=1))
    frame = daily_costs(backend, window, by, filters, table=table)
    if frame.empty:
        scope = f" with {describe_filters(filters)}" if filters else ""
        raise DataError(
            f"no cost rows in {window.label()}{scope} to forecast from; ingest data or check the filters"
        )
    last_final, left_out = final_days(frame, as_of)
    gap = data_gap(max(frame["day"]), as_of)
    # Points start the day after the last final day; across a data gap, at the as-of day.
    skip = len(gap) if gap else 0
    frame = frame[frame["day"] <= last_final]
    start = min(frame["day"])
    days = [start + timedelta(days=i) for i in range((last_final - start).days + 1)]
    keys, matrix = pivot_daily(frame, by, days)
    period = projection or month_of(as_of)
    steps_needed = max(skip + horizon, (period.end - last_final).days)
    arrays = forecast_arrays(matrix, steps_needed, SEASON, engine)
    exact = frame.groupby([*by, "day"])["cost"].sum() if by else frame.groupby("day")["cost"].sum()
    forecasts = []
    for row, key in enumerate(keys):
        per_day = exact.loc[key] if by else exact
        actual_by_day = {d: Decimal(v) for d, v in per_day.items()}
        model = arrays.model[row]
        forecasts.append(
            SeriesForecast(
                series=dict(zip(by, key, strict=True)),
                model=model,
                status=Status.insufficient_data if model == MODEL_NONE else Status.ok,
                note=_note(model, int(arrays.history[row])),
                history_days=int(arrays.history[row]),
                points=_points(arrays, row, last_final, horizon, skip),
                month_end=_with_budget(
                    _gap_note(project(arrays, row, last_final, period, actual_by_day), gap), budget
                ),
            )  # fmt: skip
        )
    forecasts.sort(key=lambda f: -(f.month_end.projected if f.month_end else Decimal(0)))
    notes = [f"left out {', '.join(d.isoformat() for d in left_out)}: not final yet"] if left_out else []
    if gap:
        notes.insert(
            0, gap_message(gap) + f"; forecasts start at the as-of day {as_of}, extrapolated across the gap"
        )
    return ForecastReport(
        forecasts=forecasts, as_of=as_of, last_final_day=last_final, left_out=left_out, horizon=horizon,
        no_data_since=gap[0] if gap else None, forecast_start=last_final + timedelta(days=skip + 1),
        currency=frame.attrs.get("currency"), notes=notes,
        provenance=Provenance(
            tool="forecast", engine=str(frame.attrs.get("engine", backend.name)),
            query=str(frame.attrs.get("sql", "")), period=window,
            filters={k: ",".join(v) for k, v in filters.items()},
            rows_scanned=int(frame.attrs.get("rows_scanned", 0)),
        ),
    )  # fmt: skip
