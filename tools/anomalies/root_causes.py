"""Root causes: which service / account / region / team / model moved the money in a window.

For one anomaly and one dimension: actual = cost per value over the anomaly window; expected =
median over the previous k seasons of the cost per value over the same window shifted back by
whole seasons (the same baseline the detector used). Contribution = actual - expected.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from domain.money import Money, round_cents

# Dimensions searched for root causes, in the order of the issue (service, sub-account, …).
ROOT_CAUSE_DIMENSIONS: tuple[str, ...] = ("service", "account", "region", "team", "model")
MAX_ROOT_CAUSES = 5
MIN_SHARE = 0.05
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
    costs = frame.assign(cost=frame["cost"].astype(float))
    values = costs[dimension].astype(str)
    if values.nunique() < 2 or set(values.unique()) <= {"(none)", "(untagged)"}:
        # One value (or nothing known) is the whole series again: it explains nothing.
        return pd.Series(dtype=float)
    table = costs.pivot_table(index=dimension, columns="day", values="cost", aggfunc="sum", fill_value=0.0)
    length = (end - start).days + 1

    def window_sum(offset_days: int) -> np.ndarray:
        days = [start - timedelta(days=offset_days) + timedelta(days=i) for i in range(length)]
        present = [d for d in days if d in table.columns]
        return table[present].sum(axis=1).to_numpy() if present else np.zeros(len(table))

    actual = window_sum(0)
    baselines = np.stack([window_sum(j * season_days) for j in range(1, seasons + 1)])
    expected = np.median(baselines, axis=0)
    return pd.Series(actual - expected, index=table.index.astype(str))


def rank_root_causes(
    by_dimension: dict[str, pd.Series], direction: str = "up", limit: int = MAX_ROOT_CAUSES
) -> list[RootCause]:
    """Top contributions across dimensions, largest $ first (most negative first for drops)."""
    sign = 1.0 if direction == "up" else -1.0
    ranked: list[tuple[float, str, str]] = []
    for dimension, series in by_dimension.items():
        for value, amount in series.items():
            # "(none)": rows the dimension does not apply to (no model on a cloud bill row).
            if sign * amount > 0 and str(value) != NOT_APPLICABLE:
                ranked.append((sign * float(amount), dimension, str(value)))
    top = max((item[0] for item in ranked), default=0.0)
    # Crumbs (under MIN_SHARE of the largest contribution) are noise, not causes.
    ranked = [item for item in ranked if item[0] >= MIN_SHARE * top]
    ranked.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [
        RootCause(dimension=d, value=v, contribution=round_cents(Decimal(repr(sign * amount))))
        for amount, d, v in ranked[:limit]
    ]
