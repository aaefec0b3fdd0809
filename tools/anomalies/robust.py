"""Robust statistics over many series at once (rows = series, columns = time).

expected[t] = median of the values at the same seasonal position in the previous k seasons
(t - m, t - 2m, …, t - km); score = residual / (1.4826 × MAD of the residuals), with a floor on
the scale so a flat series does not turn a cent of noise into an infinite score.
"""

from __future__ import annotations

import warnings

import numpy as np

MAD_TO_SIGMA = 1.4826  # MAD × 1.4826 estimates σ for normal noise


def _median_of(arrays: list[np.ndarray]) -> np.ndarray:
    """Element-wise median of a few equal-shape arrays without stacking them.

    An odd-even transposition sort network (k passes of min/max) on views: for the k ≤ 12
    previous seasons used here it beats np.median over a stacked copy by several times.
    """
    if any(np.isnan(a).any() for a in arrays):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all lags missing → NaN, on purpose
            return np.nanmedian(np.stack(arrays), axis=0)
    items = list(arrays)
    k = len(items)
    for pass_no in range(k):
        for i in range(pass_no % 2, k - 1, 2):
            lo = np.minimum(items[i], items[i + 1])
            items[i + 1] = np.maximum(items[i], items[i + 1])
            items[i] = lo
    if k % 2:
        return items[k // 2]
    return (items[k // 2 - 1] + items[k // 2]) / 2


def seasonal_expected(values: np.ndarray, season: int, seasons: int, min_seasons: int) -> np.ndarray:
    """Expected value per point: same-position median over up to ``seasons`` previous seasons.

    ``values`` is (series, time); the result has the same shape, NaN where fewer than
    ``min_seasons`` previous seasons exist. NaN values (gaps) are ignored in the median.
    """
    n_series, n_time = values.shape
    expected = np.full(values.shape, np.nan)
    for q in range(min_seasons, seasons + 1):
        # Columns that have exactly q previous seasons (or ≥ q for the last block).
        lo = q * season
        hi = (q + 1) * season if q < seasons else n_time
        if lo >= n_time:
            break
        hi = min(hi, n_time)
        lags = [values[:, lo - j * season : hi - j * season] for j in range(1, q + 1)]
        expected[:, lo:hi] = _median_of(lags)
    return expected


def row_median(x: np.ndarray) -> np.ndarray:
    """Median of each row (NaN-aware only when NaNs are present; partition is faster)."""
    if np.isnan(x).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row gives NaN, on purpose
            return np.nanmedian(x, axis=1)
    n = x.shape[1]
    if n == 0:
        return np.full(x.shape[0], np.nan)
    half = n // 2
    if n % 2:
        return np.partition(x, half, axis=1)[:, half]
    part = np.partition(x, [half - 1, half], axis=1)
    return (part[:, half - 1] + part[:, half]) / 2


def robust_scale(values: np.ndarray, expected: np.ndarray, floor_rel: float, floor_abs: float) -> np.ndarray:
    """σ estimate per series: max(1.4826 × MAD(residuals), floor_rel × median|value|, floor_abs)."""
    residuals = values - expected
    center = row_median(residuals)
    mad = row_median(np.abs(residuals - center[:, None]))
    level = row_median(np.abs(values))
    scale = np.fmax(MAD_TO_SIGMA * np.nan_to_num(mad, nan=0.0), floor_rel * np.nan_to_num(level, nan=0.0))
    return np.fmax(scale, floor_abs)
