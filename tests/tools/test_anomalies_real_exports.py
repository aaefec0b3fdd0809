"""``--series`` on real exports: NAB slices (MIT, see tests/fixtures/nab), formats, zones, repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import FileRejected, InputError
from tools.anomalies import DetectorSettings, ThresholdRule, find_series_anomalies, read_series_file
from tools.anomalies.timestamps import StampReader

NAB = Path(__file__).resolve().parents[1] / "fixtures" / "nab"
METRIC = DetectorSettings(direction="both", rule=ThresholdRule(absolute=None, min_impact=Decimal(0)))


def test_nab_daylight_saving_repeats_are_one_point_and_said_so() -> None:
    series = read_series_file(NAB / "ec2_latency_dst_slice.csv")
    assert series.interval == timedelta(minutes=5) and series.rows_read == 51
    assert series.notes == (
        "steps between rows vary: resampled to the median step, 0:05:00",
        "12 timestamps off the 0:05:00 grid (by up to 0:01:00): moved to the nearest point",
        "13 rows shared a point with another row (repeated timestamps or jitter): mean taken, 1 points",
        "12 of 51 points at 0:05:00 have no data: gaps, not scored",
    )
    # Twelve readings stamped 03:00:00 plus the 03:01 one: their mean sits on the 03:01 point.
    point = series.timestamps.index(datetime(2014, 3, 9, 3, 1))
    assert series.values[point] is not None and 40 < series.values[point] < 50


def test_nab_out_of_order_rows_are_sorted() -> None:
    series = read_series_file(NAB / "machine_temperature_out_of_order_slice.csv")
    assert "11 rows out of time order: sorted" in series.notes
    assert list(series.timestamps) == sorted(series.timestamps)
    assert series.rows_read == 41 and sum(v is not None for v in series.values) == 29


def test_nab_repeated_hour_is_averaged_exactly() -> None:
    series = read_series_file(NAB / "exchange2_repeat_slice.csv")
    assert series.interval == timedelta(hours=1) and series.timestamps[0] == datetime(2011, 8, 23, 21, 0, 1)
    point = series.timestamps.index(datetime(2011, 8, 24, 12, 0, 1))
    assert series.values[point] == (Decimal("0.13125") + Decimal("0.119452887538")) / 2
    assert series.notes == (
        "2 rows shared a point with another row (repeated timestamps or jitter): mean taken, 1 points",
    )


def test_nab_long_gaps_are_missing_points_not_a_refusal() -> None:
    series = read_series_file(NAB / "rogue_key_hold_gaps_slice.csv")
    assert "426 of 555 points at 0:05:00 have no data: gaps, not scored" in series.notes
    assert sum(v is not None for v in series.values) == 129


def test_nab_labelled_jump_is_found_inside_its_window_only() -> None:
    report = find_series_anomalies(NAB / "art_daily_jumpsup_hourly.csv", METRIC)
    window = (datetime(2014, 4, 10, 16, 15), datetime(2014, 4, 12, 1, 45))
    assert report.season == 24 and report.anomalies
    assert all(window[0] <= a.start and a.end <= window[1] for a in report.anomalies)
    assert report.anomalies[0].direction == "up" and report.anomalies[0].impact_pct > 50


def test_report_notes_say_what_the_reader_did(tmp_path: Path) -> None:
    start = datetime(2026, 3, 1)
    lines = [f"{(start + timedelta(hours=i)).isoformat()},{100 + (i % 24)}" for i in range(24 * 10)]
    lines.insert(5, lines[3])  # a repeated reading
    del lines[100:103]  # a gap
    path = tmp_path / "gateway.csv"
    path.write_text("timestamp,value\n" + "\n".join(reversed(lines)) + "\n")
    report = find_series_anomalies(path)
    assert report.notes[:4] == [
        "237 rows out of time order: sorted",
        "steps between rows vary: resampled to the median step, 1:00:00",
        "2 rows shared a point with another row (repeated timestamps or jitter): mean taken, 1 points",
        "3 of 240 points at 1:00:00 have no data: gaps, not scored",
    ]
    assert report.provenance.rows_scanned == 237


STAMP = datetime(2026, 1, 13, 10, 30)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-13T10:30:00Z",
        "2026-01-13 10:30:00",
        "2026-01-13T12:30:00+02:00",
        "2026-01-13T10:30:00.000000",
        "2026-01-13 10:30:00.000000000 +0000 UTC",
        "1768300200",
        "1768300200000",
        "2026/01/13 10:30",
        "13/01/2026 10:30",
        "Tue, 13 Jan 2026 10:30:00 GMT",
    ],
)
def test_timestamp_formats_of_real_exports(text: str) -> None:
    assert StampReader([text]).parse(text) == STAMP


def test_day_month_order_is_decided_per_file() -> None:
    us = StampReader(["01/02/2026 00:00", "12/31/2026 00:00"])
    assert us.parse("01/02/2026 00:00") == datetime(2026, 1, 2)
    eu = StampReader(["01/02/2026 00:00", "31/12/2026 00:00"])
    assert eu.parse("01/02/2026 00:00") == datetime(2026, 2, 1)


def test_local_time_with_a_repeated_daylight_saving_hour(tmp_path: Path) -> None:
    """Berlin falls back on 2026-10-25: 02:00 local happens twice. Named, it is two UTC hours."""
    zone = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 24, 0, tzinfo=UTC)
    stamps = [(first + timedelta(hours=i)).astimezone(zone).replace(tzinfo=None) for i in range(48)]
    assert len(set(stamps)) == 47
    path = tmp_path / "local.csv"
    path.write_text("timestamp,value\n" + "".join(f"{s.isoformat()},{i}\n" for i, s in enumerate(stamps)))
    local = read_series_file(path, timezone="Europe/Berlin")
    assert local.timestamps[0] == datetime(2026, 10, 24, 0) and len(local.values) == 48
    assert local.values == tuple(Decimal(i) for i in range(48))
    assert local.notes == ("48 timestamps without a zone read as Europe/Berlin local time, converted to UTC",)
    as_utc = read_series_file(path)
    assert "2 rows shared a point with another row (repeated timestamps or jitter): mean taken, 1 points" in (
        as_utc.notes
    )
    summed = read_series_file(path, aggregate="sum")
    assert summed.values[summed.timestamps.index(datetime(2026, 10, 25, 2))] == Decimal(24 + 25)
    with pytest.raises(InputError, match="timezone 'Mars/Olympus': not an IANA zone name"):
        read_series_file(path, timezone="Mars/Olympus")
    with pytest.raises(FileRejected, match="aggregate 'max': use one of mean, sum"):
        read_series_file(path, aggregate="max")


def test_jitter_snaps_to_the_round_interval(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1)
    jitter = [0, 1, -1, 2, 0, -2, 1, 0] * 5
    rows = [f"{(start + timedelta(minutes=5 * i, seconds=j)).isoformat()},{i}" for i, j in enumerate(jitter)]
    path = tmp_path / "jitter.csv"
    path.write_text("timestamp,value\n" + "\n".join(rows) + "\n")
    series = read_series_file(path)
    assert series.interval == timedelta(minutes=5) and series.values == tuple(Decimal(i) for i in range(40))
    assert "25 timestamps off the 0:05:00 grid (by up to 0:00:02): moved to the nearest point" in series.notes


@settings(max_examples=80, deadline=None)
@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.sampled_from(["iso", "iso-z", "space", "offset", "epoch", "epoch-ms", "slashed", "rfc2822"]),
    st.integers(-12, 14),
)
def test_any_stamp_in_any_supported_format_reads_back_as_the_same_utc_instant(
    stamp: datetime, style: str, hours: int
) -> None:
    aware = stamp.replace(tzinfo=UTC)
    shifted = aware.astimezone(__import__("datetime").timezone(timedelta(hours=hours)))
    text = {
        "iso": stamp.isoformat(),
        "iso-z": stamp.isoformat() + "Z",
        "space": stamp.isoformat(sep=" "),
        "offset": shifted.isoformat(),
        "epoch": str(int(aware.timestamp())),
        "epoch-ms": str(int(aware.timestamp()) * 1000),
        "slashed": stamp.strftime("%Y/%m/%d %H:%M:%S"),
        "rfc2822": shifted.strftime("%a, %d %b %Y %H:%M:%S %z"),
    }[style]
    assert StampReader([text]).parse(text) == stamp
