"""``timestamp,value`` files at any regular interval."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.errors import FileRejected
from tools.anomalies import find_series_anomalies, read_series_file


def write_series(
    path: Path, start: datetime, step: timedelta, values: list[float], fmt: str = "%Y-%m-%dT%H:%M:%SZ"
) -> Path:
    lines = ["timestamp,value"] + [
        f"{(start + i * step).strftime(fmt)},{v:.4f}" for i, v in enumerate(values)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def daily_cycle(points_per_day: int, days: int, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    t = np.arange(points_per_day * days)
    shape = 100 + 40 * np.sin(2 * np.pi * t / points_per_day)
    return list(shape * (1 + 0.02 * rng.standard_normal(t.size)))


def test_hourly_file_reports_the_anomalous_hours(tmp_path: Path) -> None:
    values = daily_cycle(24, 10)
    values[200] += 120.0
    values[201] += 100.0
    path = write_series(tmp_path / "api-gateway.csv", datetime(2026, 3, 1), timedelta(hours=1), values)
    report = find_series_anomalies(path)
    assert report.season == 24 and report.series_checked == 1
    assert len(report.anomalies) == 1
    a = report.anomalies[0]
    assert a.series == {"series": "api-gateway.csv"}
    assert (a.start, a.end) == (datetime(2026, 3, 9, 8), datetime(2026, 3, 9, 9))
    assert a.actual == (Decimal(f"{values[200]:.4f}") + Decimal(f"{values[201]:.4f}")).quantize(
        Decimal("0.01")
    )
    assert a.impact == a.actual - a.expected and a.impact > 200
    assert a.root_causes == []


def test_five_minute_file_uses_a_daily_season(tmp_path: Path) -> None:
    values = daily_cycle(288, 3, seed=2)
    values[700] *= 3
    path = write_series(tmp_path / "five.csv", datetime(2026, 3, 1), timedelta(minutes=5), values)
    report = find_series_anomalies(path)
    assert report.season == 288
    assert [a.start for a in report.anomalies] == [datetime(2026, 3, 1) + 700 * timedelta(minutes=5)]


def test_daily_file_gives_dates(tmp_path: Path) -> None:
    values = [100.0 + (i % 7) for i in range(50)]
    values[45] = 400.0
    path = write_series(
        tmp_path / "daily.csv", datetime(2026, 1, 1), timedelta(days=1), values, fmt="%Y-%m-%d"
    )
    report = find_series_anomalies(path)
    assert [(str(a.start), str(a.end)) for a in report.anomalies] == [("2026-02-15", "2026-02-15")]


def test_gaps_stay_on_the_grid(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text(
        "timestamp,value\n2026-01-01T00:00:00,1\n2026-01-01T01:00:00,2\n2026-01-01T03:00:00,4\n2026-01-01T04:00:00,5\n"
    )
    series = read_series_file(path)
    assert series.interval == timedelta(hours=1)
    assert series.values == (Decimal(1), Decimal(2), None, Decimal(4), Decimal(5))


def test_short_file_says_not_enough_data(tmp_path: Path) -> None:
    path = write_series(tmp_path / "short.csv", datetime(2026, 1, 1), timedelta(days=1), [1.0, 2.0, 3.0, 4.0])
    report = find_series_anomalies(path)
    assert report.status == "insufficient_data" and report.anomalies == []
    assert "not enough data" in report.notes[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,val\n2026-01-01,1\n", "expected a header 'timestamp,value'"),
        (
            "timestamp,value\n2026-01-01,1\nyesterday,2\n2026-01-03,3\n",
            "row 3: 'yesterday' is not a timestamp",
        ),
        ("timestamp,value\n2026-01-01,1\n2026-01-02,abc\n2026-01-03,3\n", "row 3: 'abc' is not a number"),
        ("timestamp,value\n2026-01-01,1\n2026-01-02,2\n", "needs at least 3 points, found 2"),
        (
            "timestamp,value\n2026-01-01,1\n2026-01-02,\n2026-01-03,null\n2026-01-04,4\n",
            "needs at least 3 points, found 2",
        ),
        ("timestamp,value\n2026-01-01,1\n2026-01-01,2\n2026-01-01,3\n", "all 3 rows have the same timestamp"),
        ("timestamp,value\n2026-01-01,1\n2026-01-02\n2026-01-03,3\n", "row 3: expected 2 columns, got 1"),
        (
            "timestamp,value\n1970-01-01T00:00:00,1\n1970-01-01T00:00:01,2\n1970-01-01T00:00:02,2\n2026-01-01T00:00:00,3\n",
            "points at 0:00:01 between the first and last row: more than 5,000,000",
        ),
    ],
)
def test_unusable_files_are_rejected_with_file_and_row(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(FileRejected, match=message) as info:
        read_series_file(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="no such file"):
        read_series_file(tmp_path / "nope.csv")


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1), timedelta(days=1)]),
    st.lists(
        st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False), min_size=4, max_size=60
    ),
    st.sets(st.integers(1, 58), max_size=8),
    st.randoms(use_true_random=False),
    st.integers(0, 3),
)
def test_any_file_with_gaps_shuffled_rows_and_repeats_lands_on_its_grid(
    step: timedelta, values: list[Decimal], holes: set[int], rng: object, repeats: int
) -> None:
    """Rows in any order, some repeated, some missing: every value lands on its own grid point."""
    import tempfile

    start = datetime(2026, 1, 1)
    kept = [i for i in range(len(values)) if i not in holes or i in (0, len(values) - 1)]
    assume(len(kept) >= 3)
    rows = [f"{(start + i * step).isoformat()},{values[i]}" for i in kept]
    rows += rows[:repeats]  # the same reading exported twice
    rng.shuffle(rows)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.csv"
        path.write_text("timestamp,value\n" + "\n".join(rows) + "\n")
        series = read_series_file(path)
        summed = read_series_file(path, aggregate="sum")
    steps = [b - a for a, b in zip(kept, kept[1:], strict=False)]
    if sum(s == 1 for s in steps) * 2 > len(steps):  # the unit step dominates: it is the grid
        assert series.interval == step and len(series.values) == len(values)
        assert [series.values[i] for i in kept] == [values[i] for i in kept]
        assert all(series.values[i] is None for i in range(len(values)) if i not in kept)
        missing = len(values) - len(kept)
        assert any(f"{missing} of {len(values)} points" in n for n in series.notes) == (missing > 0)
        assert any("shared a point" in n for n in series.notes) == (repeats > 0)
    assert series.rows_read == len(rows)
    # Whatever grid is chosen, nothing is dropped: summed, the points hold every row's value.
    total = sum((Decimal(r.split(",")[1]) for r in rows), Decimal(0))
    assert sum((v for v in summed.values if v is not None), Decimal(0)) == total
