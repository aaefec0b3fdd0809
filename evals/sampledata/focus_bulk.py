"""Benchmark-scale FOCUS bill: exactly N rows, one Parquet file and one CSV file.

The demo resources are repeated (``…-00001``, ``…-00002`` suffixes) until resources × days ≥ N;
the last resource starts a few days late so the total is exactly N. Built day-chunk by
day-chunk with numpy and pyarrow only (no per-row Python) and streamed to both writers, so
memory stays flat whatever N is.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from evals.sampledata.catalog import DEFAULT_END
from evals.sampledata.focus import DEFAULT_DAYS, WEEKDAY_PROFILE, day_list, unit_cost
from evals.sampledata.focus_resources import Resource, plan_resources
from evals.sampledata.focus_table import QTY_SCALE, Cells, build_tables, money_from_qty, prepare, schema

CHUNK_ROWS = 400_000


@dataclass(frozen=True)
class BulkFocusFiles:
    """The two files written (iterating yields ``parquet, csv``), their row count and last day."""

    paths: tuple[Path, Path]
    rows: int
    start: date
    end: date

    def __iter__(self) -> Iterator[Path]:
        return iter(self.paths)


def _bulk_resources(rows: int, days: int, seed: int) -> list[Resource]:
    base = plan_resources(seed)
    count = -(-rows // days)
    out = []
    for j in range(count):
        r = base[j % len(base)]
        copy = j // len(base)
        if copy == 0:
            out.append(r)
            continue
        suffix = f"-{copy:05d}"
        out.append(
            replace(
                r, resource_id=(r.resource_id or "") + suffix, resource_name=(r.resource_name or "") + suffix
            )
        )
    return out


def _profile(resources: list[Resource], days: list[date]) -> np.ndarray:
    dow = np.array([d.weekday() for d in days])
    weekend = np.array([r.weekend for r in resources])[:, None]
    weekday = WEEKDAY_PROFILE[np.minimum(dow, 4)][None, :]
    return np.where(dow[None, :] >= 5, weekend, weekday)


def generate_focus_bulk(
    rows: int, out_dir: Path, seed: int, end: date = DEFAULT_END, days: int = DEFAULT_DAYS
) -> BulkFocusFiles:
    """Write ``focus-bulk-<rows>.parquet`` and ``focus-bulk-<rows>.csv`` with exactly ``rows`` rows."""
    if rows < 1:
        raise ValueError("rows must be ≥ 1")
    rng = np.random.default_rng([seed, 5])
    all_days = day_list(end, days)
    resources = _bulk_resources(rows, days, seed)
    n_res = len(resources)
    excess = n_res * days - rows  # < days: the last resource starts `excess` days late
    prepared = prepare(resources)
    base_qty = np.array([r.base_cost for r in resources]) / unit_cost(resources)
    profile = _profile(resources, all_days)
    slope = np.array([r.slope for r in resources])
    sigma = np.array([r.sigma for r in resources])
    out_dir.mkdir(parents=True, exist_ok=True)
    pq_path = out_dir / f"focus-bulk-{rows}.parquet"
    csv_path = out_dir / f"focus-bulk-{rows}.csv"
    days_per_chunk = max(1, CHUNK_ROWS // n_res)
    pending: list[Future[None]] = []
    with (
        pq.ParquetWriter(pq_path, schema(True), compression="zstd") as pq_writer,
        pcsv.CSVWriter(csv_path, schema(False)) as csv_writer,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        for first in range(0, days, days_per_chunk):
            d_range = np.arange(first, min(days, first + days_per_chunk))
            noise = 1.0 + sigma[:, None] * rng.standard_normal((n_res, len(d_range)))
            qty = base_qty[:, None] * profile[:, d_range] * (1.0 + slope[:, None] * d_range[None, :]) * noise
            r_idx = np.tile(np.arange(n_res), len(d_range))
            d_idx = np.repeat(d_range, n_res)
            keep = ~((r_idx == n_res - 1) & (d_idx < excess))
            r_idx, d_idx = r_idx[keep], d_idx[keep]
            qty_u = np.rint(qty.T.ravel()[keep] * QTY_SCALE).astype(np.int64)
            cells = Cells(
                r_idx, d_idx, qty_u, np.ones(len(r_idx), bool), *money_from_qty(resources, r_idx, qty_u)
            )
            typed, text = build_tables(prepared, all_days, cells, (True, False))
            # the two writers run in parallel (pyarrow releases the GIL) while the next chunk is built
            for fut in pending:
                fut.result()
            pending = [pool.submit(pq_writer.write_table, typed), pool.submit(csv_writer.write_table, text)]
        for fut in pending:
            fut.result()
    return BulkFocusFiles((pq_path, csv_path), rows, all_days[0], end)
