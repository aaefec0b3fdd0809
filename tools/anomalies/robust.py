"""Robust statistics over many series at once (rows = series, columns = time).

expected[t] = median of the values at the same seasonal position in the previous k seasons
(t - m, t - 2m, …, t - km); score = residual / (1.4826 × MAD of the residuals), with a floor on
the scale so a flat series does not turn a cent of noise into an infinite score.

``clean_expected`` is the detector's expectation: the same median, but over a cleaned copy of
the history in which points already flagged (up or down) are replaced by their own expectation,
so a credit day, a tag-loss dip or last month's spike does not drag later weeks. A run that
outlasts ``adapt_after`` points is a real shift, not an outlier: its points are restored and the
expectation follows the new level from then on.
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
    # One kth is ~3× faster than two; the lower middle is then the largest of the left part.
    part = np.partition(x, half, axis=1)
    return (part[:, :half].max(axis=1) + part[:, half]) / 2


def robust_scale(values: np.ndarray, expected: np.ndarray, floor_rel: float, floor_abs: float) -> np.ndarray:
    """σ estimate per series: max(1.4826 × MAD(residuals), floor_rel × median|value|, floor_abs)."""
    residuals = values - expected
    center = row_median(residuals)
    mad = row_median(np.abs(residuals - center[:, None]))
    level = row_median(np.abs(values))
    scale = np.fmax(MAD_TO_SIGMA * np.nan_to_num(mad, nan=0.0), floor_rel * np.nan_to_num(level, nan=0.0))
    return np.fmax(scale, floor_abs)


def _sorted_median(items: list[np.ndarray]) -> np.ndarray:
    """Element-wise median of a few equal-shape arrays without NaN (sort network, as above)."""
    items = list(items)
    k = len(items)
    for pass_no in range(k):
        for i in range(pass_no % 2, k - 1, 2):
            lo = np.minimum(items[i], items[i + 1])
            items[i + 1] = np.maximum(items[i], items[i + 1])
            items[i] = lo
    if k % 2:
        return items[k // 2]
    return (items[k // 2 - 1] + items[k // 2]) / 2


def _runs_in_block(
    sign: np.ndarray, carry_sign: np.ndarray, carry_len: np.ndarray, carry_start: np.ndarray, lo: int
) -> tuple[np.ndarray, np.ndarray]:
    """(run length, absolute first time index) at every point of a (time, series) block of signs.

    A run is consecutive points flagged in the same direction (-1 or +1); it may have begun in an
    earlier block (the carry). One ``maximum.accumulate`` down the time axis finds each run's start.
    """
    ext = np.concatenate([carry_sign[None, :], sign], axis=0)
    idx = np.arange(ext.shape[0])[:, None]
    new_run = np.zeros(ext.shape, dtype=bool)
    new_run[1:] = ext[1:] != ext[:-1]
    begin = np.maximum.accumulate(np.where(new_run, idx, 0), axis=0)
    carried = begin == 0
    length = np.where(ext == 0, 0, np.where(carried, carry_len[None, :] + idx, idx - begin + 1))
    start = np.where(carried, carry_start[None, :], lo + begin - 1)
    return length[1:], start[1:]


def clean_expected(
    values: np.ndarray,
    season: int,
    seasons: int,
    min_seasons: int,
    scale: np.ndarray,
    mask_z: float,
    adapt_after: int,
) -> np.ndarray:
    """Same-position median over previous seasons of a history cleaned of flagged points.

    Processed one season of points at a time (every lag of a block lies in earlier blocks), so
    the loop runs T / season times, each step vectorised over all series; the cleaned history is
    a time-major copy so that a block's lags are contiguous memory. ``scale`` (per series)
    turns residuals into scores; ``|score| ≥ mask_z`` marks a point as an outlier for later
    expectations while its run is at most ``adapt_after`` points long.
    """
    n_series, n_time = values.shape
    clean = np.array(values.T, order="C")  # a time-major copy: a block and its lags are contiguous
    expected = np.full(values.shape, np.nan)
    has_nan = bool(np.isnan(values).any())
    carry_sign = np.zeros(n_series, dtype=np.int8)
    carry_len = np.zeros(n_series, dtype=np.int64)
    carry_start = np.zeros(n_series, dtype=np.int64)
    inverse = 1.0 / scale
    for lo in range(min_seasons * season, n_time, season):
        hi = min(lo + season, n_time)
        lags = [clean[lo - j * season : hi - j * season] for j in range(1, min(lo // season, seasons) + 1)]
        if has_nan:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all lags missing → NaN, on purpose
                block_expected = np.nanmedian(np.stack(lags), axis=0)
        else:
            block_expected = _sorted_median(lags)
        expected[:, lo:hi] = block_expected.T
        block = values[:, lo:hi].T
        with np.errstate(invalid="ignore"):
            z = (block - block_expected) * inverse
            sign = (z >= mask_z).view(np.int8) - (z <= -mask_z).view(np.int8)
        # Run bookkeeping only for the series with a flag in this block or a run going on.
        active = np.flatnonzero(sign.any(axis=0) | (carry_sign != 0))
        sign_a = sign[:, active]
        length, start = _runs_in_block(sign_a, carry_sign[active], carry_len[active], carry_start[active], lo)
        masked = (sign_a != 0) & (length <= adapt_after)
        times, cols = np.nonzero(masked)
        clean[lo + times, active[cols]] = block_expected[times, active[cols]]
        # Runs that just outgrew the outlier length: a new level. Restore their earlier points.
        times, cols = np.nonzero(length == adapt_after + 1)
        for t, col in zip(times.tolist(), cols.tolist(), strict=True):
            row, first = int(active[col]), int(start[t, col])
            clean[first : lo + t, row] = values[row, first : lo + t]
        carry_sign[:] = 0
        carry_len[:] = 0
        carry_sign[active], carry_len[active], carry_start[active] = sign_a[-1], length[-1], start[-1]
    return expected
