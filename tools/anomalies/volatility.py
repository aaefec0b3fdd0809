"""How much a series usually moves: the scale that turns residuals into scores.

A MAD alone assumes normal noise. Real series are often heavy-tailed (request counts burst,
untagged spend jumps, a load balancer spikes every hour), and a MAD-based score then raises a
stream of "anomalies" that are just the series' usual extremes. The ``tail`` scale also looks at
those extremes: for each season (a week of days, a day of hours) the largest |residual|, and
the median of these maxima over all seasons, divided by what that maximum would be for normal
noise with the same number of points. The median over seasons keeps it robust: anomalies in
fewer than half of the seasons do not raise it. For normal noise both estimates agree.

Sub-daily series are scored on residuals smoothed over about half an hour (``smoothing_points``):
a sustained change stands out, a single noisy point does not.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

from tools.anomalies.robust import MAD_TO_SIGMA, row_median

POINTS_PER_SEASON_PER_SMOOTHING = 48  # a day of points / 48 = half an hour
MIN_TAIL_SEASONS = 3


def smoothing_points(season: int) -> int:
    """Points to average residuals over: about half an hour for a day of points, else 1."""
    return max(1, season // POINTS_PER_SEASON_PER_SMOOTHING)


def centred_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred rolling mean along rows over ``width`` points, NaN-aware (half the window needed)."""
    if width <= 1:
        return values
    n_time = values.shape[1]
    present = ~np.isnan(values)
    sums = np.zeros((values.shape[0], n_time + 1))
    counts = np.zeros((values.shape[0], n_time + 1))
    np.cumsum(np.where(present, values, 0.0), axis=1, out=sums[:, 1:])
    np.cumsum(present, axis=1, out=counts[:, 1:])
    lo = np.clip(np.arange(n_time) - (width - 1) // 2, 0, n_time)
    hi = np.clip(np.arange(n_time) + width // 2 + 1, 0, n_time)
    total, count = sums[:, hi] - sums[:, lo], counts[:, hi] - counts[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= max(1, width // 2), total / count, np.nan)


def _normal_max(points: float) -> float:
    """Roughly the median of max |z| over ``points`` independent normal values."""
    return NormalDist().inv_cdf(1 - 0.5 / max(2.0, points))


def _mad_sigma(residuals: np.ndarray, season: int, smooth: int) -> tuple[np.ndarray, np.ndarray]:
    center = row_median(residuals)
    return MAD_TO_SIGMA * np.nan_to_num(row_median(np.abs(residuals - center[:, None])), nan=0.0), center


def _tail_sigma(residuals: np.ndarray, season: int, smooth: int) -> tuple[np.ndarray, np.ndarray]:
    sigma, center = _mad_sigma(residuals, season, smooth)
    n_seasons = residuals.shape[1] // season
    if n_seasons < MIN_TAIL_SEASONS:  # one anomalous season would be the median itself
        return sigma, center
    blocks = np.abs(residuals[:, : n_seasons * season] - center[:, None]).reshape(-1, n_seasons, season)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a season of gaps only → NaN, on purpose
        maxima = np.nanmax(blocks, axis=2) if np.isnan(blocks).any() else blocks.max(axis=2)
    tail = row_median(maxima) / _normal_max(season / smooth)
    return np.fmax(sigma, np.nan_to_num(tail, nan=0.0)), center


# Registry of scale estimators (DetectorSettings.volatility names one).
SCALES: dict[str, Callable[[np.ndarray, int, int], tuple[np.ndarray, np.ndarray]]] = {
    "mad": _mad_sigma,
    "tail": _tail_sigma,
}


def volatility_scale(
    residuals: np.ndarray,
    level: np.ndarray,
    season: int,
    smooth: int,
    method: str,
    floor_rel: float,
    floor_abs: float,
) -> np.ndarray:
    """σ per series: the ``method`` estimate, floored at ``floor_rel × level`` and ``floor_abs``."""
    sigma, _ = SCALES[method](residuals, season, smooth)
    return np.fmax(np.fmax(sigma, floor_rel * np.nan_to_num(level, nan=0.0)), floor_abs)
