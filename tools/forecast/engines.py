"""Forecast engines over many daily series at once, with analytic prediction intervals.

Every engine returns point forecasts and the error coefficients c_j of its innovations state
space form, from which follow both the h-step variance σ²(1 + Σ_{j<h} c_j²) and the variance of
a sum over the next H days (month-end and budget projections):

    Var(Σ_{h≤H} e_{T+h}) = σ² Σ_{k=1..H} (1 + Σ_{j=1..H-k} c_j)²

Registry: ``ets`` (numpy ETS(A,Ad,A), the default), ``seasonal-naive`` and ``statsmodels-ets``
(the plain per-series statsmodels path, kept as the reference the benchmark compares with).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from tools.anomalies.robust import robust_scale, seasonal_expected
from tools.anomalies.segments import flag_runs
from tools.forecast.ets import damped_sums, ets_forecast, fit_ets

ETS_MIN_SEASONS = 3  # below this many seasons of history: seasonal naive
NAIVE_MIN_POINTS_OVER_SEASON = 1  # seasonal naive needs one season plus one point (a residual)
MODEL_ETS = "ets(A,Ad,A)"
MODEL_NAIVE = "seasonal-naive"
MODEL_NONE = "none"
SPIKE_Z = 5.0  # robust score above which a point is a spike, not signal
SPIKE_MAX_RUN = 3  # longer runs are level shifts: the new level is real and kept
SPIKE_AFTER = 2  # normal points needed after a run before calling it a spike


def clean_spikes(y: np.ndarray, m: int) -> np.ndarray:
    """Replace short, isolated spikes by their same-position median before fitting.

    Least squares chases a one-day spike into the level and the variance for weeks. Runs of
    at most ``SPIKE_MAX_RUN`` points beyond ``SPIKE_Z`` robust σ are replaced by the expected
    value; longer runs (level shifts) and runs not yet followed by ``SPIKE_AFTER`` normal points
    (too early to tell a spike from a shift) are kept.
    """
    if y.shape[1] < 3 * m:
        return y
    expected = seasonal_expected(y, m, seasons=4, min_seasons=1)
    start = m
    scale = robust_scale(y[:, start:], expected[:, start:], 0.02, 1e-9)
    scores = np.abs(np.nan_to_num((y - expected) / scale[:, None], nan=0.0))
    rows, starts, ends = flag_runs(scores > SPIKE_Z)
    short = ((ends - starts + 1) <= SPIKE_MAX_RUN) & (ends < y.shape[1] - SPIKE_AFTER)
    cleaned = y.copy()
    for row, first, last in zip(rows[short], starts[short], ends[short], strict=True):
        cleaned[row, first : last + 1] = expected[row, first : last + 1]
    return cleaned


ALL = slice(None)


class ForecastArrays(BaseModel):
    """Point forecasts and error structure for each series (rows) and horizon step (columns)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    mean: np.ndarray  # (series, H); NaN where no forecast
    c: np.ndarray  # (series, H): c_1..c_H
    sigma2: np.ndarray  # (series,)
    model: tuple[str, ...]
    history: np.ndarray  # (series,) days of history used
    nonnegative: np.ndarray  # (series,) bool: history never negative → clip forecasts at 0

    def variance(self, rows: slice = ALL) -> np.ndarray:
        """h-step forecast error variance, (series, H) — of ``rows`` only when given."""
        c = self.c[rows]
        prior = np.concatenate([np.zeros((c.shape[0], 1)), np.cumsum(c[:, :-1] ** 2, axis=1)], axis=1)
        return self.sigma2[rows][:, None] * (1 + prior)

    def sum_variance(self, steps: int) -> np.ndarray:
        """Variance of the sum of the next ``steps`` forecast errors, (series,)."""
        return self.range_sum_variance(1, steps)

    def range_sum_variance(self, first: int, last: int, rows: slice = ALL) -> np.ndarray:
        """Variance of the sum of forecast errors at steps ``first..last`` (1-based, inclusive).

        The error at step h is e_{T+h} + Σ_{j<h} c_j e_{T+h-j}; in the sum, e_{T+k} carries
        [k ≥ first] + Σ_{h=max(first,k+1)..last} c_{h-k} = [k ≥ first] + C_{last-k} - C_{max(first-k-1, 0)}.
        """
        c = self.c[rows]
        n = c.shape[0]
        if last < first or last <= 0:
            return np.zeros(n)
        cum = np.concatenate([np.zeros((n, 1)), np.cumsum(c[:, :last], axis=1)], axis=1)  # C_0..C_last
        k = np.arange(1, last + 1)
        own = (k >= first).astype(float)
        coef = own[None, :] + cum[:, last - k] - cum[:, np.maximum(first - k - 1, 0)]
        return self.sigma2[rows] * np.sum(coef**2, axis=1)


