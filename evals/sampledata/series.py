"""An hourly ``timestamp,value`` export for ``costpilot anomalies --series``, faults included.

LLM gateway spend per hour as a metrics exporter writes it: local time without a zone
(Europe/Berlin, so the autumn switch repeats an hour and the spring switch skips one), seconds of
jitter, rows exported twice, a block of rows out of order, an exporter outage of some hours,
a few empty values. Two spikes are injected; ``series_truth.json`` lists them in UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ZONE = "Europe/Berlin"
SERIES_DAYS = 70  # covers a daylight-saving switch for either default end date
FILE_NAME = "llm-gateway-spend-hourly.csv"
# Spend by local hour of day: quiet nights, busy office hours.
HOURLY = np.array([0.35, 0.3, 0.28, 0.27, 0.3, 0.4, 0.6, 0.85, 1.1, 1.3, 1.4, 1.45,
                   1.35, 1.4, 1.45, 1.4, 1.3, 1.1, 0.9, 0.75, 0.65, 0.55, 0.45, 0.4])  # fmt: skip
WEEKEND = 0.9


def write_series(out_dir: Path, end: date, seed: int, days: int = SERIES_DAYS) -> tuple[list[Path], Path]:
    """Write ``series/<FILE_NAME>`` and ``series/series_truth.json``; returns (files, truth file)."""
    rng = np.random.default_rng([seed, 17])
    zone = ZoneInfo(ZONE)
    first_local = datetime(end.year, end.month, end.day, tzinfo=zone) - timedelta(days=days - 1)
    start = first_local.astimezone(UTC)
    hours = int((datetime(end.year, end.month, end.day, tzinfo=zone) + timedelta(days=1) - first_local)
                / timedelta(hours=1))  # fmt: skip
    utc = [start + timedelta(hours=i) for i in range(hours)]
    local = [t.astimezone(zone) for t in utc]
    level = 42.0 * HOURLY[[t.hour for t in local]] * np.where([t.weekday() >= 5 for t in local], WEEKEND, 1.0)
    values = level * (1 + 0.06 * rng.standard_normal(hours))
    truth = []
    outage_day = 27
    spike_days = rng.choice([d for d in range(3, days - 7) if abs(d - outage_day) > 2], 2, replace=False)
    shapes = ((int(spike_days[0]), 3, 3.0), (int(spike_days[1]), 1, 5.0))  # days back, hours, ×
    for back, length, mult in shapes:
        begin = hours - back * 24 + int(rng.integers(8, 17))
        extra = level[begin : begin + length] * (mult - 1)
        values[begin : begin + length] += extra
        truth.append({
            "file": FILE_NAME, "timezone": ZONE, "kind": "spike",
            "start": utc[begin].replace(tzinfo=None).isoformat(),
            "end": utc[begin + length - 1].replace(tzinfo=None).isoformat(),
            "extra": f"{extra.sum():.4f}",
        })  # fmt: skip
    rows = []
    outage = set(range(hours - outage_day * 24 + 2, hours - outage_day * 24 + 8))  # exporter down 6 h
    for i, (t, v) in enumerate(zip(local, values, strict=True)):
        if i in outage:
            continue
        stamp = t.replace(tzinfo=None) + timedelta(
            seconds=int(rng.integers(0, 3)) if rng.random() < 0.1 else 0
        )
        text = "" if rng.random() < 0.003 else f"{v:.4f}"
        rows.append(f"{stamp.isoformat(sep=' ')},{text}")
        if rng.random() < 0.01:
            rows.append(rows[-1])  # the same reading exported twice
    block = slice(len(rows) // 2, len(rows) // 2 + 20)
    rows[block] = rows[block][::-1]  # a late batch written out of order
    folder = out_dir / "series"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    path.write_text("timestamp,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    truth_file = folder / "series_truth.json"
    truth_file.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return [path], truth_file
