"""Anomaly checks over the warehouse: daily usage cost per series, one level below, root causes.

One query brings daily cost per ``by`` series, drill value and charge kind; usage rows make the
series and their baseline, the other charges are summed apart (``charges``). The detector runs
on the asked series and on the level below; ``findings`` turns the runs into anomalies and
tag-hygiene findings; a few more queries (one per dimension, not per finding) rank root causes.
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
from tools.anomalies.charges import (
    baseline_for,
    is_usage,
    non_usage_note,
    split_dimensions,
    summarise_non_usage,
    usage_filters,
)
from tools.anomalies.detect import Detection, DetectorSettings, detect
from tools.anomalies.findings import Hygiene, Run, classify, drill_dimension, runs_of
from tools.anomalies.hygiene import ResourceView
from tools.anomalies.models import Anomaly, AnomalyReport, TagHygiene
from tools.anomalies.root_causes import MAX_ROOT_CAUSES, ROOT_CAUSE_DIMENSIONS, RootCause, root_causes
from tools.anomalies.seasonality import season_length
from tools.anomalies.series_service import find_series_anomalies
from warehouse.dimensions import TIME_DIMENSIONS
from warehouse.facts import FACT_TABLE
from warehouse.query import daily_costs, resolve_dimensions

DAILY_SEASON = season_length(timedelta(days=1))
# History beyond the k seasons of the baseline, so the MAD has enough residuals.
EXTRA_HISTORY_DAYS = 28

__all__ = ["find_anomalies", "find_series_anomalies"]


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


def _exact(frame: pd.DataFrame, by: list[str], key: tuple[str, ...], start: date, end: date) -> Decimal:
    mask = (frame["day"] >= start) & (frame["day"] <= end)
    for name, value in zip(by, key, strict=True):
        mask &= frame[name].astype(str) == value
    return sum(frame.loc[mask, "cost"], Decimal(0))


def _detect_runs(
    frame: pd.DataFrame,
    by: list[str],
    days: list[date],
    settings: DetectorSettings,
    evaluate_from: int,
    sub_position: int | None = None,
) -> tuple[list[Run], int, Detection]:
    """Runs up and down (drops explain untagged jumps even when only rises are reported)."""
    keys, matrix = pivot_daily(frame, by, days)
    both = settings.model_copy(update={"direction": "both"})
    detection = detect(blank_before_first_cost(matrix), DAILY_SEASON, both, evaluate_from=evaluate_from)
    return runs_of(detection, keys, days, sub_position), len(keys), detection


def _money_of(
    run: Run, usage: pd.DataFrame, by: list[str], drill: str | None
) -> tuple[Decimal, Decimal, dict[str, str] | None]:
    """(expected, actual) of the parent series over the run, exact; found_in for a drill-down run.

    A run found one level below: the parent's actual, and as expected the parent with that line
    at its own expected value (so impact = the line's impact).
    """
    actual = _cents(_exact(usage, by, run.key, run.start, run.end))
    if run.sub is None or drill is None:
        return _cents(run.expected), actual, None
    line = _cents(_exact(usage, [*by, drill], (*run.key, run.sub), run.start, run.end))
    return actual - (line - _cents(run.expected)), actual, {drill: run.sub}


def _anomaly(run: Run, usage: pd.DataFrame, by: list[str], drill: str | None) -> Anomaly:
    expected, actual, found_in = _money_of(run, usage, by, drill)
    impact = actual - expected
    return Anomaly(
        series=dict(zip(by, run.key, strict=True)), start=run.start, end=run.end, expected=expected,
        actual=actual, impact=impact, impact_pct=_pct(impact, expected), score=round(run.score, 2),
        direction=run.direction, found_in=found_in,
    )  # fmt: skip


def _hygiene(
    item: Hygiene, usage: pd.DataFrame, by: list[str], drill: str | None, view: ResourceView
) -> TagHygiene:
    expected, actual, found_in = _money_of(item.run, usage, by, drill)
    impact = actual - expected
    sources = [
        {**dict(zip(by, s.key, strict=True)), **({drill: s.sub} if s.sub and drill else {})}
        for s in item.sources
    ]
    return TagHygiene(
        series=dict(zip(by, item.run.key, strict=True)), found_in=found_in, start=item.run.start,
        end=item.run.end, expected=expected, actual=actual, impact=impact, impact_pct=_pct(impact, expected),
        likely_from=sources, resources=view.resources(item.run),
    )  # fmt: skip


def _line_first(anomaly: Anomaly, causes: list[RootCause]) -> list[RootCause]:
    """A run found one level below: its line is the root cause by construction, first."""
    if not anomaly.found_in:
        return causes
    ((dimension, value),) = anomaly.found_in.items()
    line = RootCause(dimension=dimension, value=value, contribution=anomaly.impact)
    return [line, *[c for c in causes if (c.dimension, c.value) != (dimension, value)]][:MAX_ROOT_CAUSES]


def find_anomalies(
    backend: ibis.BaseBackend,
    period: Period,
    by: list[str],
    filters: dict[str, list[str]] | None = None,
    settings: DetectorSettings | None = None,
    with_root_causes: bool = True,
    table: str = FACT_TABLE,
    baseline: str = "usage",
    drill_down: bool = True,
) -> AnomalyReport:
    """Anomalous runs of daily cost per ``by`` series with start, end, expected, actual, root causes.

    ``baseline``: ``usage`` leaves credits, refunds, adjustments and taxes out of the series and
    reports them under ``non_usage``; ``all`` keeps every charge. ``drill_down``: also check one
    level below ``by`` (the first of service, team, env, account, region not asked) and report
    what is found there on its parent series, with ``found_in`` naming the line.
    """
    settings = settings or DetectorSettings()
    filters = filters or {}
    check_series_dimensions(by)
    resolve_dimensions(by, backend, table)
    baseline, rule = baseline_for(baseline, by, filters)
    drill = drill_dimension(by) if drill_down else None
    history = settings.seasons * DAILY_SEASON + EXTRA_HISTORY_DAYS
    window = Period(start=period.start - timedelta(days=history), end=period.end)
    detail = [*by, *([drill] if drill else [])]
    frame = daily_costs(backend, window, [*detail, *split_dimensions(rule)], filters, table=table)
    in_period = frame[frame["day"] >= period.start] if not frame.empty else frame
    if in_period.empty:
        scope = f" with {describe_filters(filters)}" if filters else ""
        raise DataError(
            f"no cost rows in {period.label()}{scope}; check --period, --filter or ingest data first"
        )
    keep = is_usage(frame, rule)
    usage, other = frame[keep], frame[~keep]
    # Days after the last day holding any data are not zero spend, just not billed yet; days
    # before a series' first cost are not zero spend either, just before its history.
    first_day = max(window.start, min(frame["day"]))
    last_day = min(period.end, max(frame["day"]))
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    evaluate_from = max(0, (period.start - first_day).days)
    parent_runs, n_series, detection = _detect_runs(usage, by, days, settings, evaluate_from)
    sub_runs = (
        _detect_runs(usage, detail, days, settings, evaluate_from, sub_position=len(by))[0] if drill else []
    )
    causes_filters = usage_filters(filters, rule)
    view = ResourceView(backend, by, drill, causes_filters, parent_runs + sub_runs, table)
    found = classify(parent_runs, sub_runs, settings.direction, view.is_tag_loss)
    anomalies = [_anomaly(run, usage, by, drill) for run in found.anomalies]
    hygiene = [_hygiene(item, usage, by, drill, view) for item in found.hygiene]
    if with_root_causes and anomalies:
        items = [(tuple(a.series[b] for b in by), a.start, a.end, a.direction) for a in anomalies]
        ranked = root_causes(
            backend,
            window,
            by,
            causes_filters,
            items,
            ROOT_CAUSE_DIMENSIONS,
            DAILY_SEASON,
            settings.seasons,
            table,
        )
        anomalies = [
            a.model_copy(update={"root_causes": _line_first(a, c)})
            for a, c in zip(anomalies, ranked, strict=True)
        ]
    anomalies.sort(key=lambda x: (-abs(x.impact), x.start))
    hygiene.sort(key=lambda x: (-x.impact, x.start))
    currency = frame.attrs.get("currency")
    non_usage, per_kind, n_other = summarise_non_usage(other, by, period.start)
    notes = [detection.note] if detection.note else []
    if detection.unchecked:
        first, last = detection.unchecked
        notes.append(
            f"days {days[first]}..{days[last]} not checked: not enough history "
            f"(needs {settings.min_seasons} weeks before a day)"
        )
    if hygiene:
        top = hygiene[0]
        notes.append(
            f"tag hygiene: {len(hygiene)} jump(s) of untagged spend reported apart, not as anomalies "
            f"(largest {top.impact} {currency or ''} on {top.start}); tag the resources under tag_hygiene"
        )
    if (note := non_usage_note(non_usage, per_kind, n_other, currency or "")) is not None:
        notes.append(note)
    return AnomalyReport(
        anomalies=anomalies,
        status=detection.status,
        season=detection.season,
        series_checked=n_series,
        notes=notes,
        currency=currency,
        baseline=baseline,
        non_usage=non_usage,
        tag_hygiene=hygiene,
        drill_dimension=drill,
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