Engine = Callable[[np.ndarray, int, int], ForecastArrays]


def _arrays(mean: np.ndarray, c: np.ndarray, sigma2: np.ndarray, model: str, y: np.ndarray) -> ForecastArrays:
    n = y.shape[0]
    return ForecastArrays(
        mean=mean, c=c, sigma2=sigma2, model=(model,) * n, history=np.full(n, y.shape[1]),
        nonnegative=(y >= 0).all(axis=1),
    )  # fmt: skip


def ets_engine(y: np.ndarray, horizon: int, m: int) -> ForecastArrays:
    params = fit_ets(clean_spikes(y, m), m, raw=y)
    mean, c = ets_forecast(params, horizon)
    return _arrays(mean, c, params.sigma2, MODEL_ETS, y)


def seasonal_naive_engine(y: np.ndarray, horizon: int, m: int) -> ForecastArrays:
    """ŷ_{T+h} = y_{T+h-m(k+1)}; σ² from the in-sample seasonal differences; c_j = [j mod m = 0]."""
    n, t = y.shape
    h = np.arange(1, horizon + 1)
    positions = t - m + (h - 1) % m
    mean = y[:, positions]
    diffs = y[:, m:] - y[:, :-m]
    sigma2 = (diffs**2).mean(axis=1) if diffs.shape[1] else np.zeros(n)
    c = np.broadcast_to((h % m == 0).astype(float), (n, horizon)).copy()
    return _arrays(mean, c, sigma2, MODEL_NAIVE, y)


def statsmodels_engine(y: np.ndarray, horizon: int, m: int) -> ForecastArrays:
    """The plain path: one statsmodels ETSModel fit + get_prediction per series (slow, reference)."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    n, t = y.shape
    index = pd.date_range(date(2000, 1, 3), periods=t, freq="D")  # a dated index (PITFALLS.md)
    mean = np.empty((n, horizon))
    c = np.empty((n, horizon))
    sigma2 = np.empty(n)
    h = np.arange(1, horizon + 1)
    for i in range(n):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            model = ETSModel(
                pd.Series(y[i], index=index), error="add", trend="add", damped_trend=True,
                seasonal="add", seasonal_periods=m,
            )  # fmt: skip
            fit = model.fit(disp=False)
            pred = fit.get_prediction(start=t, end=t + horizon - 1)
        mean[i] = np.asarray(pred.predicted_mean)
        alpha, beta, gamma, phi = np.asarray(fit.params)[:4]
        phi_h = damped_sums(np.array([phi]), horizon)[0]
        c[i] = alpha + beta * phi_h + gamma * (h % m == 0)
        sigma2[i] = fit.mse
    return _arrays(mean, c, sigma2, "statsmodels " + MODEL_ETS, y)


ENGINES: dict[str, Engine] = {
    "ets": ets_engine,
    "seasonal-naive": seasonal_naive_engine,
    "statsmodels-ets": statsmodels_engine,
}


def _first_activity(y: np.ndarray) -> np.ndarray:
    """Index of the first non-zero day per series (a series that starts later has no history)."""
    active = y != 0
    return np.where(active.any(axis=1), active.argmax(axis=1), y.shape[1])


def forecast_arrays(y: np.ndarray, horizon: int, m: int = 7, engine: str = "ets") -> ForecastArrays:
    """Forecast every row of ``y`` (series, days) ``horizon`` steps ahead.

    Each series uses its own history from its first non-zero day: ≥ 3 seasons → ``engine``;
    ≥ one season + 1 day → seasonal naive; less → no forecast (model "none", NaN mean).
    Series of equal usable length are fitted together.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown forecast engine {engine!r}; use one of: {', '.join(ENGINES)}")
    y = np.asarray(y, dtype=float)
    n, t = y.shape
    mean = np.full((n, horizon), np.nan)
    c = np.zeros((n, horizon))
    sigma2 = np.zeros(n)
    model = [MODEL_NONE] * n
    history = t - _first_activity(y)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, length in enumerate(history.tolist()):
        if length >= ETS_MIN_SEASONS * m:
            groups.setdefault((engine, min(t, length // m * m)), []).append(i)
        elif length >= m + NAIVE_MIN_POINTS_OVER_SEASON:
            groups.setdefault(("seasonal-naive", length), []).append(i)
    for (name, length), rows in groups.items():
        part = ENGINES[name](y[rows, t - length :], horizon, m)
        mean[rows], c[rows], sigma2[rows] = part.mean, part.c, part.sigma2
        for row, label in zip(rows, part.model, strict=True):
            model[row] = label
    return ForecastArrays(
        mean=mean, c=c, sigma2=sigma2, model=tuple(model), history=history, nonnegative=(y >= 0).all(axis=1)
    )
