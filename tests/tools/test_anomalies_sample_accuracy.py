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
    """team × service series, 4 weekly origins × 7 days, anomaly days scored (unmasked).

    Accuracy here is the relative MAE: MAE of ETS / MAE of seasonal naive(7) over the very same
    forecast points. Coverage counts every point, injected spikes and shifts included.
    """
    backend, period, truth = sample
    frame = daily_costs(backend, period, BY)
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    keys, matrix = pivot_daily(frame, BY, days)
    unmasked = backtest(matrix, horizon=7, origins=4)
    print(f"unmasked team×service: {unmasked.model_dump()}")
    assert unmasked.relative_mae < 1.0
    assert 0.70 <= unmasked.coverage80 <= 0.90
    assert 0.85 <= unmasked.coverage95 <= 0.99
    # With the injected anomaly days left out of the scoring, MASE (in-sample seasonal-naive
    # scale) is below 1 as well.
    masked = backtest(matrix, horizon=7, origins=4, skip=truth_mask(keys, BY, days, truth))
    assert masked.mase < 1.0 and masked.mase < masked.mase_seasonal_naive
    assert 0.70 <= masked.coverage80 <= 0.90


def test_total_forecast_intervals_cover_the_sample(sample) -> None:  # type: ignore[no-untyped-def]
    """The TOTAL series, 8 weekly origins: spikes widen σ, so the intervals are not too narrow."""
    backend, period, _ = sample
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    _, total = pivot_daily(daily_costs(backend, period, []), [], days)
    result = backtest(total, horizon=7, origins=8)
    print(f"unmasked total: {result.model_dump()}")
    assert result.relative_mae < 1.0
    assert result.coverage80 >= 0.75
    assert result.coverage95 >= 0.90
