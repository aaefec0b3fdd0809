"""The pure detector: seasonality, robust scores, run merging, threshold rules."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from domain.errors import InputError
from tools.anomalies import DetectorSettings, Status, ThresholdRule, detect, season_length
from tools.anomalies.robust import _median_of, seasonal_expected
from tools.anomalies.segments import flag_runs, run_max, run_sums

WEEK = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.55])


def weekly(n_series: int, days: int, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.uniform(100, 1000, (n_series, 1))
    values = base * np.tile(WEEK, days // 7 + 1)[:days] * (1 + noise * rng.standard_normal((n_series, days)))
    return values, base[:, 0]


@pytest.mark.parametrize(
    ("interval", "season"),
    [
        (timedelta(days=1), 7),
        (timedelta(hours=1), 24),
        (timedelta(minutes=5), 288),
        (timedelta(minutes=15), 96),
        (timedelta(days=2), 1),
        (timedelta(minutes=7), 1),
    ],
)
def test_season_follows_the_sampling_interval(interval: timedelta, season: int) -> None:
    assert season_length(interval) == season


def test_non_positive_interval_is_an_input_error() -> None:
    with pytest.raises(InputError, match="must be positive"):
        season_length(timedelta(0))


def test_threshold_rules_and_or_and_floor() -> None:
    impact = np.array([5.0, 60.0, 60.0, 200.0, 30.0])
    pct = np.array([50.0, 10.0, 30.0, 5.0, np.inf])
    both = ThresholdRule(absolute=Decimal(50), percent=25, combine="and", min_impact=Decimal(10))
    either = both.model_copy(update={"combine": "or"})
    assert both.passes(impact, pct).tolist() == [False, False, True, False, False]
    # OR: the $10 floor still removes the 50% anomaly worth $5.
    assert either.passes(impact, pct).tolist() == [False, True, True, True, True]
    only_pct = ThresholdRule(absolute=None, percent=25, min_impact=Decimal(0))
    assert only_pct.passes(impact, pct).tolist() == [True, False, True, False, True]
    floor_only = ThresholdRule(absolute=None, percent=None, min_impact=Decimal(100))
    assert floor_only.passes(impact, pct).tolist() == [False, False, False, True, False]


def test_expected_is_the_same_weekday_median_of_previous_weeks() -> None:
    values = np.arange(70, dtype=float)[None, :]
    values[0, 35] = 1000.0  # one outlier among the lags of day 42 does not move the median
    expected = seasonal_expected(values, season=7, seasons=4, min_seasons=2)
    assert np.isnan(expected[0, :14]).all()
    assert expected[0, 14] == np.median([7.0, 0.0])  # only two previous weeks exist
    assert expected[0, 42] == np.median([35.0 * 0 + 1000.0, 28.0, 21.0, 14.0])
    assert expected[0, 69] == np.median([62.0, 55.0, 48.0, 41.0])


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 9), st.integers(1, 6)), elements=st.floats(-1e6, 1e6)))
def test_sort_network_median_equals_numpy(stack: np.ndarray) -> None:
    got = _median_of([stack[i] for i in range(stack.shape[0])])
    np.testing.assert_allclose(got, np.median(stack, axis=0))


@settings(max_examples=80, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 5), st.integers(1, 20))))
def test_runs_and_their_sums_match_a_plain_loop(flags: np.ndarray) -> None:
    values = np.arange(flags.size, dtype=float).reshape(flags.shape)
    rows, starts, ends = flag_runs(flags)
    want = []
    for r in range(flags.shape[0]):
        c = 0
        while c < flags.shape[1]:
            if flags[r, c]:
                s = c
                while c + 1 < flags.shape[1] and flags[r, c + 1]:
                    c += 1
                want.append((r, s, c))
            c += 1
    assert list(zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True)) == want
    sums = run_sums(values, rows, starts, ends)
    maxes = run_max(values, rows, starts, ends)
    for (r, s, e), total, top in zip(want, sums, maxes, strict=True):
        assert total == pytest.approx(values[r, s : e + 1].sum())
        assert top == values[r, s : e + 1].max()


def test_injected_spikes_are_found_with_high_precision_and_recall() -> None:
    values, base = weekly(2000, 120, noise=0.04, seed=3)
    rng = np.random.default_rng(4)
    hit = rng.choice(2000, 100, replace=False)
    days = rng.integers(90, 120, 100)
    values[hit, days] += base[hit] * 0.8
    result = detect(
        values, 7, DetectorSettings(rule=ThresholdRule(absolute=Decimal(50), percent=40, combine="and")), 90
    )
    found = {(a.series_index, a.start_index) for a in result.anomalies}
    truth = set(zip(hit.tolist(), days.tolist(), strict=True))
    assert len(found & truth) / len(truth) >= 0.95
    assert len(found & truth) / len(found) >= 0.9
    spike = next(a for a in result.anomalies if (a.series_index, a.start_index) in truth)
    assert spike.impact == pytest.approx(spike.actual - spike.expected)
    assert spike.start_index == spike.end_index and spike.direction == "up" and spike.score >= 3.5


def test_consecutive_points_merge_into_one_anomaly_and_level_shift_is_one_run() -> None:
    values, base = weekly(2, 84, noise=0.02, seed=5)
    values[0, 70:73] *= 2.0  # three-day spike
    values[1, 63:] += base[1] * 0.5  # level shift that lasts
    result = detect(values, 7, DetectorSettings(), evaluate_from=56)
    by_series = {a.series_index: a for a in result.anomalies}
    assert (by_series[0].start_index, by_series[0].end_index) == (70, 72)
    assert by_series[0].actual == pytest.approx(values[0, 70:73].sum())
    assert len([a for a in result.anomalies if a.series_index == 1]) == 1
    assert by_series[1].start_index == 63 and by_series[1].end_index >= 69


def test_flat_series_do_not_explode_on_a_cent() -> None:
    values = np.full((1, 60), 100.0)
    values[0, 50] = 100.01
    result = detect(
        values, 7, DetectorSettings(rule=ThresholdRule(absolute=None, percent=None, min_impact=Decimal(0)))
    )
    assert result.anomalies == ()
    values[0, 50] = 150.0
    result = detect(values, 7, DetectorSettings())
    assert [(a.start_index, round(a.impact, 6)) for a in result.anomalies] == [(50, 50.0)]


def test_drops_only_when_asked() -> None:
    values, _ = weekly(1, 70, noise=0.01, seed=6)
    values[0, 60] *= 0.2
    assert detect(values, 7, DetectorSettings()).anomalies == ()
    down = detect(values, 7, DetectorSettings(direction="both")).anomalies
    assert [(a.start_index, a.direction) for a in down] == [(60, "down")]
    assert down[0].impact < 0


def test_too_little_history_says_so() -> None:
    result = detect(np.ones((3, 10)), 7, DetectorSettings())
    assert result.status == Status.insufficient_data and result.anomalies == ()
    assert "not enough data" in (result.note or "")


def test_gaps_are_ignored_not_scored() -> None:
    values, _ = weekly(1, 70, noise=0.01, seed=8)
    values[0, [20, 40, 55]] = np.nan
    values[0, 62] *= 3
    found = detect(values, 7, DetectorSettings()).anomalies
    assert [a.start_index for a in found] == [62]


def test_root_causes_skip_values_the_dimension_does_not_apply_to() -> None:
    import pandas as pd

    from tools.anomalies.root_causes import rank_root_causes

    causes = rank_root_causes(
        {
            "model": pd.Series({"(none)": 900.0, "gpt-4o": 120.0}),
            "team": pd.Series({"(untagged)": 300.0, "search": 700.0}),
        }
    )
    assert [(c.dimension, c.value) for c in causes] == [
        ("team", "search"),
        ("team", "(untagged)"),
        ("model", "gpt-4o"),
    ]
