"""Anomaly checks over the warehouse (daily cost per series) or over one series file."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from domain.errors import DataError, InputError
from domain.money import round_cents
from domain.period import Period
from domain.provenance import Provenance
from tools.anomalies.detect import Detection, DetectorSettings, RawAnomaly, detect
from tools.anomalies.models import Anomaly, AnomalyReport
from tools.anomalies.root_causes import ROOT_CAUSE_DIMENSIONS, contributions, rank_root_causes
from tools.anomalies.seasonality import season_length
from tools.anomalies.series_file import read_series_file
from warehouse.dimensions import TIME_DIMENSIONS
from warehouse.facts import FACT_TABLE
from warehouse.query import daily_costs, resolve_dimensions

DAILY_SEASON = season_length(timedelta(days=1))
# History beyond the k seasons of the baseline, so the MAD has enough residuals.
EXTRA_HISTORY_DAYS = 28


def check_series_dimensions(by: list[str]) -> None:
    """Series are daily already: a time dimension cannot also split them."""
    for name in by:
        if name in TIME_DIMENSIONS:
            raise InputError(
                f"--by {name}: series are daily already; split by other dimensions (team, service…)"
            )


def describe_filters(filters: dict[str, list[str]]) -> str:
    return ", ".join(f"{key}={','.join(values)}" for key, values in filters.items())


def _cents(value: float | Decimal) -> Decimal:
    return round_cents(value if isinstance(value, Decimal) else Decimal(repr(float(value))))


def _pct(impact: Decimal, expected: Decimal) -> float | None:
    return None if expected == 0 else round(float(impact / abs(expected) * 100), 2)


def pivot_daily(
    frame: pd.DataFrame, by: list[str], days: list[date]
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """(series keys, matrix series × days) from daily_costs rows; missing days cost 0."""
    if not by:
        totals = frame.groupby("day")["cost"].sum()
        row = np.array([float(totals.get(d, 0)) for d in days])
        return [()], row[None, :]
    work = frame.assign(cost=frame["cost"].astype(float))
    table = work.pivot_table(index=by, columns="day", values="cost", aggfunc="sum", fill_value=0.0)
    table = table.reindex(columns=days, fill_value=0.0)
    keys = [k if isinstance(k, tuple) else (k,) for k in table.index.tolist()]
    return [tuple(str(v) for v in k) for k in keys], table.to_numpy(dtype=float)


def blank_before_first_cost(matrix: np.ndarray) -> np.ndarray:
    """NaN before each series' first non-zero day (its history starts there)."""
    active = np.cumsum(matrix != 0, axis=1) > 0
    return np.where(active, matrix, np.nan)


def _exact_actual(
    frame: pd.DataFrame, by: list[str], key: tuple[str, ...], start: date, end: date
) -> Decimal:
    mask = (frame["day"] >= start) & (frame["day"] <= end)
    for name, value in zip(by, key, strict=True):
        mask &= frame[name].astype(str) == value
    return sum(frame.loc[mask, "cost"], Decimal(0))


def _root_causes_for(
    backend: ibis.BaseBackend,
    window: Period,
    by: list[str],
    filters: dict[str, list[str]],
    raw: list[tuple[RawAnomaly, dict[str, str], date, date]],
    settings: DetectorSettings,
    table: str = FACT_TABLE,
) -> dict[int, list]:
    """One query per root-cause dimension (not per anomaly), then pure ranking per anomaly."""
    per_anomaly: dict[int, dict[str, pd.Series]] = {i: {} for i in range(len(raw))}
    for dimension in ROOT_CAUSE_DIMENSIONS:
        if dimension in by:
            continue
        frame = daily_costs(backend, window, [*by, dimension], filters, table=table)
        for i, (_, series, start, end) in enumerate(raw):
            rows = frame
            for name, value in series.items():
                rows = rows[rows[name].astype(str) == value]
            per_anomaly[i][dimension] = contributions(
                rows[["day", dimension, "cost"]], dimension, start, end, DAILY_SEASON, settings.seasons
            )
    return {i: rank_root_causes(parts, direction=raw[i][0].direction) for i, parts in per_anomaly.items()}


