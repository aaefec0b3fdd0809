"""Benchmark: ingest 5,000,000 FOCUS rows (Parquet and CSV) and the warm spend query.

Prints the figures and, measured in the same run, a baseline: a plain pandas script answering
`spend --by team --period last-week` from the same Parquet file.

    python benchmarks/bench_ingest.py [--rows 5000000] [--keep DIR]

Targets (2-core machine): Parquet ingest ≤ 30 s, CSV ≤ 90 s, peak RSS ≤ 3 GB, warm query ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

INGEST_CHILD = """
import json, resource, sys, time
from pathlib import Path
from warehouse.config import WarehouseConfig
from warehouse.ingest_focus import ingest_focus_files
t0 = time.perf_counter()
report = ingest_focus_files(Path(sys.argv[1]), [Path(sys.argv[2])], WarehouseConfig(), Path(sys.argv[3]))
seconds = time.perf_counter() - t0
f = report.files[0]
print(json.dumps({"seconds": seconds, "rows_read": f.rows_read, "rows_loaded": f.rows_loaded,
                  "rows_rejected": f.rows_rejected,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

QUERY_CHILD = """
import json, resource, statistics, sys, time
from datetime import date
from pathlib import Path
from domain.period import parse_period
from tools.spend import spend
from warehouse.query import open_backend
backend = open_backend(Path(sys.argv[1]))
period = parse_period("last-week", date.fromisoformat(sys.argv[2]))
first = time.perf_counter(); result = spend(backend, period, by=["team"]); cold = time.perf_counter() - first
times = []
for _ in range(15):
    t0 = time.perf_counter(); result = spend(backend, period, by=["team"]); times.append(time.perf_counter() - t0)
print(json.dumps({"cold_ms": cold * 1000, "warm_median_ms": statistics.median(times) * 1000,
                  "warm_max_ms": max(times) * 1000, "total": str(result.total),
                  "rows": {r.dims["team"]: str(r.cost) for r in result.rows}}))
"""

PANDAS_BASELINE = """
import json, resource, sys, time
from datetime import date, timedelta
import pandas as pd
t0 = time.perf_counter()
df = pd.read_parquet(sys.argv[1], columns=["ChargePeriodStart", "EffectiveCost", "Tags"])
today = date.fromisoformat(sys.argv[2])
monday = today - timedelta(days=today.weekday())
start, end = pd.Timestamp(monday - timedelta(days=7)), pd.Timestamp(monday)
ts = pd.to_datetime(df["ChargePeriodStart"], utc=True).dt.tz_localize(None)
week = df[(ts >= start) & (ts < end)]
def team(tags):
    if not isinstance(tags, str) or not tags:
        return "(untagged)"
    d = json.loads(tags)
    for key in ("team", "Team", "user:team", "owner_team", "app.kubernetes.io/part-of"):
        if d.get(key):
            return d[key]
    return "(untagged)"
teams = week["Tags"].map(team)
costs = pd.to_numeric(week["EffectiveCost"]).groupby(teams).sum().sort_values(ascending=False)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": {k: round(float(v), 2) for k, v in costs.items()}}))
"""


def child(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep generated files here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from evals.sampledata.focus_bulk import generate_focus_bulk

    work = args.keep or Path(tempfile.mkdtemp(prefix="costpilot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    files = generate_focus_bulk(args.rows, work / "data", seed=11)
    print(
        f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in files.paths)
    )
    as_of = (files.end + timedelta(days=1)).isoformat()
    figures: dict[str, dict] = {}
    parquet, csv = files.paths
    for label, path in (("parquet", parquet), ("csv", csv)):
        db = work / f"{label}.duckdb"
        db.unlink(missing_ok=True)
        figures[label] = child(INGEST_CHILD, str(db), str(path), str(work / "rejected"))
        f = figures[label]
        print(
            f"ingest {label:7s}: {f['seconds']:6.1f} s, peak RSS {f['peak_rss_mb']:,.0f} MB, "
            f"read {f['rows_read']:,}, loaded {f['rows_loaded']:,}, rejected {f['rows_rejected']:,}"
        )
    query = child(QUERY_CHILD, str(work / "parquet.duckdb"), as_of)
    print(
        f"spend --by team --period last-week (as of {as_of}): cold {query['cold_ms']:.0f} ms, "
        f"warm median {query['warm_median_ms']:.0f} ms, warm max {query['warm_max_ms']:.0f} ms"
    )
    base = child(PANDAS_BASELINE, str(parquet), as_of)
    print(
        f"baseline pandas script (read_parquet + JSON tags + groupby): {base['seconds']:.1f} s, "
        f"peak RSS {base['peak_rss_mb']:,.0f} MB"
    )
    ours = {k: round(float(v), 2) for k, v in query["rows"].items()}
    agree = all(abs(ours.get(k, 0) - v) < 0.01 for k, v in base["rows"].items())
    print(f"same answer as the baseline (to the cent): {agree}")
    print(
        json.dumps(
            {
                "rows": args.rows,
                "ingest": figures,
                "query": {k: v for k, v in query.items() if k != "rows"},
                "baseline": {k: v for k, v in base.items() if k != "rows"},
                "agree": agree,
            }
        )
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
