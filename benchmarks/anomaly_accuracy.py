"""Accuracy on the bundled sample data: anomaly precision/recall and the forecast backtest.

    python benchmarks/anomaly_accuracy.py [--data DIR] [--statsmodels] [--json]

Generates the sample data set (``evals.sampledata.generate_sample``; or reuses ``--data DIR``
holding ``warehouse.duckdb`` + ``anomalies_truth.json``), ingests it, then:
  * runs ``costpilot anomalies --by team,service`` over the whole history with the default
    rule and scores it against ``anomalies_truth.json`` (a detection counts when it overlaps an
    injected anomaly of the same series, ±1 day);
  * backtests the forecast (4 weekly origins, 7-day horizon) on every team × service series,
    skipping the injected spike days when scoring, with numpy ETS, seasonal naive and
    (``--statsmodels``) the plain statsmodels ETSModel path.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.period import Period  # noqa: E402
from tools.anomalies import find_anomalies  # noqa: E402
from tools.anomalies.accuracy import load_truth, score, truth_mask  # noqa: E402
from tools.anomalies.service import pivot_daily  # noqa: E402
from tools.forecast import backtest  # noqa: E402
from warehouse.query import daily_costs, open_backend  # noqa: E402

BY = ["team", "service"]


def prepare(folder: Path) -> tuple[Path, Path]:
    from evals.sampledata.generate import generate_sample
    from warehouse.config import WarehouseConfig
    from warehouse.ingest_focus import ingest_focus_files
    from warehouse.ingest_llm import ingest_llm_files

    manifest = generate_sample(folder / "data")
    warehouse = folder / "warehouse.duckdb"
    ingest_focus_files(warehouse, manifest.focus_files, WarehouseConfig(), folder / "rejected")
    ingest_llm_files(warehouse, manifest.llm_files, WarehouseConfig(), folder / "rejected")
    return warehouse, manifest.truth_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, help="folder with warehouse.duckdb and anomalies_truth.json")
    parser.add_argument("--statsmodels", action="store_true", help="also backtest the plain statsmodels path")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.data:
            warehouse, truth_file = args.data / "warehouse.duckdb", args.data / "anomalies_truth.json"
        else:
            warehouse, truth_file = prepare(Path(tmp))
        truth = load_truth(truth_file)
        backend = open_backend(warehouse)
        span = daily_costs(backend, Period(start=min(t.start for t in truth) - timedelta(days=400),
                                           end=max(t.end for t in truth)), [])  # fmt: skip
        period = Period(start=min(span["day"]), end=max(span["day"]))
        start = time.perf_counter()
        report = find_anomalies(backend, period, BY)
        took = time.perf_counter() - start
        accuracy = score(report.anomalies, truth)
        frame = daily_costs(backend, period, BY)
        days = [period.start + timedelta(days=i) for i in range(period.days)]
        keys, matrix = pivot_daily(frame, BY, days)
        skip = truth_mask(keys, BY, days, truth)
        _, total = pivot_daily(daily_costs(backend, period, []), [], days)
        engines = ["ets", "seasonal-naive"] + (["statsmodels-ets"] if args.statsmodels else [])
        # Three views: team × service with the injected anomaly days not scored (masked), the
        # same with every day scored (unmasked), and the TOTAL series over 8 weekly origins.
        views = {
            "team×service masked, 4 origins": (matrix, 4, skip),
            "team×service unmasked, 4 origins": (matrix, 4, None),
            "TOTAL unmasked, 8 origins": (total, 8, None),
        }
        backtests: dict[str, dict[str, dict]] = {}
        for view, (series, origins, mask) in views.items():
            for engine in engines:
                t0 = time.perf_counter()
                result = backtest(series, horizon=7, origins=origins, engine=engine, skip=mask)
                took_bt = round(time.perf_counter() - t0, 2)
                backtests.setdefault(view, {})[engine] = {**result.model_dump(), "seconds": took_bt}
        backend.disconnect()
    doc = {
        "period": period.label(),
        "series": len(keys),
        "anomalies": {**accuracy.model_dump(mode="json"), "seconds": round(took, 2)},
        "backtest": backtests,
    }
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
        return
    print(f"sample data {period.label()}: {len(keys)} team × service series, {len(truth)} injected anomalies")
    print(f"anomalies: precision {accuracy.precision:.3f}, recall {accuracy.recall:.3f} "
          f"({accuracy.true_positives}/{accuracy.detected} detections right, {took:.2f} s with root causes)")  # fmt: skip
    for miss in accuracy.missed:
        print(f"  missed: {miss.series} {miss.start}..{miss.end} {miss.kind}")
    for alarm in accuracy.false_alarms:
        print(f"  false alarm: {alarm}")
    print("forecast backtests (7-day horizon, weekly origins). MASE: scale = in-sample seasonal-naive(7)")
    print("MAE of each training window; relMAE = MAE(engine) / MAE(seasonal naive 7) on the same points.")
    for view, results in backtests.items():
        print(f"  {view}:")
        print("    engine            MASE   naive  relMAE cov80  cov95  time")
        for engine, r in results.items():
            print(f"    {engine:<16} {r['mase']:6.3f} {r['mase_seasonal_naive']:6.3f} {r['relative_mae']:6.3f} "
                  f"{r['coverage80']:6.3f} {r['coverage95']:6.3f} {r['seconds']:6.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
