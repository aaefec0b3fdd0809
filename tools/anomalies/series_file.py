"""Read a ``timestamp,value`` CSV as real exports write it (the ``--series`` input).

Real CloudWatch, Prometheus and gateway exports repeat timestamps (a daylight-saving switch,
second-level jitter), leave gaps and arrive out of order. Instead of refusing them the reader
sorts the rows, takes the dominant interval (the median step between distinct timestamps,
snapped to a round value), moves each row to the nearest point of that grid, aggregates the rows
that share a point (mean by default: two readings of one gauge are one reading; ``sum`` for
amounts split across rows), and leaves points without data missing. Every one of these steps is
counted in a note; a file is refused only when it has no usable series at all.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from domain.errors import FileRejected
from domain.money import to_decimal
from tools.anomalies.timestamps import EPOCH, StampReader, resolve_zone

MIN_POINTS = 3
MAX_POINTS = 5_000_000  # a grid this long is a wrong interval guess, not a series
# Round steps a median is snapped to when within SNAP_SHARE of one (jitter of a few seconds).
NICE_STEPS = tuple(
    timedelta(seconds=s)
    for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800,
              14400, 21600, 43200, 86400, 604800)
)  # fmt: skip
SNAP_SHARE = 0.05
MISSING = frozenset({"", "nan", "null", "none", "na", "n/a", "-", "#n/a"})
US = timedelta(microseconds=1)


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


AGGREGATES: dict[str, Callable[[list[Decimal]], Decimal]] = {
    "mean": _mean,  # readings of a gauge (CPU, latency, requests per second)
    "sum": lambda values: sum(values, Decimal(0)),  # amounts split across rows (cost lines)
}


class SeriesFile(BaseModel):
    """A regular series: timestamps on a grid of ``interval`` (gaps hold NaN / None)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    interval: timedelta
    timestamps: tuple[datetime, ...]
    values: tuple[Decimal | None, ...]
    daily: bool  # every timestamp is a midnight and the interval a whole number of days
    rows_read: int = 0
    notes: tuple[str, ...] = ()

    def as_array(self) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in self.values], dtype=float)

    def label(self, index: int) -> date | datetime:
        ts = self.timestamps[index]
        return ts.date() if self.daily else ts


