"""The robust expectation and the volatility-aware scale: dips, earlier anomalies, shifts, noise."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tools.anomalies import DetectorSettings, ThresholdRule, detect
from tools.anomalies.robust import _runs_in_block, clean_expected, seasonal_expected
from tools.anomalies.volatility import centred_mean, smoothing_points, volatility_scale

WEEK = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.55])


def weekly(days: int, level: float = 1000.0, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level * np.tile(WEEK, days // 7 + 1)[:days] * (1 + noise * rng.standard_normal(days))


def test_two_dips_among_the_lags_do_not_make_a_normal_day_a_spike() -> None:
    """A credit day and a tag-loss day four and three weeks back: the plain median of the four
    lags averages a dip into the middle pair; the cleaned history leaves both out."""
    values = weekly(84, seed=1)[None, :]
    day = 77
    values[0, day - 21] *= 0.3
    values[0, day - 14] *= 0.35
    plain = seasonal_expected(values, 7, 4, 2)[0, day]
    scale = np.array([20.0])
    cleaned = clean_expected(values, 7, 4, 2, scale, mask_z=3.0, adapt_after=7)[0, day]
    assert plain < 0.85 * values[0, day]  # the old expectation: today looks like +20% or more
    assert cleaned == pytest.approx(values[0, day], rel=0.05)
    assert detect(values, 7, DetectorSettings(), evaluate_from=70).anomalies == ()


def test_an_earlier_spike_does_not_raise_later_expectations() -> None:
    values = weekly(84, seed=2)[None, :]
    for back in (7, 14, 21):
        values[0, 77 - back] *= 3.0  # the same weekday spiked three weeks running
    cleaned = clean_expected(values, 7, 4, 2, np.array([20.0]), mask_z=3.0, adapt_after=7)
    assert cleaned[0, 77] == pytest.approx(values[0, 77], rel=0.05)


def test_a_level_shift_is_one_run_and_then_the_new_normal() -> None:
    values = weekly(140, seed=3)[None, :]
    values[0, 70:] *= 1.5
    found = detect(values, 7, DetectorSettings(), evaluate_from=56).anomalies
    assert len(found) == 1 and found[0].start_index == 70
    # The expectation follows the new level within a few weeks: the run ends, nothing after.
    assert 76 <= found[0].end_index <= 100


def test_heavy_tailed_noise_raises_the_scale_but_a_real_spike_still_shows() -> None:
    """Bursty untagged spend: MAD alone sees a stream of anomalies, the tail scale knows them."""
    rng = np.random.default_rng(4)
    days = 140
    values = 200 + 5 * rng.standard_normal((1, days))
    bursts = rng.choice(np.arange(28, days), 14, replace=False)
    values[0, bursts] += rng.uniform(80, 160, bursts.size)  # the series' usual jumps
    values[0, 120] += 900  # a real spike
    rule = ThresholdRule(absolute=Decimal(50), percent=15)
    mad = detect(values, 7, DetectorSettings(volatility="mad", rule=rule), evaluate_from=28).anomalies
    tail = detect(values, 7, DetectorSettings(volatility="tail", rule=rule), evaluate_from=28).anomalies
    assert len(mad) >= 8
    assert [a.start_index for a in tail] == [120]


def test_five_minute_spike_is_scored_smoothed_and_reported_at_its_own_points() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(288 * 6)
    values = (100 + 30 * np.sin(2 * np.pi * t / 288)) * (1 + 0.03 * rng.standard_normal(t.size))
    values[1500:1503] *= 2.5
    assert smoothing_points(288) == 6 and smoothing_points(24) == 1 and smoothing_points(7) == 1
    rule = ThresholdRule(absolute=None, min_impact=Decimal(0))
    found = detect(values[None, :], 288, DetectorSettings(rule=rule)).anomalies
    assert [(a.start_index, a.end_index) for a in found] == [(1500, 1502)]


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(15, 60)), elements=st.floats(0, 1e4)))
def test_with_nothing_masked_the_clean_expectation_is_the_plain_median(values: np.ndarray) -> None:
    plain = seasonal_expected(values, 7, 4, 2)
    cleaned = clean_expected(values, 7, 4, 2, np.ones(values.shape[0]), mask_z=np.inf, adapt_after=7)
    np.testing.assert_allclose(cleaned, plain, equal_nan=True)


@settings(max_examples=80, deadline=None)
@given(
    arrays(np.int8, st.tuples(st.integers(1, 8), st.integers(1, 4)), elements=st.sampled_from([-1, 0, 1])),
    st.sampled_from([-1, 0, 1]),
    st.integers(0, 5),
)
def test_run_lengths_across_blocks_match_a_plain_loop(sign: np.ndarray, carry: int, carry_len: int) -> None:
    """(time, series) signs; a run may continue from the previous block (the carry)."""
    n_time, n_series = sign.shape
    carry_len = carry_len if carry else 0
    length, start = _runs_in_block(
        sign, np.full(n_series, carry, np.int8), np.full(n_series, carry_len), np.full(n_series, 3), lo=10
    )
    for s in range(n_series):
        run, first, prev = carry_len, 3, carry
        for t in range(n_time):
            if sign[t, s] == 0:
                run, prev = 0, 0
                assert length[t, s] == 0
                continue
            if sign[t, s] == prev:
                run += 1
            else:
                run, first = 1, 10 + t
            prev = sign[t, s]
            assert (length[t, s], start[t, s]) == (run, first)


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 40)), elements=st.floats(-1e3, 1e3)),
    st.integers(1, 9),
    st.sets(st.integers(0, 39), max_size=10),
)
def test_centred_mean_matches_a_plain_loop(values: np.ndarray, width: int, holes: set[int]) -> None:
    """Window [t - (w-1)//2, t + w//2], gaps skipped, at least half the window present."""
    for h in holes:
        if h < values.shape[1]:
            values[:, h] = np.nan
    got = centred_mean(values, width)
    n = values.shape[1]
    for row, series in enumerate(values):
        for t in range(n):
            window = series[max(0, t - (width - 1) // 2) : min(n, t + width // 2 + 1)]
            present = window[~np.isnan(window)]
            if width > 1 and present.size < max(1, width // 2):
                assert np.isnan(got[row, t])
            elif width > 1:
                assert got[row, t] == pytest.approx(present.mean(), abs=1e-6)
            else:
                assert got[row, t] == series[t] or (np.isnan(got[row, t]) and np.isnan(series[t]))


def test_tail_and_mad_agree_on_normal_noise() -> None:
    rng = np.random.default_rng(6)
    residuals = rng.standard_normal((200, 7 * 30))
    level = np.full(200, 100.0)
    mad = volatility_scale(residuals, level, 7, 1, "mad", 0.0, 0.0)
    tail = volatility_scale(residuals, level, 7, 1, "tail", 0.0, 0.0)
    assert np.median(mad) == pytest.approx(1.0, rel=0.05)
    assert np.median(tail / mad) == pytest.approx(1.0, abs=0.15)


def test_the_caller_s_values_are_never_modified() -> None:
    """One series is the case where a time-major view of the input would be the input itself."""
    values = weekly(84, seed=7)[None, :]
    values[0, 70] *= 3
    before = values.copy()
    clean_expected(values, 7, 4, 2, np.array([20.0]), mask_z=3.0, adapt_after=7)
    assert [a.start_index for a in detect(values, 7, DetectorSettings()).anomalies] == [70]
    np.testing.assert_array_equal(values, before)