def find_anomalies(
    backend: ibis.BaseBackend,
    period: Period,
    by: list[str],
    filters: dict[str, list[str]] | None = None,
    settings: DetectorSettings | None = None,
    with_root_causes: bool = True,
    table: str = FACT_TABLE,
) -> AnomalyReport:
    """Anomalous runs of daily cost per ``by`` series with start, end, expected, actual, root causes."""
    settings = settings or DetectorSettings()
    filters = filters or {}
    check_series_dimensions(by)
    resolve_dimensions(by, backend, table)
    history = settings.seasons * DAILY_SEASON + EXTRA_HISTORY_DAYS
    window = Period(start=period.start - timedelta(days=history), end=period.end)
    frame = daily_costs(backend, window, by, filters, table=table)
    in_period = frame[frame["day"] >= period.start] if not frame.empty else frame
    if in_period.empty:
        scope = f" with {describe_filters(filters)}" if filters else ""
        raise DataError(
            f"no cost rows in {period.label()}{scope}; check --period, --filter or ingest data first"
        )
    # Days after the last day holding any data are not zero spend, just not billed yet; days
    # before a series' first cost are not zero spend either, just before its history.
    first_day = max(window.start, min(frame["day"]))
    last_day = min(period.end, max(frame["day"]))
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    keys, matrix = pivot_daily(frame, by, days)
    matrix = blank_before_first_cost(matrix)
    evaluate_from = max(0, (period.start - first_day).days)
    detection: Detection = detect(matrix, DAILY_SEASON, settings, evaluate_from=evaluate_from)
    raw = [
        (a, dict(zip(by, keys[a.series_index], strict=True)), days[a.start_index], days[a.end_index])
        for a in detection.anomalies
    ]
    causes = (
        _root_causes_for(backend, window, by, filters, raw, settings, table)
        if raw and with_root_causes
        else {}
    )
    anomalies = []
    for i, (a, series, start, end) in enumerate(raw):
        actual = _cents(_exact_actual(frame, by, keys[a.series_index], start, end))
        expected = _cents(a.expected)
        impact = actual - expected
        anomalies.append(
            Anomaly(
                series=series,
                start=start,
                end=end,
                expected=expected,
                actual=actual,
                impact=impact,
                impact_pct=_pct(impact, expected),
                score=round(a.score, 2),
                direction=a.direction,
                root_causes=causes.get(i, []),
            )  # fmt: skip
        )
    anomalies.sort(key=lambda x: (-abs(x.impact), x.start))
    notes = [detection.note] if detection.note else []
    if detection.unchecked:
        first, last = detection.unchecked
        notes.append(
            f"days {days[first]}..{days[last]} not checked: not enough history "
            f"(needs {settings.min_seasons} weeks before a day)"
        )
    return AnomalyReport(
        anomalies=anomalies,
        status=detection.status,
        season=detection.season,
        series_checked=detection.series,
        notes=notes,
        currency=frame.attrs.get("currency"),
        settings=settings,
        provenance=Provenance(
            tool="anomalies",
            engine=str(frame.attrs.get("engine", backend.name)),
            query=str(frame.attrs.get("sql", "")),
            period=period,
            filters={k: ",".join(v) for k, v in filters.items()},
            rows_scanned=int(frame.attrs.get("rows_scanned", 0)),
        ),
    )


def find_series_anomalies(path: Path, settings: DetectorSettings | None = None) -> AnomalyReport:
    """Anomalous runs in a ``timestamp,value`` CSV; the series is named after the file."""
    settings = settings or DetectorSettings()
    series = read_series_file(path)
    season = season_length(series.interval)
    detection = detect(series.as_array()[None, :], season, settings)
    anomalies = []
    for a in detection.anomalies:
        exact = [v for v in series.values[a.start_index : a.end_index + 1] if v is not None]
        actual = _cents(sum(exact, Decimal(0)))
        expected = _cents(a.expected)
        impact = actual - expected
        anomalies.append(
            Anomaly(
                series={"series": series.name},
                start=series.label(a.start_index),
                end=series.label(a.end_index),
                expected=expected,
                actual=actual,
                impact=impact,
                impact_pct=_pct(impact, expected),
                score=round(a.score, 2),
                direction=a.direction,
            )  # fmt: skip
        )
    anomalies.sort(key=lambda x: x.start)
    first, last = series.timestamps[0], series.timestamps[-1]
    return AnomalyReport(
        anomalies=anomalies,
        status=detection.status,
        season=season,
        series_checked=1,
        notes=[detection.note] if detection.note else [],
        settings=settings,
        provenance=Provenance(
            tool="anomalies",
            engine="file",
            query=f"robust seasonal median over {path.name} ({len(series.timestamps)} points every {series.interval})",
            period=Period(start=first.date(), end=last.date()),
            rows_scanned=sum(v is not None for v in series.values),
        ),
    )
