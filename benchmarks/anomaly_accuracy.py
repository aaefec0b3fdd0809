"""Accuracy on the sample data: anomaly precision/recall on two samples, the forecast backtest.

    python benchmarks/anomaly_accuracy.py [--data DIR] [--statsmodels] [--json]

Generates the sample data set (``evals.sampledata.generate_sample``; or reuses ``--data DIR``
holding ``warehouse.duckdb`` + ``anomalies_truth.json``) and the second sample (another seed,
end, length and shape, ``evals.sampledata.shapes.ALT_SAMPLE``, which the detector was not tuned
on), ingests them, then:
  * runs ``costpilot anomalies --by team,service`` and ``--by team,env`` over the whole history
    with the default rule and scores them against ``anomalies_truth.json`` (a detection counts
    when it overlaps an injected anomaly of the same series, ±1 day; the truth is projected to
    the asked dimensions); tag-loss days are scored against the tag-hygiene findings;
  * runs ``anomalies --series`` on the hourly export (``series/``, local time with a repeated
    daylight-saving hour) against ``series_truth.json``;
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
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.period import Period  # noqa: E402
from evals.sampledata.shapes import ALT_SAMPLE  # noqa: E402
from tools.anomalies import find_anomalies, find_series_anomalies  # noqa: E402
from tools.anomalies.accuracy import HYGIENE_KINDS, load_truth, score, truth_mask  # noqa: E402
from tools.anomalies.service import pivot_daily  # noqa: E402
from tools.forecast import backtest  # noqa: E402
from warehouse.query import daily_costs, open_backend  # noqa: E402

BY = ["team", "service"]
LEVELS = (BY, ["team", "env"])


def prepare(folder: Path, **sample: object) -> tuple[Path, Path, Path, Path]:
    from evals.sampledata.generate import generate_sample
    from warehouse.config import WarehouseConfig
    from warehouse.ingest_focus import ingest_focus_files
    from warehouse.ingest_llm import ingest_llm_files

    manifest = generate_sample(folder / "data", **sample)  # type: ignore[arg-type]
    warehouse = folder / "warehouse.duckdb"
    ingest_focus_files(warehouse, manifest.focus_files, WarehouseConfig(), folder / "rejected")
    ingest_llm_files(warehouse, manifest.llm_files, WarehouseConfig(), folder / "rejected")
    assert manifest.series_truth_file is not None
    return warehouse, manifest.truth_file, manifest.series_files[0], manifest.series_truth_file


def score_sample(warehouse: Path, truth_file: Path) -> tuple[Period, dict[str, dict]]:
    truth = load_truth(truth_file)
    backend = open_backend(warehouse)
    span = daily_costs(backend, Period(start=min(t.start for t in truth) - timedelta(days=400),
                                       end=max(t.end for t in truth)), [])  # fmt: skip
    period = Period(start=min(span["day"]), end=max(span["day"]))
    out = {}
    for by in LEVELS:
        start = time.perf_counter()
        report = find_anomalies(backend, period, by)
        took = time.perf_counter() - start
        accuracy = score(report.anomalies, truth, by)
        hygiene = score(report.tag_hygiene, truth, by, kinds=HYGIENE_KINDS)
        out[",".join(by)] = {
            **accuracy.model_dump(mode="json"), "seconds": round(took, 2),
            "hygiene_recall": hygiene.recall, "hygiene_findings": len(report.tag_hygiene),
            "tag_loss_days": hygiene.truth, "drilled_down": sum(a.found_in is not None for a in report.anomalies),
        }  # fmt: skip
    backend.disconnect()
    return period, out


def score_series(path: Path, truth_file: Path) -> dict:
    truth = json.loads(truth_file.read_text())
    report = find_series_anomalies(path, timezone=truth[0]["timezone"])
    windows = [(datetime.fromisoformat(t["start"]), datetime.fromisoformat(t["end"])) for t in truth]
    found = [w for w in windows if any(a.start <= w[1] and w[0] <= a.end for a in report.anomalies)]
    right = [a for a in report.anomalies if any(a.start <= w[1] and w[0] <= a.end for w in windows)]
    return {
        "recall": len(found) / len(windows), "precision": len(right) / max(1, len(report.anomalies)),
        "detected": len(report.anomalies), "truth": len(windows), "notes": report.notes,
    }  # fmt: skip


def backtests(warehouse: Path, truth_file: Path, period: Period, statsmodels: bool) -> dict[str, dict]:
    truth = load_truth(truth_file)
    backend = open_backend(warehouse)
    frame = daily_costs(backend, period, BY)
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    keys, matrix = pivot_daily(frame, BY, days)
    skip = truth_mask(keys, BY, days, truth)
    _, total = pivot_daily(daily_costs(backend, period, []), [], days)
    backend.disconnect()
    engines = ["ets", "seasonal-naive"] + (["statsmodels-ets"] if statsmodels else [])
    # Three views: team × service with the injected spike days not scored (masked), the
    # same with every day scored (unmasked), and the TOTAL series over 8 weekly origins.
    views = {
        "team×service masked, 4 origins": (matrix, 4, skip),
        "team×service unmasked, 4 origins": (matrix, 4, None),
        "TOTAL unmasked, 8 origins": (total, 8, None),
    }
    out: dict[str, dict] = {}
    for view, (series, origins, mask) in views.items():
        for engine in engines:
            t0 = time.perf_counter()
            result = backtest(series, horizon=7, origins=origins, engine=engine, skip=mask)
            out.setdefault(view, {})[engine] = {
                **result.model_dump(),
                "seconds": round(time.perf_counter() - t0, 2),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, help="folder with warehouse.duckdb and anomalies_truth.json")
    parser.add_argument("--statsmodels", action="store_true", help="also backtest the plain statsmodels path")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    samples: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in (("default", {}), ("alt", ALT_SAMPLE)):
            folder = Path(tmp) / name
            if args.data and name == "default":
                warehouse, truth_file = args.data / "warehouse.duckdb", args.data / "anomalies_truth.json"
                series = None
            else:
                warehouse, truth_file, series_file, series_truth = prepare(folder, **options)
                series = score_series(series_file, series_truth)
            period, levels = score_sample(warehouse, truth_file)
            samples[name] = {"period": period.label(), "levels": levels, "series": series}
            if name == "default":
                forecast = backtests(warehouse, truth_file, period, args.statsmodels)
    doc = {"samples": samples, "backtest": forecast}
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
        return
    print(
        "| sample | --by | truth | detected | recall | precision | drilled down | tag-loss days found | hygiene findings | seconds |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, sample in samples.items():
        for by, r in sample["levels"].items():
            print(f"| {name} {sample['period']} | {by} | {r['truth']} | {r['detected']} | **{r['recall']:.3f}** | "
                  f"**{r['precision']:.3f}** | {r['drilled_down']} | {r['hygiene_recall'] * r['tag_loss_days']:.0f}"
                  f"/{r['tag_loss_days']} | {r['hygiene_findings']} | {r['seconds']:.1f} |")  # fmt: skip
    for name, sample in samples.items():
        for by, r in sample["levels"].items():
            for miss in r["missed"]:
                print(f"  {name} {by} missed: {miss['series']} {miss['start']}..{miss['end']} {miss['kind']}")
            for alarm in r["false_alarms"]:
                print(f"  {name} {by} false alarm: {alarm}")
        if sample["series"]:
            s = sample["series"]
            print(f"{name} hourly export: recall {s['recall']:.2f}, precision {s['precision']:.2f} "
                  f"({s['detected']} detections, {s['truth']} injected); reader notes: {'; '.join(s['notes'])}")  # fmt: skip
    print("forecast backtests on the default sample (7-day horizon, weekly origins). MASE: scale = in-sample")
    print("seasonal-naive(7) MAE of each training window; relMAE = MAE(engine) / MAE(seasonal naive 7).")
    for view, results in forecast.items():
        print(f"  {view}:")
        print("    engine            MASE   naive  relMAE cov80  cov95  time")
        for engine, r in results.items():
            print(f"    {engine:<16} {r['mase']:6.3f} {r['mase_seasonal_naive']:6.3f} {r['relative_mae']:6.3f} "
                  f"{r['coverage80']:6.3f} {r['coverage95']:6.3f} {r['seconds']:6.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
