"""Acceptance on the bundled sample data: anomalies vs its ground truth, forecast backtest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.period import Period
from tools.anomalies import find_anomalies
from tools.anomalies.accuracy import load_truth, score, truth_mask
from tools.anomalies.service import pivot_daily
from tools.forecast import backtest
from warehouse.query import daily_costs, open_backend

BY = ["team", "service"]


@pytest.fixture(scope="module")
def sample(sample_data):  # type: ignore[no-untyped-def]
    manifest, warehouse = sample_data
    backend = open_backend(warehouse)
    period = Period(start=manifest.end - timedelta(days=manifest.days - 1), end=manifest.end)
    yield backend, period, load_truth(manifest.truth_file)
    backend.disconnect()


def test_detector_finds_the_injected_anomalies(sample) -> None:  # type: ignore[no-untyped-def]
    backend, period, truth = sample
    assert len(truth) >= 10 and {t.kind for t in truth} == {"spike", "level_shift"}
    report = find_anomalies(backend, period, BY)
    accuracy = score(report.anomalies, truth)
    assert accuracy.recall >= 0.9, accuracy.missed
    assert accuracy.precision >= 0.8, accuracy.false_alarms
    # Each found spike explains itself: its impact is close to the extra cost injected.
    for t in truth:
        hit = next(
            (a for a in report.anomalies if a.series == t.series and a.start <= t.end and t.start <= a.end),
            None,
        )
        if hit is not None and t.kind == "spike":
            assert float(hit.impact) == pytest.approx(float(t.extra_cost), rel=0.25)


def test_forecast_backtest_beats_seasonal_naive_with_calibrated_intervals(sample) -> None:  # type: ignore[no-untyped-def]
    backend, period, truth = sample
    frame = daily_costs(backend, period, BY)
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    keys, matrix = pivot_daily(frame, BY, days)
    result = backtest(matrix, horizon=7, origins=4, skip=truth_mask(keys, BY, days, truth))
    assert result.mase < 1.0 and result.mase < result.mase_seasonal_naive
    assert 0.70 <= result.coverage80 <= 0.90
