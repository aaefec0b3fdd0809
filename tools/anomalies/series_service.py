"""Anomaly checks over one ``timestamp,value`` file (``costpilot anomalies --series``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from domain.money import round_cents
from domain.period import Period
from domain.provenance import Provenance
from tools.anomalies.detect import DetectorSettings, detect
from tools.anomalies.models import Anomaly, AnomalyReport
from tools.anomalies.seasonality import season_length
from tools.anomalies.series_file import read_series_file


def _cents(value: float | Decimal) -> Decimal:
    return round_cents(value if isinstance(value, Decimal) else Decimal(repr(float(value))))


def _pct(impact: Decimal, expected: Decimal) -> float | None:
    return None if expected == 0 else round(float(impact / abs(expected) * 100), 2)


def find_series_anomalies(
    path: Path, settings: DetectorSettings | None = None, timezone: str | None = None, aggregate: str = "mean"
) -> AnomalyReport:
    """Anomalous runs in a ``timestamp,value`` CSV; the series is named after the file.

    ``timezone``: IANA zone of stamps written without one (default UTC); ``aggregate``: how rows
    that land on one point of the resampled grid combine (``mean`` | ``sum``). What the reader
    did to the file (sorted, resampled, aggregated, gaps) is in the report's notes.
    """
    settings = settings or DetectorSettings()
    series = read_series_file(path, timezone=timezone, aggregate=aggregate)
    season = season_length(series.interval)
    detection = detect(series.as_array()[None, :], season, settings)
    anomalies = []
    for a in detection.anomalies:
        exact = [v for v in series.values[a.start_index : a.end_index + 1] if v is not None]
        actual = _cents(sum(exact, Decimal(0)))
        expected = _cents(a.expected)
        impact = actual - expected
        anomalies.append(
            Anomaly(
                series={"series": series.name},
                start=series.label(a.start_index),
                end=series.label(a.end_index),
                expected=expected,
                actual=actual,
                impact=impact,
                impact_pct=_pct(impact, expected),
                score=round(a.score, 2),
                direction=a.direction,
            )  # fmt: skip
        )
    anomalies.sort(key=lambda x: x.start)
    first, last = series.timestamps[0], series.timestamps[-1]
    return AnomalyReport(
        anomalies=anomalies,
        status=detection.status,
        season=season,
        series_checked=1,
        notes=[*series.notes, *([detection.note] if detection.note else [])],
        settings=settings,
        provenance=Provenance(
            tool="anomalies",
            engine="file",
            query=f"robust seasonal median over {path.name} ({len(series.timestamps)} points every {series.interval})",
            period=Period(start=first.date(), end=last.date()),
            rows_scanned=sum(v is not None for v in series.values),
        ),
    )
