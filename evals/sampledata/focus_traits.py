"""Billing traits of real bills that make anomaly detection hard, added to the sample bill.

- small-$ high-% spikes: a small service line jumps 2–4× for a day or two (a few percent of its
  team × env series, so only a check one level below finds it);
- rows exported without tags: a tagged resource's row now and then lacks its tags;
- tag loss: one big resource loses its tags for a whole day (its team drops, untagged jumps);
- a 23- or 25-hour day: Azure bills days in local time, so the daylight-saving switch day is
  an hour short or long;
- credits every month on one line, refunds (``ChargeClass = Correction``), adjustments.

Each trait draws from its own random stream, so adding one does not move the others.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from evals.sampledata import cloud
from evals.sampledata.focus_resources import Resource, untagged_copy
from evals.sampledata.focus_table import MONEY_SCALE, Cells
from evals.sampledata.shapes import BillShape
from warehouse.config import DEFAULT_TAG_ALIASES

UNTAGGED = "(untagged)"
SMALL_LINE_MAX = 150.0  # USD per day: a "small" team × service × env line
SMALL_EXTRA_MAX = 200.0  # USD per day a small spike adds at most
SMALL_TOTAL_MIN = 75.0  # USD a small spike adds at least: above the default $50 rule, with margin
FIRST_CHECKED = 28  # no anomaly in the first four weeks (no history to see it against)


@dataclass(frozen=True)
class Injected:
    team: str
    service: str  # cloud.SERVICES key
    start: int  # day index
    days: int
    kind: str  # spike | level_shift | small_spike
    extra_per_day: float  # USD
    target: int | None = None  # resource index (None: the line's biggest prod resource)


def seen_tag(r: Resource, dimension: str) -> str:
    """A tag value as the warehouse reads it with its default aliases (the truth uses this view).

    The sample writes some tag keys the default aliases do not know (``user:environment``): such
    a resource's env is ``(untagged)`` to a warehouse not configured with every alias.
    """
    tags = json.loads(r.tags) if r.tags else {}
    return next((str(tags[k]) for k in DEFAULT_TAG_ALIASES[dimension] if tags.get(k)), UNTAGGED)


def day_hours(days: list[date], zone: str | None) -> np.ndarray:
    """Hours in each local day of ``zone`` (24, or 23 / 25 at a daylight-saving switch)."""
    if zone is None:
        return np.full(len(days), 24.0)
    tz = ZoneInfo(zone)
    out = []
    for d in days:
        start = datetime(d.year, d.month, d.day, tzinfo=tz)
        end = start + timedelta(days=1)
        out.append((end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1))
    return np.array(out)


def dst_factors(resources: list[Resource], days: list[date], zone: str | None) -> np.ndarray:
    """R × D usage multipliers: Azure rows cover the local day, 23 or 25 hours at a switch."""
    hours = day_hours(days, zone) / 24.0
    azure = np.array([r.provider == "azure" for r in resources])[:, None]
    return np.where(azure, hours[None, :], 1.0)


def small_spikes(
    resources: list[Resource],
    n_days: int,
    rng: np.random.Generator,
    shape: BillShape,
    busy: list[tuple[int, int, str]],
) -> list[Injected]:
    """Small lines (team × service × env ≤ SMALL_LINE_MAX a day) jumping ``small_mult``× for 1–2 days.

    The extra is SMALL_TOTAL_MIN at least in all and SMALL_EXTRA_MAX a day at most: large for
    the line, a few percent of its team × env series.
    """
    lines: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(resources):
        if r.tagged and r.team != "platform" and r.charge_category == "Usage":
            lines[(r.team, r.service, r.env)].append(i)
    cost = {k: sum(resources[i].base_cost for i in v) for k, v in lines.items()}
    small = sorted(k for k, v in cost.items() if v <= SMALL_LINE_MAX)
    out: list[Injected] = []
    first = max(FIRST_CHECKED, n_days - 90)
    for k in rng.permutation(len(small)).tolist():
        if len(out) == shape.small_spikes:
            break
        team_name, service, _ = small[k]
        if any(inj.team == team_name and inj.service == service for inj in out):
            continue
        length = int(rng.integers(1, 3))
        for _ in range(1000):
            start = int(rng.integers(first, n_days - 3 - length))
            if not any(a - 3 <= start + length and start <= b + 3 and t == team_name for a, b, t in busy):
                break
        busy.append((start, start + length - 1, team_name))
        target = max(lines[small[k]], key=lambda i: resources[i].base_cost)
        wanted = float(rng.uniform(*shape.small_mult)) * cost[small[k]]
        extra = min(max(wanted, SMALL_TOTAL_MIN / length), SMALL_EXTRA_MAX)
        out.append(Injected(team_name, service, start, length, "small_spike", extra, target))
    return out


def untag_rows(
    resources: list[Resource],
    cells: Cells,
    days: list[date],
    rng: np.random.Generator,
    shape: BillShape,
    protected: set[tuple[int, int]],
    busy: list[tuple[int, int, str]],
) -> tuple[list[Resource], Cells, list[dict[str, object]]]:
    """Rows exported without tags (random) and whole-day tag loss of big resources (the truth).

    ``protected``: (resource, day) cells that must keep their tags (the injected anomalies).
    """
    n_res = len(resources)  # resource i's untagged copy is resource n_res + i
    has_untagged = {r.service for r in resources if not r.tagged}
    # Rows lose tags on services that already carry untagged spend: the untagged series get
    # noisier, and no sporadic new ones appear.
    eligible = np.array(
        [
            r.tagged and r.team != "platform" and r.charge_category == "Usage" and r.service in has_untagged
            for r in resources
        ]
    )
    usage_cell = eligible[cells.r_idx]
    keep = np.array(
        [(int(r), int(d)) not in protected for r, d in zip(cells.r_idx, cells.d_idx, strict=True)]
    )
    random_rows = usage_cell & keep & (rng.random(len(cells.r_idx)) < shape.untagged_row_share)
    truth: list[dict[str, object]] = []
    losses = np.zeros(len(cells.r_idx), dtype=bool)
    protected_res = {r for r, _ in protected}
    big = sorted(
        (i for i, r in enumerate(resources) if eligible[i] and r.env == "prod" and i not in protected_res),
        key=lambda i: -resources[i].base_cost,
    )[:12]  # fmt: skip
    first = max(FIRST_CHECKED, len(days) - 90)
    for k in rng.permutation(len(big))[: shape.tag_loss_days].tolist():
        i = big[k]
        team_name = resources[i].team
        for _ in range(1000):
            day = int(rng.integers(first, len(days) - 2))
            if not any(a - 3 <= day <= b + 3 and t == team_name for a, b, t in busy):
                break
        busy.append((day, day, team_name))
        cell = (cells.r_idx == i) & (cells.d_idx == day)
        losses |= cell
        r = resources[i]
        truth.append(
            {
                "start": days[day].isoformat(),
                "end": days[day].isoformat(),
                "series": {"team": UNTAGGED, "service": cloud.SERVICES[r.service].name},
                "kind": "tag_loss",
                "extra_cost": f"{Decimal(int(cells.effective_cost[cell].sum())).scaleb(-10):f}",
                "detail": {
                    "env": UNTAGGED,
                    "from_team": team_name,
                    "from_env": r.env,
                    "resource": r.resource_id,
                },
            }
        )
    moved = random_rows | losses
    cells = replace(cells, r_idx=np.where(moved, cells.r_idx + n_res, cells.r_idx))
    return resources + [untagged_copy(r) for r in resources], cells, truth


def _extra_rows(
    resources: list[Resource], cells: Cells, rows: list[tuple[Resource, int, int]]
) -> tuple[list[Resource], Cells]:
    """Append one-resource non-usage rows (resource, day, cost in 1e-10 USD) to the cells."""
    if not rows:
        return resources, cells
    start = len(resources)
    er = np.arange(start, start + len(rows))
    ed = np.array([d for _, d, _ in rows])
    ec = np.array([c for _, _, c in rows], dtype=np.int64)
    merged = Cells(
        r_idx=np.concatenate([cells.r_idx, er]),
        d_idx=np.concatenate([cells.d_idx, ed]),
        qty=np.concatenate([cells.qty, np.zeros(len(er), np.int64)]),
        qty_valid=np.concatenate([cells.qty_valid, np.zeros(len(er), bool)]),
        list_cost=np.concatenate([cells.list_cost, ec]),
        contracted_cost=np.concatenate([cells.contracted_cost, ec]),
        billed_cost=np.concatenate([cells.billed_cost, ec]),
        effective_cost=np.concatenate([cells.effective_cost, ec]),
    )
    order = np.lexsort((merged.r_idx, merged.d_idx))  # day-major, then resource: like an export
    merged = Cells(*(getattr(merged, f)[order] for f in Cells.__dataclass_fields__))
    return resources + [r for r, _, _ in rows], merged


def add_credits_refunds_adjustments(
    resources: list[Resource], cells: Cells, days: list[date], rng: np.random.Generator, shape: BillShape
) -> tuple[list[Resource], Cells]:
    """Monthly credits on a line, refunds of earlier usage (Correction), small adjustments."""
    rows: list[tuple[Resource, int, int]] = []
    for team_name, service, day_of_month, share in shape.monthly_credits:
        line = [
            r
            for r in resources
            if r.team == team_name and r.service == service and r.tagged and r.env == "prod"
        ]
        src = max(line, key=lambda r: r.base_cost)
        amount = -int(round(share * sum(r.base_cost for r in line) * MONEY_SCALE))
        credit = replace(
            src, resource_id=None, resource_name=None, zone=None, charge_category="Credit",
            charge_frequency="Recurring", note=f"Enterprise discount credit ({cloud.SERVICES[service].name})",
        )  # fmt: skip
        rows += [(credit, d, amount) for d, day in enumerate(days) if day.day == day_of_month]
    sources = [
        r for r in resources
        if r.tagged and r.team != "platform" and r.env == "prod" and r.charge_category == "Usage" and r.resource_id
    ]  # fmt: skip
    for _ in range(shape.refunds):
        src = sources[int(rng.integers(len(sources)))]
        refund = replace(
            src, charge_class="Correction", charge_frequency="Usage-Based",
            note=f"Refund: correction of {cloud.SERVICES[src.service].name} usage billed in an earlier period",
        )  # fmt: skip
        amount = -int(round(float(rng.uniform(0.2, 0.6)) * src.base_cost * MONEY_SCALE))
        rows.append((refund, int(rng.integers(0, len(days))), amount))
    for _ in range(shape.adjustments):
        src = sources[int(rng.integers(len(sources)))]
        adjustment = replace(
            src, resource_id=None, resource_name=None, zone=None, charge_category="Adjustment",
            charge_frequency="One-Time", note="Billing adjustment (rounding and late usage)",
        )  # fmt: skip
        amount = int(rng.integers(-4000, 4000)) * MONEY_SCALE // 100
        rows.append((adjustment, int(rng.integers(0, len(days))), amount))
    return _extra_rows(resources, cells, rows)
