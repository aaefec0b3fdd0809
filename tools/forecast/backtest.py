"""Rolling-origin backtest: MASE against seasonal naive(m) and prediction-interval coverage."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.forecast.engines import forecast_arrays


class BacktestResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    engine: str
    series: int
    origins: int
    horizon: int
    mase: float = Field(description="mean absolute scaled error; scale = in-sample seasonal naive MAE")
    mase_seasonal_naive: float = Field(description="the same score for seasonal naive forecasts")
    relative_mae: float = Field(
        description="MAE of the model / MAE of seasonal naive(m), both over the same scored points"
    )
    coverage80: float = Field(description="share of actuals inside the 80% interval")
    coverage95: float
    points: int


def interval(
    mean: np.ndarray, variance: np.ndarray, level: float, nonnegative: np.ndarray
) -> tuple[np.ndarray, ...]:
    """(lo, hi, mean) of a central ``level`` normal interval; clipped at 0 for cost series."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * np.sqrt(np.maximum(variance, 0.0))
    lo, hi = mean - half, mean + half
    floor = np.where(nonnegative[:, None], 0.0, -np.inf)
    return np.maximum(lo, floor), np.maximum(hi, floor), np.maximum(mean, floor)


def backtest(
    y: np.ndarray,
    horizon: int = 7,
    origins: int = 4,
    step: int = 7,
    m: int = 7,
    engine: str = "ets",
    skip: np.ndarray | None = None,
) -> BacktestResult:
    """Fit at ``origins`` cut-offs (each ``step`` days apart, the last leaving ``horizon`` days)
    and score the next ``horizon`` days of every series (rows of ``y``).

    ``skip`` (same shape as ``y``) marks points not to score — known injected shocks, which no
    forecast can or should predict; they still sit in the training data.
    """
    y = np.asarray(y, dtype=float)
    skip = np.zeros(y.shape, dtype=bool) if skip is None else np.asarray(skip, dtype=bool)
    skipped = []
    errors, naive_errors, inside80, inside95, scales = [], [], [], [], []
    for k in range(origins):
        cut = y.shape[1] - horizon - k * step
        train, test = y[:, :cut], y[:, cut : cut + horizon]
        fc = forecast_arrays(train, horizon, m, engine)
        naive = forecast_arrays(train, horizon, m, "seasonal-naive")
        var = fc.variance()
        lo80, hi80, mean = interval(fc.mean, var, 0.80, fc.nonnegative)
        lo95, hi95, _ = interval(fc.mean, var, 0.95, fc.nonnegative)
        errors.append(np.abs(test - mean))
        naive_errors.append(np.abs(test - naive.mean))
        inside80.append((test >= lo80) & (test <= hi80))
        inside95.append((test >= lo95) & (test <= hi95))
        scales.append(np.abs(train[:, m:] - train[:, :-m]).mean(axis=1))
        skipped.append(skip[:, cut : cut + horizon])
    scale = np.stack(scales)[:, :, None]  # (origins, series, 1)
    err, nerr = np.stack(errors), np.stack(naive_errors)
    usable = (scale > 0) & np.isfinite(err) & np.isfinite(nerr)
    usable = np.broadcast_to(usable, err.shape) & ~np.stack(skipped)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled, nscaled = err / scale, nerr / scale
    return BacktestResult(
        engine=engine, series=y.shape[0], origins=origins, horizon=horizon,
        mase=float(scaled[usable].mean()), mase_seasonal_naive=float(nscaled[usable].mean()),
        relative_mae=float(err[usable].mean() / nerr[usable].mean()) if nerr[usable].any() else float("nan"),
        coverage80=float(np.stack(inside80)[usable].mean()), coverage95=float(np.stack(inside95)[usable].mean()),
        points=int(usable.sum()),
    )  # fmt: skip
