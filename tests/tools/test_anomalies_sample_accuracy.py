"""Acceptance on the bundled sample data: anomalies vs its ground truth, forecast backtest.

The sample bill carries what real bills carry: credits (one-off and monthly), refunds
(ChargeClass Correction), adjustments, taxes, rows exported without tags, a big resource that
loses its tags for a day, small-$ high-% spikes of small service lines, a 25-hour Azure day.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from domain.period import Period
from tools.anomalies import find_anomalies, find_series_anomalies
from tools.anomalies.accuracy import HYGIENE_KINDS, load_truth, score, select, truth_mask
from tools.anomalies.service import pivot_daily
from tools.forecast import backtest
from warehouse.query import daily_costs, open_backend

BY = ["team", "service"]


@pytest.fixture(scope="module")
def sample(sample_data):  # type: ignore[no-untyped-def]
    manifest, warehouse = sample_data
    backend = open_backend(warehouse)
    period = Period(start=manifest.end - timedelta(days=manifest.days - 1), end=manifest.end)
    yield backend, period, load_truth(manifest.truth_file), manifest
    backend.disconnect()


@pytest.fixture(scope="module")
def reports(sample):  # type: ignore[no-untyped-def]
    backend, period, _, _ = sample
    return {tuple(by): find_anomalies(backend, period, by) for by in (BY, ["team", "env"])}


@pytest.mark.parametrize("by", [BY, ["team", "env"]], ids=["team,service", "team,env"])
def test_detector_finds_the_injected_anomalies(sample, reports, by) -> None:  # type: ignore[no-untyped-def]
    _, _, truth, _ = sample
    assert {t.kind for t in truth} == {"spike", "level_shift", "small_spike", "tag_loss"}
    report = reports[tuple(by)]
    accuracy = score(report.anomalies, truth, by)
    assert accuracy.truth >= 18
    assert accuracy.recall >= 0.95, accuracy.missed
    assert accuracy.precision >= 0.8, accuracy.false_alarms
    # A resource that lost its tags for a day is tag hygiene, never an anomaly.
    hygiene = score(report.tag_hygiene, truth, by, kinds=HYGIENE_KINDS)
    assert hygiene.recall == 1.0, hygiene.missed
    lost = select(truth, HYGIENE_KINDS, by)
    assert not [
        a for a in report.anomalies for t in lost if a.series == t.series and a.start <= t.end <= a.end
    ]


def test_spikes_explain_themselves_with_their_extra_cost(sample, reports) -> None:  # type: ignore[no-untyped-def]
    _, _, truth, _ = sample
    report = reports[tuple(BY)]
    for t in select(truth, ("spike", "small_spike")):
        hit = next(
            a for a in report.anomalies if a.series == t.series and a.start <= t.end and t.start <= a.end
        )
        assert float(hit.impact) == pytest.approx(float(t.extra_cost), rel=0.25), t


def test_small_service_spikes_are_found_one_level_below_team_env(sample, reports) -> None:  # type: ignore[no-untyped-def]
    """A few percent of a team × env series: found on its service line (or, where the team × env
    series is small enough, on it directly) and reported with that service among the top causes."""
    _, _, truth, _ = sample
    report = reports[("team", "env")]
    assert report.drill_dimension == "service"
    assert any(a.found_in is not None for a in report.anomalies)
    for t in select(truth, ("small_spike",), ["team", "env"]):
        hit = next(
            a for a in report.anomalies if a.series == t.series and a.start <= t.end and t.start <= a.end
        )
        service = next(x.series["service"] for x in truth if x.kind == "small_spike" and x.start == t.start)
        assert hit.found_in in ({"service": service}, None)
        assert hit.impact == hit.actual - hit.expected and hit.impact >= 50
        assert ("service", service) in [(c.dimension, c.value) for c in hit.root_causes[:2]]


def test_credits_refunds_adjustments_and_taxes_are_reported_apart(sample, reports) -> None:  # type: ignore[no-untyped-def]
    backend, period, _, _ = sample
    report = reports[tuple(BY)]
    assert report.baseline == "usage"
    kinds = {c.charge for c in report.non_usage}
    assert {"Credit", "Correction", "Adjustment", "Tax"} <= kinds
    credits = sum((c.amount for c in report.non_usage if c.charge == "Credit"), Decimal(0))
    stored = daily_costs(backend, period, [], {"charge_category": ["Credit"]})
    assert credits == sum(stored["cost"], Decimal(0)).quantize(Decimal("0.01")) and credits < 0
    # The monthly credit sits on checkout × RDS, on the 3rd of each month.
    monthly = next(c for c in report.non_usage if c.charge == "Credit" and c.series["team"] == "checkout")
    assert monthly.days >= 4 and monthly.largest_day.day == 3
    assert any(n.startswith("not in the baseline (reported under non_usage): ") for n in report.notes)


def test_tag_loss_names_the_resource_and_its_tagged_series(sample, reports) -> None:  # type: ignore[no-untyped-def]
    _, _, truth, _ = sample
    report = reports[tuple(BY)]
    for t in select(truth, HYGIENE_KINDS):
        finding = next(
            h for h in report.tag_hygiene if h.series == t.series and h.start <= t.end and t.start <= h.end
        )
        assert t.detail["resource"] in [r.value for r in finding.resources]
        assert float(finding.impact) == pytest.approx(float(t.extra_cost), rel=0.35)


def test_the_hourly_export_with_a_repeated_hour_finds_its_spikes(sample) -> None:  # type: ignore[no-untyped-def]
    _, _, _, manifest = sample
    truth = json.loads(manifest.series_truth_file.read_text())
    report = find_series_anomalies(manifest.series_files[0], timezone=truth[0]["timezone"])
    windows = [(datetime.fromisoformat(t["start"]), datetime.fromisoformat(t["end"])) for t in truth]
    found = [w for w in windows if any(a.start <= w[1] and w[0] <= a.end for a in report.anomalies)]
    right = [a for a in report.anomalies if any(a.start <= w[1] and w[0] <= a.end for w in windows)]
    assert len(found) == len(windows) and len(right) / len(report.anomalies) >= 0.8
    assert any(n.endswith("rows out of time order: sorted") for n in report.notes)
    assert any("rows shared a point with another row" in n for n in report.notes)


def test_forecast_backtest_beats_seasonal_naive_with_calibrated_intervals(sample) -> None:  # type: ignore[no-untyped-def]
    """team × service series, 4 weekly origins × 7 days, anomaly days scored (unmasked).

    Accuracy here is the relative MAE: MAE of ETS / MAE of seasonal naive(7) over the very same
    forecast points. Coverage counts every point, injected spikes and shifts included.
    """
    backend, period, truth, _ = sample
    frame = daily_costs(backend, period, BY)
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    keys, matrix = pivot_daily(frame, BY, days)
    unmasked = backtest(matrix, horizon=7, origins=4)
    print(f"unmasked team×service: {unmasked.model_dump()}")
    assert unmasked.relative_mae < 1.0
    assert 0.70 <= unmasked.coverage80 <= 0.90
    assert 0.85 <= unmasked.coverage95 <= 0.99
    # With the injected spike days left out of the scoring, MASE (in-sample seasonal-naive
    # scale) is below 1 as well.
    masked = backtest(matrix, horizon=7, origins=4, skip=truth_mask(keys, BY, days, truth))
    assert masked.mase < 1.0 and masked.mase < masked.mase_seasonal_naive
    assert 0.70 <= masked.coverage80 <= 0.90


def test_total_forecast_intervals_cover_the_sample(sample) -> None:  # type: ignore[no-untyped-def]
    """The TOTAL series, 8 weekly origins: spikes widen σ, so the intervals are not too narrow."""
    backend, period, _, _ = sample
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    _, total = pivot_daily(daily_costs(backend, period, []), [], days)
    result = backtest(total, horizon=7, origins=8)
    print(f"unmasked total: {result.model_dump()}")
    assert result.relative_mae < 1.0
    assert result.coverage80 >= 0.75
    assert result.coverage95 >= 0.90