def _rows(path: Path) -> list[list[str]]:
    where = str(path)
    if not path.is_file():
        raise FileRejected(where, "no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FileRejected(where, f"not a readable CSV ({exc})") from None
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["timestamp", "value"]:
        raise FileRejected(where, "expected a header 'timestamp,value'")
    return rows


def _parse(
    path: Path, rows: list[list[str]], timezone: str | None
) -> tuple[list[datetime], list[Decimal | None], list[str]]:
    where = str(path)
    data = [(n, row) for n, row in enumerate(rows[1:], start=2) if row and any(c.strip() for c in row)]
    reader = StampReader([row[0] for _, row in data[:2000]], resolve_zone(timezone))
    stamps: list[datetime] = []
    values: list[Decimal | None] = []
    for number, row in data:
        if len(row) < 2:
            raise FileRejected(where, f"row {number}: expected 2 columns, got {len(row)}")
        try:
            stamps.append(reader.parse(row[0]))
        except ValueError:
            raise FileRejected(
                where, f"row {number}: {row[0]!r} is not a timestamp (ISO 8601, epoch, …)"
            ) from None
        text = row[1].strip()
        if text.lower() in MISSING:
            values.append(None)
            continue
        try:
            values.append(to_decimal(text))
        except ValueError:
            raise FileRejected(where, f"row {number}: {row[1]!r} is not a number") from None
    notes = []
    if len(rows[0]) > 2:
        notes.append(f"columns after 'value' ignored: {', '.join(c.strip() for c in rows[0][2:])}")
    if timezone and reader.naive:
        notes.append(
            f"{reader.naive} timestamps without a zone read as {timezone} local time, converted to UTC"
        )
    elif reader.aware and reader.naive:
        notes.append(f"{reader.naive} timestamps without a zone read as UTC ({reader.aware} had one)")
    return stamps, values, notes


def _interval(unique_us: np.ndarray) -> tuple[timedelta, bool]:
    """(median step, snapped to a round value when close; whether the steps varied at all)."""
    steps = np.diff(unique_us)
    median = timedelta(microseconds=int(statistics.median(steps.tolist())))
    varied = bool(steps.min() != steps.max())
    for nice in NICE_STEPS:
        if abs(median - nice) <= nice * SNAP_SHARE:
            return nice, varied
    return max(timedelta(seconds=round(median.total_seconds())), timedelta(seconds=1)), varied


def read_series_file(path: Path, timezone: str | None = None, aggregate: str = "mean") -> SeriesFile:
    """Parse, sort and resample the file; an unusable file → FileRejected naming the file and row.

    ``timezone``: IANA zone of timestamps written without one (default UTC); ``aggregate``:
    how rows that land on one grid point combine (``mean`` | ``sum``).
    """
    where = str(path)
    if aggregate not in AGGREGATES:
        raise FileRejected(where, f"aggregate {aggregate!r}: use one of {', '.join(AGGREGATES)}")
    rows = _rows(path)
    stamps, values, notes = _parse(path, rows, timezone)
    valued = sum(v is not None for v in values)
    if valued < MIN_POINTS:
        raise FileRejected(where, f"needs at least {MIN_POINTS} points, found {valued}")
    offsets = np.array([(ts - EPOCH) // US for ts in stamps], dtype=np.int64)
    late = int((offsets[1:] < np.maximum.accumulate(offsets)[:-1]).sum())
    order = np.argsort(offsets, kind="stable")
    offsets = offsets[order]
    values = [values[i] for i in order]
    unique = np.unique(offsets)
    if unique.size < 2:
        raise FileRejected(where, f"all {len(stamps)} rows have the same timestamp")
    interval, varied = _interval(unique)
    step = interval // US
    # The grid's phase: the most common position of a row inside one step (whole seconds).
    phase = Counter(((offsets % step) // 1_000_000 * 1_000_000).tolist()).most_common(1)[0][0]
    slot = (offsets - phase + step // 2) // step
    first, slots = int(slot[0]), int(slot[-1] - slot[0] + 1)
    if slots > MAX_POINTS:
        raise FileRejected(
            where, f"{slots:,} points at {interval} between the first and last row: more than {MAX_POINTS:,}"
        )
    buckets: dict[int, list[Decimal]] = {}
    for k, value in zip((slot - first).tolist(), values, strict=True):
        bucket = buckets.setdefault(k, [])
        if value is not None:
            bucket.append(value)
    combine = AGGREGATES[aggregate]
    grid_values: list[Decimal | None] = [None] * slots
    for k, bucket in buckets.items():
        if bucket:
            grid_values[k] = combine(bucket)
    start = EPOCH + timedelta(microseconds=phase + first * step)
    grid = tuple(start + i * interval for i in range(slots))
    moved = offsets - (phase + slot * step)
    crowded = [n for n in Counter(slot.tolist()).values() if n > 1]
    if late:
        notes.append(f"{late} rows out of time order: sorted")
    if varied:
        notes.append(f"steps between rows vary: resampled to the median step, {interval}")
    if int(np.count_nonzero(moved)):
        largest = timedelta(microseconds=int(np.abs(moved).max()))
        notes.append(
            f"{int(np.count_nonzero(moved))} timestamps off the {interval} grid (by up to {largest}): moved to the nearest point"
        )
    if crowded:
        notes.append(
            f"{sum(crowded)} rows shared a point with another row (repeated timestamps or jitter): "
            f"{aggregate} taken, {len(crowded)} points"
        )
    missing_rows = len(values) - valued
    if missing_rows:
        notes.append(f"{missing_rows} rows without a value treated as missing")
    gaps = sum(v is None for v in grid_values)
    if gaps:
        notes.append(f"{gaps} of {slots} points at {interval} have no data: gaps, not scored")
    daily = interval % timedelta(days=1) == timedelta(0) and start.time() == datetime.min.time()
    return SeriesFile(
        name=path.name, interval=interval, timestamps=grid, values=tuple(grid_values), daily=daily,
        rows_read=len(stamps), notes=tuple(notes),
    )  # fmt: skip
