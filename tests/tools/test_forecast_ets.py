"""The numpy ETS(A,Ad,A) against statsmodels, variance algebra, fallbacks and the backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from tools.forecast import backtest, forecast_arrays
from tools.forecast.engines import ForecastArrays
from tools.forecast.ets import EtsParams, ets_forecast, fit_ets, run_filter

WEEK = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.55])


def cost_like(n: int, days: int, seed: int = 0, noise: float = 0.06) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(50, 500, (n, 1))
    growth = rng.normal(0, 0.002, (n, 1))
    t = np.arange(days)
    return (
        base
        * (1 + growth * t)
        * np.tile(WEEK, days // 7 + 1)[:days]
        * (1 + noise * rng.standard_normal((n, days)))
    )


@pytest.fixture(scope="module")
def statsmodels_fit():  # type: ignore[no-untyped-def]
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = cost_like(1, 120, seed=11)[0]
    series = pd.Series(y, index=pd.date_range("2026-01-01", periods=120, freq="D"))
    model = ETSModel(series, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=7)
    return y, model.fit(disp=False)


def test_filter_and_intervals_match_statsmodels_for_the_same_parameters(statsmodels_fit) -> None:  # type: ignore[no-untyped-def]
    y, fit = statsmodels_fit
    p = np.asarray(fit.params)
    alpha, beta, gamma, phi, level, trend = (np.array([v]) for v in p[:6])
    seasonal = p[6:13][::-1][None, :]  # statsmodels lists s_0, s_-1, …; ours is by time position
    sse, lev, tr, seas = run_filter(y[None, :], alpha, beta, gamma, phi, level, trend, seasonal)
    assert sse[0] / y.size == pytest.approx(fit.mse, rel=1e-9)
    params = EtsParams(alpha=alpha, beta=beta, gamma=gamma, phi=phi, sigma2=sse / y.size, level=lev, trend=tr,
                       seasonal=seas, n_obs=y.size)  # fmt: skip
    mean, c = ets_forecast(params, 14)
    frame = fit.get_prediction(start=y.size, end=y.size + 13).summary_frame(alpha=0.2)
    np.testing.assert_allclose(mean[0], frame["mean"].to_numpy(), rtol=1e-9)
    arrays = ForecastArrays(mean=mean, c=c, sigma2=params.sigma2, model=("x",), history=np.array([120]),
                            nonnegative=np.array([False]))  # fmt: skip
    lo = mean[0] - norm.ppf(0.9) * np.sqrt(arrays.variance()[0])
    np.testing.assert_allclose(lo, frame["pi_lower"].to_numpy(), rtol=1e-9)


def test_numpy_fit_is_as_good_as_statsmodels_in_sample(statsmodels_fit) -> None:  # type: ignore[no-untyped-def]
    y, fit = statsmodels_fit
    ours = fit_ets(y[None, :], 7)
    assert ours.sigma2[0] <= fit.mse * 1.05
    assert (
        0 <= ours.beta[0] <= ours.alpha[0]
        and 0.8 <= ours.phi[0] <= 0.98
        and ours.gamma[0] <= 1 - ours.alpha[0]
    )


def test_sum_variance_equals_the_error_matrix() -> None:
    rng = np.random.default_rng(0)
    h = 10
    c = rng.uniform(0, 0.4, (1, h))
    arrays = ForecastArrays(mean=np.zeros((1, h)), c=c, sigma2=np.array([3.0]), model=("x",), history=np.array([1]),
                            nonnegative=np.array([True]))  # fmt: skip
    errors = np.eye(h)
    for row in range(h):
        for j in range(1, row + 1):
            errors[row, row - j] = c[0, j - 1]
    for first, last in ((1, h), (4, 8), (6, 6)):
        weights = np.zeros(h)
        weights[first - 1 : last] = 1
        assert arrays.range_sum_variance(first, last)[0] == pytest.approx(
            3.0 * np.sum((weights @ errors) ** 2)
        )
    np.testing.assert_allclose(arrays.variance()[0], 3.0 * np.sum(errors**2, axis=1))


def test_history_decides_the_model() -> None:
    y = cost_like(4, 60, seed=2)
    y[1, :45] = 0  # 15 days of history: seasonal naive
    y[2, :55] = 0  # 5 days: not enough
    y[3, :] = 0  # nothing at all
    arrays = forecast_arrays(y, 7)
    assert arrays.model == ("ets(A,Ad,A)", "seasonal-naive", "none", "none")
    assert arrays.history.tolist() == [60, 15, 5, 0]
    np.testing.assert_allclose(arrays.mean[1], y[1, 53:60])  # last week repeated
    assert np.isnan(arrays.mean[2]).all()
    naive_var = arrays.variance()[1]
    assert naive_var[0] == pytest.approx(np.mean((y[1, 52:] - y[1, 45:53]) ** 2))


def test_unknown_engine() -> None:
    with pytest.raises(ValueError, match="unknown forecast engine 'prophet'"):
        forecast_arrays(np.ones((1, 30)), 7, engine="prophet")


def test_backtest_beats_seasonal_naive_with_calibrated_intervals() -> None:
    y = cost_like(60, 200, seed=5)
    result = backtest(y, horizon=7, origins=4)
    assert result.mase < 1.0 and result.mase < result.mase_seasonal_naive
    assert 0.70 <= result.coverage80 <= 0.90
    assert 0.88 <= result.coverage95 <= 0.99
    assert result.points == 60 * 4 * 7


def test_spikes_are_cleaned_for_the_mean_but_widen_the_intervals() -> None:
    """A one-day spike does not move the point forecast much, but σ² counts it (raw residuals)."""
    calm = cost_like(1, 120, seed=3, noise=0.03)
    spiky = calm.copy()
    spiky[0, 60] *= 6  # one isolated spike, long before the end
    a, b = forecast_arrays(calm, 7), forecast_arrays(spiky, 7)
    np.testing.assert_allclose(b.mean, a.mean, rtol=0.05)
    assert b.sigma2[0] > 3 * a.sigma2[0]


def test_relative_mae_compares_with_seasonal_naive_on_the_same_points() -> None:
    y = cost_like(10, 120, seed=9)
    naive = backtest(y, horizon=7, origins=2, engine="seasonal-naive")
    assert naive.relative_mae == pytest.approx(1.0)
    ets = backtest(y, horizon=7, origins=2)
    assert 0 < ets.relative_mae < 1.0
