"""Read a ``timestamp,value`` CSV at any regular interval (the ``--series`` input)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from domain.errors import FileRejected
from domain.money import to_decimal

MIN_POINTS = 3
MAX_GAP_SHARE = 0.25  # more missing points than this is not a regular series


class SeriesFile(BaseModel):
    """A regular series: timestamps on a grid of ``interval`` (gaps hold NaN / None)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    interval: timedelta
    timestamps: tuple[datetime, ...]
    values: tuple[Decimal | None, ...]
    daily: bool  # every timestamp is a midnight and the interval a whole number of days

    def as_array(self) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in self.values], dtype=float)

    def label(self, index: int) -> date | datetime:
        ts = self.timestamps[index]
        return ts.date() if self.daily else ts


def _parse_ts(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace(" ", "T", 1) if " " in text.strip() else text.strip())
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def read_series_file(path: Path) -> SeriesFile:
    """Parse and check the file; any problem → FileRejected naming the file and row."""
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
    stamps: list[datetime] = []
    values: list[Decimal] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < 2:
            raise FileRejected(where, f"row {number}: expected 2 columns, got {len(row)}")
        try:
            stamps.append(_parse_ts(row[0]))
        except ValueError:
            raise FileRejected(where, f"row {number}: {row[0]!r} is not a timestamp (ISO 8601)") from None
        try:
            values.append(to_decimal(row[1]))
        except ValueError:
            raise FileRejected(where, f"row {number}: {row[1]!r} is not a number") from None
    if len(stamps) < MIN_POINTS:
        raise FileRejected(where, f"needs at least {MIN_POINTS} points, found {len(stamps)}")
    steps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    for i, step in enumerate(steps):
        if step <= timedelta(0):
            raise FileRejected(where, f"row {i + 3}: timestamps must increase ({stamps[i + 1].isoformat()})")
    # The grid step is the smallest step; every other step must be a whole number of them (gaps).
    interval = min(steps)
    for i, step in enumerate(steps):
        if step % interval != timedelta(0):
            raise FileRejected(
                where,
                f"irregular interval: row {i + 3} is {step} after the previous one (not a multiple of the smallest step, {interval})",
            )
    slots = (stamps[-1] - stamps[0]) // interval + 1
    if len(stamps) < slots * (1 - MAX_GAP_SHARE):
        raise FileRejected(
            where, f"irregular interval: {slots - len(stamps)} of {slots} points at {interval} are missing"
        )
    grid_values: list[Decimal | None] = [None] * slots
    for ts, value in zip(stamps, values, strict=True):
        grid_values[(ts - stamps[0]) // interval] = value
    grid = tuple(stamps[0] + i * interval for i in range(slots))
    daily = interval % timedelta(days=1) == timedelta(0) and all(
        t.time() == datetime.min.time() for t in stamps
    )
    return SeriesFile(
        name=path.name, interval=interval, timestamps=grid, values=tuple(grid_values), daily=daily
    )
