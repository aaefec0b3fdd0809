"""The demo FOCUS bill: ≥ 120 days of daily rows for AWS, Azure and Google Cloud, with
injected anomalies and their ground truth.

Files (one per provider per billing month):
``focus/aws-focus-YYYY-MM.csv``, ``focus/azure-focus-YYYY-MM.csv.gz``, ``focus/gcp-focus-YYYY-MM.parquet``.
The truth (``anomalies_truth.json``) lists each injected spike / level shift with the exact extra
EffectiveCost it added.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from evals.sampledata import cloud
from evals.sampledata.catalog import TEAM_NAMES
from evals.sampledata.focus_resources import Resource, plan_resources
from evals.sampledata.focus_table import MONEY_SCALE, QTY_SCALE, Cells, build_tables, money_from_qty, prepare
from evals.sampledata.focus_traits import (
    Injected,
    add_credits_refunds_adjustments,
    dst_factors,
    seen_tag,
    small_spikes,
    untag_rows,
)
from evals.sampledata.shapes import SHAPES, BillShape, shape

DEFAULT_DAYS = 140
TAX_RATE = 0.015
FILE_FORMATS = {"aws": "csv", "azure": "csv.gz", "gcp": "parquet"}
# weekday profile Mon..Fri of the default shape (the bulk benchmark bill uses it too)
WEEKDAY_PROFILE = np.array(SHAPES["default"].weekday_profile)


def day_list(end: date, days: int) -> list[date]:
    return [end - timedelta(days=days - 1 - i) for i in range(days)]


def _factors(
    resources: list[Resource], days: list[date], rng: np.random.Generator, bill_shape: BillShape
) -> np.ndarray:
    """R × D multiplicative usage factors: weekday profile × trend × noise (× local day length)."""
    dow = np.array([d.weekday() for d in days])
    weekend = np.array([r.weekend for r in resources])[:, None]
    weekdays = np.array(bill_shape.weekday_profile)
    profile = np.where(dow < 5, weekdays[np.minimum(dow, 4)], 0.0)[None, :]
    profile = np.where(
        dow[None, :] == 5,
        weekend,
        np.where(dow[None, :] == 6, np.minimum(weekend, 1.0) - 0.02 * (weekend < 1), profile),
    )
    t = np.arange(len(days))[None, :]
    slope = np.array([r.slope for r in resources])[:, None]
    sigma = np.array([r.sigma for r in resources])[:, None] * bill_shape.noise
    noise = 1.0 + sigma * rng.standard_normal((len(resources), len(days)))
    return profile * (1.0 + slope * t) * noise * dst_factors(resources, days, bill_shape.dst_zone)


def unit_cost(resources: list[Resource]) -> np.ndarray:
    """EffectiveCost in USD of one unit, per resource."""
    out = []
    for r in resources:
        disc = cloud.PROVIDERS[r.provider].discount
        out.append(float(r.list_price) * (1 - disc) * r.billed_share)
    return np.array(out)


def _series_normal(resources: list[Resource], base: np.ndarray) -> dict[tuple[str, str], float]:
    normal: dict[tuple[str, str], float] = defaultdict(float)
    for r, b in zip(resources, base, strict=True):
        if r.tagged:
            normal[(r.team, r.service)] += b
    return normal


def _schedule(
    resources: list[Resource], n_days: int, rng: np.random.Generator, bill_shape: BillShape
) -> tuple[list[Injected], list[tuple[int, int, str]]]:
    """Level shifts, then spikes: N per team in the last 90 days (never the first 28), apart."""
    base = np.array([r.base_cost for r in resources])
    normal = _series_normal(resources, base)
    team_total = defaultdict(float)
    for r in resources:
        if r.tagged:
            team_total[r.team] += r.base_cost
    out = [
        Injected(team_name, service, n_days - back, back, "level_shift", rel * normal[(team_name, service)])
        for team_name, service, back, rel in bill_shape.level_shifts
    ]
    shifted = {team_name: n_days - back for team_name, _, back, _ in bill_shape.level_shifts}
    used: list[tuple[int, int, str]] = []
    first = max(28, n_days - 90)
    for team_name in [t for _ in range(bill_shape.spikes_per_team) for t in TEAM_NAMES]:
        # ≥ 20% of the team's daily cloud cost: visible to a robust z AND to a "%-impact" rule
        needed = max(150.0, bill_shape.spike_floor * team_total[team_name])
        options = sorted(s for (t, s), v in normal.items() if t == team_name and v * 6 >= needed)
        service = str(rng.choice(options))
        mult = max(float(rng.uniform(*bill_shape.spike_mult)), needed / normal[(team_name, service)])
        length = int(rng.integers(1, 4))
        for _ in range(1000):
            start = int(rng.integers(first, n_days - 3 - length))
            clash = any(
                start <= b + 2 and a <= start + length + 1 or (t == team_name and abs(a - start) < 14)
                for a, b, t in used
            )
            if team_name in shifted and start + length >= shifted[team_name] - 3:
                clash = True
            if not clash:
                break
        used.append((start, start + length - 1, team_name))
        out.append(Injected(team_name, service, start, length, "spike", mult * normal[(team_name, service)]))
    return out, used


def _target(resources: list[Resource], team_name: str, service: str) -> int:
    """The biggest tagged prod resource of a team × service (any env if prod has none tagged)."""
    line = [i for i, r in enumerate(resources) if r.team == team_name and r.service == service and r.tagged]
    prod = [i for i in line if resources[i].env == "prod"]
    return max(prod or line, key=lambda i: resources[i].base_cost)


@dataclass(frozen=True)
class DemoBill:
    resources: list[Resource]
    days: list[date]
    cells: Cells
    truth: list[dict[str, object]]


def _scaled(resources: list[Resource], bill_shape: BillShape, seed: int) -> list[Resource]:
    """Team sizes of the shape: every team resource's cost × one factor per team."""
    if bill_shape.team_scale is None:
        return resources
    rng = np.random.default_rng([seed, 5])
    factor = {t: float(rng.uniform(*bill_shape.team_scale)) for t in TEAM_NAMES}
    return [replace(r, base_cost=r.base_cost * factor[r.team]) if r.team in factor else r for r in resources]


