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
