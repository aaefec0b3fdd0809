"""Root-cause query: one for all findings and dimensions, then pure ranking per finding."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pandas as pd

from domain.period import Period
from tools.anomalies.root_causes import RootCause, contributions, rank_root_causes
from warehouse.query import daily_costs

Item = tuple[tuple[str, ...], date, date, str]  # series key, first day, last day, direction


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
    everything = daily_costs(backend, days, [*by, *searched], scope, table=table)
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