def build_bill(end: date, seed: int, n_days: int = DEFAULT_DAYS, shape_name: str = "default") -> DemoBill:
    """Resources, daily cells (usage, tax, credits, refunds, adjustments) and the anomaly truth."""
    bill_shape = shape(shape_name)
    rng = np.random.default_rng([seed, 3])
    days = day_list(end, n_days)
    resources = _scaled(plan_resources(seed, bill_shape.untagged_share), bill_shape, seed)
    unit = unit_cost(resources)
    base_qty = np.array([r.base_cost for r in resources]) / unit
    qty = base_qty[:, None] * _factors(resources, days, rng, bill_shape)
    extra = np.zeros_like(qty)
    injected, busy = _schedule(resources, n_days, rng, bill_shape)
    injected += small_spikes(resources, n_days, np.random.default_rng([seed, 11]), bill_shape, busy)
    protected: set[tuple[int, int]] = set()
    for inj in injected:
        i = _target(resources, inj.team, inj.service) if inj.target is None else inj.target
        extra[i, inj.start : inj.start + inj.days] += inj.extra_per_day / unit[i]
        protected.update((i, d) for d in range(inj.start, inj.start + inj.days))
    r_idx = np.tile(np.arange(len(resources)), n_days)
    d_idx = np.repeat(np.arange(n_days), len(resources))
    qty_u = np.rint((qty + extra).T.ravel() * QTY_SCALE).astype(np.int64)
    plain_u = np.rint(qty.T.ravel() * QTY_SCALE).astype(np.int64)
    money = money_from_qty(resources, r_idx, qty_u)
    plain = money_from_qty(resources, r_idx, plain_u)
    truth = _truth(injected, resources, days, r_idx, d_idx, money[3] - plain[3])
    usage = Cells(r_idx, d_idx, qty_u, np.ones(len(r_idx), bool), *money)
    traits = np.random.default_rng([seed, 13])
    resources, usage, lost = untag_rows(resources, usage, days, traits, bill_shape, protected, busy)
    resources, cells = _add_tax_and_credits(resources, usage, days, rng, bill_shape.one_off_credits)
    resources, cells = add_credits_refunds_adjustments(resources, cells, days, traits, bill_shape)
    truth = sorted(truth + lost, key=lambda t: (str(t["start"]), str(t["kind"]), str(t["series"])))
    return DemoBill(resources, days, cells, truth)


def _truth(
    injected: list[Injected],
    resources: list[Resource],
    days: list[date],
    r_idx: np.ndarray,
    d_idx: np.ndarray,
    delta: np.ndarray,
) -> list[dict[str, object]]:
    """One truth entry per injected anomaly; extra_cost = exact EffectiveCost added (USD)."""
    out = []
    for inj in sorted(injected, key=lambda x: (x.start, x.team)):
        i = _target(resources, inj.team, inj.service) if inj.target is None else inj.target
        r = resources[i]
        mask = (r_idx == i) & (d_idx >= inj.start) & (d_idx < inj.start + inj.days)
        units = int(delta[mask].sum())
        out.append(
            {
                "start": days[inj.start].isoformat(),
                "end": days[inj.start + inj.days - 1].isoformat(),
                "series": {"team": inj.team, "service": cloud.SERVICES[inj.service].name},
                "kind": inj.kind,
                "extra_cost": f"{Decimal(units).scaleb(-10):f}",
                "detail": {"env": seen_tag(r, "env"), "account": r.sub_name, "region": r.region_id},
            }
        )
    return out


