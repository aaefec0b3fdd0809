"""Forecasts at scale: 1,000 daily series × 365 days with 80/95% intervals, vs plain statsmodels.

    python benchmarks/bench_forecast.py [--series 1000] [--days 365] [--horizon 30]
                                        [--sm-series 20] [--accuracy-series 40]

* costpilot: ``forecast_arrays`` — numpy ETS(A,Ad,A) fitted for all series at once (grid +
  pattern search on the parameters, least-squares start states), analytic 80/95% intervals.
* baseline: the plain path — one ``statsmodels`` ``ETSModel(...).fit()`` + ``get_prediction``
  (80% and 95% ``summary_frame``) per series; timed on ``--sm-series`` series and scaled to the
  full count on 2 cores (perfect parallel speed-up assumed, in the baseline's favour).
* accuracy: a rolling-origin backtest (4 origins, 7-day horizon) on ``--accuracy-series`` of
  the same series with both engines and seasonal naive: MASE (scale = in-sample seasonal-naive
  MAE), relMAE (MAE of the engine / MAE of seasonal naive(7) on the same points) and interval
  coverage.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.forecast import backtest, forecast_arrays  # noqa: E402
from tools.forecast.backtest import interval  # noqa: E402

WEEK = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.55])


def make_series(n: int, days: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = rng.lognormal(5, 1, (n, 1))
    growth = rng.normal(0.0005, 0.001, (n, 1))
    t = np.arange(days)
    noise = rng.uniform(0.02, 0.10, (n, 1))
    y = (
        level
        * (1 + growth * t)
        * np.tile(WEEK, days // 7 + 1)[:days]
        * (1 + noise * rng.standard_normal((n, days)))
    )
    # A random walk in the level (real bills drift), and the odd spike.
    y *= np.exp(np.cumsum(rng.normal(0, 0.004, (n, days)), axis=1))
    spikes = rng.random((n, days)) < 0.004
    y[spikes] *= 2.5
    return y


def statsmodels_plain(y: np.ndarray, horizon: int) -> float:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    index = pd.date_range("2025-01-01", periods=y.shape[1], freq="D")
    start = time.perf_counter()
    for row in y:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = ETSModel(pd.Series(row, index=index), error="add", trend="add", damped_trend=True,
                           seasonal="add", seasonal_periods=7).fit(disp=False)  # fmt: skip
            pred = fit.get_prediction(start=y.shape[1], end=y.shape[1] + horizon - 1)
            pred.summary_frame(alpha=0.2)
            pred.summary_frame(alpha=0.05)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--sm-series", type=int, default=20)
    parser.add_argument("--accuracy-series", type=int, default=40)
    args = parser.parse_args()
    y = make_series(args.series, args.days)

    start = time.perf_counter()
    arrays = forecast_arrays(y, args.horizon)
    var = arrays.variance()
    bands = [interval(arrays.mean, var, level, arrays.nonnegative) for level in (0.80, 0.95)]
    ours = time.perf_counter() - start
    assert all(np.isfinite(b).all() for band in bands for b in band)

    sm = statsmodels_plain(y[: args.sm_series], args.horizon)
    per_series = sm / args.sm_series
    sm_full_2cores = per_series * args.series / 2

    subset = y[: args.accuracy_series]
    results = {}
    for engine in ("ets", "statsmodels-ets", "seasonal-naive"):
        t0 = time.perf_counter()
        results[engine] = (backtest(subset, horizon=7, origins=4, engine=engine), time.perf_counter() - t0)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}, python {platform.python_version()}")  # fmt: skip
    print(f"series × days: {args.series:,} × {args.days}, horizon {args.horizon} days, 80% and 95% intervals")
    print(f"costpilot numpy ETS, one process: {ours:.2f} s ({ours / args.series * 1000:.1f} ms a series)")
    print(f"plain statsmodels ETSModel fit + get_prediction: {per_series * 1000:.0f} ms a series "
          f"({args.sm_series} timed) → {sm_full_2cores:.0f} s for {args.series:,} on 2 cores")  # fmt: skip
    print(f"speed-up vs statsmodels on 2 cores: ×{sm_full_2cores / ours:.0f}")
    print(f"backtest on {args.accuracy_series} series (4 origins × 7 days):")
    print("  engine            MASE  relMAE  cov80  cov95  time")
    for engine, (r, took) in results.items():
        print(
            f"  {engine:<16} {r.mase:6.3f} {r.relative_mae:6.3f} {r.coverage80:6.3f} {r.coverage95:6.3f} {took:6.1f} s"
        )


if __name__ == "__main__":
    main()
