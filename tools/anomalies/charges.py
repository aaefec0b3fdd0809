"""Usage baselines: which charges the expected values are built from, and the rest reported apart.

FOCUS bills carry credits, refunds (``ChargeClass = Correction``), adjustments and taxes. They
are not usage: a monthly credit in a weekday's history drags that weekday's expected value down
and ordinary days weeks later look like spikes (AWS Cost Anomaly Detection and the AWS billing
tools leave credits and refunds out by default too). The ``usage`` baseline keeps usage and
purchases; the others are summed per series into their own section of the report.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from domain.errors import InputError
from domain.money import round_cents
from tools.anomalies.models import NonUsageCharge
from warehouse.query import NONE_LABEL

CATEGORY = "charge_category"
CLASS = "ChargeClass"
CORRECTION = "Correction"
MAX_NON_USAGE = 50


class Baseline(BaseModel):
    """``categories``: ChargeCategory values in the baseline (None: every charge is)."""

    model_config = ConfigDict(frozen=True)

    categories: tuple[str, ...] | None
    corrections: bool


BASELINES: dict[str, Baseline] = {
    "usage": Baseline(categories=("Usage", "Purchase"), corrections=False),
    "all": Baseline(categories=None, corrections=True),
}


def baseline_for(name: str, by: list[str], filters: dict[str, list[str]]) -> tuple[str, Baseline]:
    """The baseline to apply; a query already split or filtered by charge kind is left as asked."""
    if name not in BASELINES:
        raise InputError(f"baseline {name!r}: use one of {', '.join(BASELINES)}")
    scoped = {CATEGORY, CLASS, "ChargeCategory", "chargeclass", "chargecategory"}
    if scoped & {*by, *filters}:
        return "all", BASELINES["all"]
    return name, BASELINES[name]


def split_dimensions(baseline: Baseline) -> list[str]:
    """The charge columns to query beside the series' dimensions to tell usage from the rest."""
    return [] if baseline.categories is None else [CATEGORY, CLASS]


def usage_filters(filters: dict[str, list[str]], baseline: Baseline) -> dict[str, list[str]]:
    """Filters that select baseline rows only (for the root-cause queries)."""
    if baseline.categories is None:
        return filters
    out = {**filters, CATEGORY: list(baseline.categories)}
    if not baseline.corrections:
        out[CLASS] = [NONE_LABEL]  # FOCUS: ChargeClass is null, or Correction
    return out


def is_usage(frame: pd.DataFrame, baseline: Baseline) -> pd.Series:
    if baseline.categories is None or frame.empty:
        return pd.Series(True, index=frame.index)
    keep = frame[CATEGORY].astype(str).isin(baseline.categories)
    if not baseline.corrections:
        keep &= frame[CLASS].astype(str) != CORRECTION
    return keep


def charge_label(frame: pd.DataFrame) -> pd.Series:
    """Credit / Adjustment / Tax …, or Correction for restated and refunded charges."""
    return frame[CATEGORY].astype(str).where(frame[CLASS].astype(str) != CORRECTION, CORRECTION)


def summarise_non_usage(
    frame: pd.DataFrame, by: list[str], start: date
) -> tuple[list[NonUsageCharge], dict[str, Decimal], int]:
    """Per series and charge kind over days ≥ ``start``: totals, days, largest day (largest first).

    Returns at most ``MAX_NON_USAGE`` entries, the total per charge kind over all of them, and
    how many entries there were in all.
    """
    rows = frame[frame["day"] >= start]
    if rows.empty:
        return [], {}, 0
    rows = rows.assign(charge=charge_label(rows))
    daily = rows.groupby([*by, "charge", "day"], sort=True)["cost"].sum().reset_index()
    out = []
    for key, part in daily.groupby([*by, "charge"], sort=True):
        values = key if isinstance(key, tuple) else (key,)
        amounts = list(part["cost"])
        largest = max(range(len(amounts)), key=lambda i: abs(amounts[i]))
        out.append(
            NonUsageCharge(
                series={name: str(v) for name, v in zip(by, values[:-1], strict=True)},
                charge=str(values[-1]),
                amount=round_cents(sum(amounts, Decimal(0))),
                days=len(amounts),
                first_day=min(part["day"]),
                last_day=max(part["day"]),
                largest_day=list(part["day"])[largest],
                largest_amount=round_cents(Decimal(amounts[largest])),
            )
        )
    out.sort(key=lambda c: (-abs(c.amount), c.charge, sorted(c.series.items())))
    per_kind: dict[str, Decimal] = {}
    for c in out:
        per_kind[c.charge] = per_kind.get(c.charge, Decimal(0)) + c.amount
    return out[:MAX_NON_USAGE], per_kind, len(out)


def non_usage_note(
    charges: list[NonUsageCharge], per_kind: dict[str, Decimal], total: int, currency: str
) -> str | None:
    if not total:
        return None
    kinds = ", ".join(f"{kind} {amount} {currency}".strip() for kind, amount in sorted(per_kind.items()))
    more = f" (largest {len(charges)} of {total} shown)" if total > len(charges) else ""
    return f"not in the baseline (reported under non_usage): {kinds}{more}"