def _add_tax_and_credits(
    resources: list[Resource], usage: Cells, days: list[date], rng: np.random.Generator, credits: int
) -> tuple[list[Resource], Cells]:
    """GCP daily tax per project (untagged) and ``credits`` one-off AWS credits (negative)."""
    extra_res: list[Resource] = []
    rows: list[tuple[int, int, int]] = []  # (resource, day, cost units)
    gcp_tax = cloud.SERVICES["tax"]
    prov = cloud.PROVIDERS["gcp"]
    template = next(r for r in resources if r.provider == "gcp")
    for env, (sub_id, sub_name) in prov.sub_accounts.items():
        in_sub = np.array([r.provider == "gcp" and r.sub_id == sub_id for r in resources])[usage.r_idx]
        daily = np.bincount(usage.d_idx[in_sub], weights=usage.billed_cost[in_sub], minlength=len(days))
        extra_res.append(
            replace(
                template,
                service=gcp_tax.key,
                team="",
                env=env,
                feature="",
                zone=None,
                sub_id=sub_id,
                sub_name=sub_name,
                resource_id=None,
                resource_name=None,
                resource_type=None,
                unit=None,
                sku=None,
                meter="Tax",
                tags=None,
                tagged=False,
                charge_category="Tax",
                note="Sales tax (VAT reverse charge not applicable)",
                region_id=prov.regions[0][0],
                region_name=prov.regions[0][1],
            )
        )
        for d in range(len(days)):
            rows.append((len(resources) + len(extra_res) - 1, d, int(round(daily[d] * TAX_RATE))))
    credit_sources = [
        r for r in resources if r.provider == "aws" and r.tagged and r.team != "platform" and r.env == "prod"
    ]
    for _ in range(credits):
        src = credit_sources[int(rng.integers(len(credit_sources)))]
        extra_res.append(
            replace(
                src,
                resource_id=None,
                resource_name=None,
                zone=None,
                charge_category="Credit",
                charge_frequency="One-Time",
                note=f"AWS service credit ({cloud.SERVICES[src.service].name} SLA)",
            )
        )
        day = int(rng.integers(0, len(days)))
        rows.append((len(resources) + len(extra_res) - 1, day, -int(rng.integers(25, 120)) * MONEY_SCALE))
    rows.sort(key=lambda x: (x[1], x[0]))
    er = np.array([x[0] for x in rows])
    ed = np.array([x[1] for x in rows])
    ec = np.array([x[2] for x in rows], dtype=np.int64)
    merged = Cells(
        r_idx=np.concatenate([usage.r_idx, er]),
        d_idx=np.concatenate([usage.d_idx, ed]),
        qty=np.concatenate([usage.qty, np.zeros(len(er), np.int64)]),
        qty_valid=np.concatenate([usage.qty_valid, np.zeros(len(er), bool)]),
        list_cost=np.concatenate([usage.list_cost, ec]),
        contracted_cost=np.concatenate([usage.contracted_cost, ec]),
        billed_cost=np.concatenate([usage.billed_cost, ec]),
        effective_cost=np.concatenate([usage.effective_cost, ec]),
    )
    order = np.lexsort((merged.r_idx, merged.d_idx))  # day-major, then resource: like an export
    merged = Cells(*(getattr(merged, f)[order] for f in Cells.__dataclass_fields__))
    return resources + extra_res, merged


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
        return
    buf = io.BytesIO()
    pcsv.write_csv(table, buf)
    data = buf.getvalue()
    if fmt == "csv.gz":
        out = io.BytesIO()
        # mtime=0 and no file name in the header: identical bytes on every run
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
            gz.write(data)
        data = out.getvalue()
    path.write_bytes(data)


def write_focus(
    out_dir: Path, end: date, seed: int, n_days: int = DEFAULT_DAYS, shape_name: str = "default"
) -> tuple[list[Path], list[dict[str, object]], int]:
    """Write the demo bill (one file per provider per month); returns (paths, truth, rows)."""
    bill = build_bill(end, seed, n_days, shape_name)
    prepared = prepare(bill.resources)
    provider_of = np.array([r.provider for r in bill.resources])[bill.cells.r_idx]
    month_of = np.array([d.year * 100 + d.month for d in bill.days])[bill.cells.d_idx]
    paths = []
    for provider, fmt in FILE_FORMATS.items():
        for month in sorted(set(month_of.tolist())):
            sel = np.flatnonzero((provider_of == provider) & (month_of == month))
            part = Cells(*(getattr(bill.cells, f)[sel] for f in Cells.__dataclass_fields__))
            (table,) = build_tables(prepared, bill.days, part, (fmt == "parquet",))
            path = out_dir / f"{provider}-focus-{month // 100:04d}-{month % 100:02d}.{fmt}"
            _write(table, path, fmt)
            paths.append(path)
    return paths, bill.truth, len(bill.cells.r_idx)


def write_truth(path: Path, truth: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
