"""Root causes: which service / account / region / team / model moved the money in a window.

For one anomaly and one dimension: actual = cost per value over the anomaly window; expected =
median over the previous k seasons of the cost per value over the same window shifted back by
whole seasons (the same baseline the detector used). Contribution = actual - expected.

One query brings the rows for every finding and dimension (``root_causes``); the ranking per
finding is pure.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from domain.money import Money, round_cents
from domain.period import Period

if TYPE_CHECKING:
    import ibis

Item = tuple[tuple[str, ...], date, date, str]  # series key, first day, last day, direction

# Dimensions searched for root causes, in the order of the issue (service, sub-account, …).
ROOT_CAUSE_DIMENSIONS: tuple[str, ...] = ("service", "account", "region", "team", "model")
MAX_ROOT_CAUSES = 5
MIN_SHARE = 0.05
TIE_SHARE = 0.1  # contributions this close explain the same money
NOT_APPLICABLE = "(none)"


class RootCause(BaseModel):
    model_config = ConfigDict(frozen=True)

    dimension: str
    value: str
    contribution: Money


def contributions(
    frame: pd.DataFrame,
    dimension: str,
    start: date,
    end: date,
    season_days: int,
    seasons: int,
) -> pd.Series:
    """Contribution (float, currency units) of each value of ``dimension`` to the change.

    ``frame`` has columns ``day``, ``dimension`` and ``cost`` (Decimal or float) for one series.
    """
    if frame.empty:
        return pd.Series(dtype=float)
    values = frame[dimension].astype(str)
    if values.nunique() < 2 or set(values.unique()) <= {"(none)", "(untagged)"}:
        # One value (or nothing known) is the whole series again: it explains nothing.
        return pd.Series(dtype=float)
    costs = pd.DataFrame({"day": frame["day"], "value": values, "cost": frame["cost"].astype(float)})
    index = pd.Index(sorted(values.unique()))

    def window_sum(offset_days: int) -> np.ndarray:
        shift = timedelta(days=offset_days)
        rows = costs[(costs["day"] >= start - shift) & (costs["day"] <= end - shift)]
        return rows.groupby("value")["cost"].sum().reindex(index, fill_value=0.0).to_numpy()

    actual = window_sum(0)
    baselines = np.stack([window_sum(j * season_days) for j in range(1, seasons + 1)])
    expected = np.median(baselines, axis=0)
    out = pd.Series(actual - expected, index=index)
    # The baseline of each value rides along: near-equal contributions are ranked by how much
    # each value changed relative to its own size (see rank_root_causes).
    out.attrs["expected"] = dict(zip(index, expected.tolist(), strict=True))
    return out


def rank_root_causes(
    by_dimension: dict[str, pd.Series], direction: str = "up", limit: int = MAX_ROOT_CAUSES
) -> list[RootCause]:
    """Top contributions across dimensions, largest $ first (most negative first for drops).

    Contributions within TIE_SHARE of each other explain the same money (a service line, its
    account, its region all carry one spike): among those, the value that changed most relative
    to its own baseline comes first — the narrowest explanation. Equal otherwise: the order of
    ROOT_CAUSE_DIMENSIONS, then the value.
    """
    sign = 1.0 if direction == "up" else -1.0
    ranked: list[tuple[float, float, int, str, str]] = []
    order = {d: i for i, d in enumerate(ROOT_CAUSE_DIMENSIONS)}
    for dimension, series in by_dimension.items():
        base = series.attrs.get("expected", {})
        for value, amount in series.items():
            # "(none)": rows the dimension does not apply to (no model on a cloud bill row).
            if sign * amount > 0 and str(value) != NOT_APPLICABLE:
                size = abs(float(base.get(value, 0.0)))
                relative = sign * float(amount) / size if size > 0 else float("inf")
                ranked.append(
                    (sign * float(amount), relative, order.get(dimension, len(order)), dimension, str(value))
                )
    top = max((item[0] for item in ranked), default=0.0)
    # Crumbs (under MIN_SHARE of the largest contribution) are noise, not causes.
    ranked = [item for item in ranked if item[0] >= MIN_SHARE * top]
    ranked.sort(key=lambda item: (-item[0], item[2], item[4]))
    out: list[tuple[float, float, int, str, str]] = []
    while ranked:
        lead = ranked[0][0]
        tied = [item for item in ranked if item[0] >= (1 - TIE_SHARE) * lead]
        tied.sort(key=lambda item: (-item[1], item[2], item[4]))
        out += tied
        ranked = ranked[len(tied) :]
    return [
        RootCause(dimension=d, value=v, contribution=round_cents(Decimal(repr(sign * amount))))
        for amount, _, _, d, v in out[:limit]
    ]


def root_cause_rows(
    backend: ibis.BaseBackend, period: Period, by: list[str], filters: dict[str, list[str]], table: str
) -> pd.DataFrame:
    """``warehouse.query.daily_costs(backend, period, by, filters)``'s frame (same rows, values and
    order) from one compiled query: without its provenance SQL and its currency check, which a
    root-cause search never uses (the anomaly query carried both, over a superset of these rows).
    Compiling an Ibis expression costs ~50 ms here; daily_costs compiles three."""
    from warehouse.query import _dimension_expr, _plain, facts, resolve_dimension, scoped, to_arrow

    names = ["day", *by]
    scope = scoped(backend, period, filters, table)
    columns = facts(backend, table).columns
    keys = [_dimension_expr(scope, name, resolve_dimension(name, columns)) for name in names]
    agg = scope.group_by(keys).aggregate(cost=scope.EffectiveCost.sum(), rows=scope.count())
    rows = [
        {**{name: _plain(r[name]) for name in names}, "cost": r["cost"] or Decimal(0), "rows": int(r["rows"])}
        for r in to_arrow(backend, agg).to_pylist()
        if r["rows"]
    ]
    frame = pd.DataFrame(rows, columns=[*names, "cost", "rows"])
    if not frame.empty:
        frame = frame.sort_values(names, kind="stable").reset_index(drop=True)
    return frame


def root_causes(
    backend: ibis.BaseBackend,
    window: Period,
    by: list[str],
    filters: dict[str, list[str]],
    items: list[Item],
    dimensions: tuple[str, ...],
    season_days: int,
    seasons: int,
    table: str,
) -> list[list[RootCause]]:
    """Ranked root causes of each (key, start, end, direction), searched over ``dimensions``."""
    parts: list[dict[str, pd.Series]] = [{} for _ in items]
    if not items:
        return []
    wanted = {key for key, *_ in items}
    # Only the findings' series (a superset: each dimension's values are OR-ed), and only the
    # days their baselines look at: far fewer rows to bring back.
    scope = {**filters, **{name: sorted({key[i] for key in wanted}) for i, name in enumerate(by)}}
    days = Period(
        start=max(window.start, min(item[1] for item in items) - timedelta(days=season_days * seasons)),
        end=max(item[2] for item in items),
    )
    searched = [d for d in dimensions if d not in by]
    if not searched:
        return [[] for _ in items]
    # One query for every dimension (each query costs more to build than to run), summed per
    # dimension here.
    everything = root_cause_rows(backend, days, [*by, *searched], scope, table)
    if everything.empty:
        return [[] for _ in items]
    everything = everything.assign(cost=everything["cost"].astype(float))
    for dimension in searched:
        frame = everything.groupby(["day", *by, dimension], sort=False)["cost"].sum().reset_index()
        # Split the frame by series once, not once per finding.
        groups: dict[tuple[str, ...], pd.DataFrame] = {}
        if by:
            for key, rows in frame.groupby([frame[b].astype(str) for b in by], sort=False):
                key = key if isinstance(key, tuple) else (key,)
                if key in wanted:
                    groups[key] = rows
        else:
            groups[()] = frame
        for i, (key, start, end, _) in enumerate(items):
            rows = groups.get(key)
            if rows is not None:
                parts[i][dimension] = contributions(
                    rows[["day", dimension, "cost"]], dimension, start, end, season_days, seasons
                )
    return [rank_root_causes(p, direction=item[3]) for p, item in zip(parts, items, strict=True)]
