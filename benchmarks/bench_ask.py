"""Benchmark: `ask` with the offline planner on the 5,000,000-row benchmark warehouse.

Prints, measured in the same run:
- in-process, warm (one long-lived ``Deps``, as the Slack app holds it): p50/p95 of ``agent.ask.ask``
  over every question × rounds (target p95 ≤ 200 ms), plus the cold first question, and apart the
  "why did X go up" questions (movers + anomaly root causes, the Slack answer that took ~6 s);
- whole process: ``costpilot ask "Q" --json`` p50/p95 (target ≤ 1.0 s), wall and CPU (user + sys:
  on a loaded machine the CPU time is what a quiet machine's wall time would be, within DuckDB's
  parallel scan), beside ``python -c pass`` and ``costpilot --help``;
- the vocabulary the planner matches against (``services.catalog``): the one grouped query on a
  fresh ``Deps`` (what the first question after an ingest pays), the old one-query-per-dimension
  way for comparison, and the workspace cache that every later process reads instead.

    .venv/bin/python benchmarks/bench_ask.py [--rows 5000000] [--rounds 5] [--process-runs 2]

The warehouse is generated (``evals.sampledata.focus_bulk``, seed 11, as bench_ingest.py) and
ingested once, then cached under ``benchmarks/_data/ask-<rows>/`` (about 1.5 GB for 5M rows; the
5 GB CSV twin of the Parquet file is deleted right after generation).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "_data"
COSTPILOT = [sys.executable, "-m", "app.cli"]
QUESTIONS = [
    "what did we spend last week",
    "spend by team last week",
    "what did payments spend last month?",
    "top 5 services yesterday",
    "ec2 costs last week by team",
    "compare october to september",
    "how much did the search team spend in october",
    "staging spend this month by service",
]
WHY_QUESTIONS = ["why did prod go up last week?", "why did the search team's spend go up last week?"]

BUILD_CHILD = """
import json, sys, time
from pathlib import Path
from services.deps import build_deps
from services.registry import call_tool
from services.settings import load_settings
t0 = time.perf_counter()
deps = build_deps(load_settings(Path(sys.argv[1])))
report = call_tool("ingest_focus", {"paths": [sys.argv[2]]}, deps)
deps.close()
f = report.files[0]
print(json.dumps({"seconds": time.perf_counter() - t0, "loaded": f.rows_loaded, "rejected": f.rows_rejected}))
"""

ASK_CHILD = """
import json, shutil, sys, time
from pathlib import Path
t0 = time.perf_counter()
from agent.ask import ask
from services.catalog import CACHE_FILE, COST_DIMENSIONS, catalog, compute_catalog
from services.deps import build_deps
from services.settings import load_settings
from warehouse.query import distinct_values
home, rounds = Path(sys.argv[1]), int(sys.argv[2])
questions, why = json.loads(sys.argv[3]), json.loads(sys.argv[4])
imports = time.perf_counter() - t0
settings = load_settings(home)
# The vocabulary on a fresh Deps: one grouped query (the first question after an ingest pays it),
# the old way (one query per dimension) for comparison, then the workspace cache a new process reads.
# Each way timed 3 times, alternating, after a warm-up query (the table's schema, the columns'
# pages): the best of each.
(home / CACHE_FILE).unlink(missing_ok=True)
fresh = build_deps(settings)
distinct_values(fresh.backend, "team", limit=500)
grouped, separate = [], []
for _ in range(3):
    t = time.perf_counter(); compute_catalog(fresh); grouped.append(time.perf_counter() - t)
    t = time.perf_counter()
    for name, dim in COST_DIMENSIONS.items():
        distinct_values(fresh.backend, dim, limit=500)
    separate.append(time.perf_counter() - t)
vocabulary, per_dimension = min(grouped), min(separate)
fresh.close()
fresh = build_deps(settings)
catalog(fresh)  # writes the workspace cache
fresh.close()
cached_deps = build_deps(settings)
t = time.perf_counter(); catalog(cached_deps); cached = time.perf_counter() - t
cached_deps.close()
deps = build_deps(settings)
t = time.perf_counter(); first = ask(questions[0], deps); cold = time.perf_counter() - t
for q in questions + why:  # warm-up: each question's code path once
    ask(q, deps)
samples = {q: [] for q in questions + why}
calls = {}
for _ in range(rounds):
    for q in questions + why:
        t = time.perf_counter(); r = ask(q, deps); samples[q].append(time.perf_counter() - t)
        calls[q] = [c.tool for c in r.tool_calls] + ([] if r.grounded else ["(reply not grounded)"])
        assert r.understood and r.tool_calls, (q, r.answer)
deps.close()
print(json.dumps({"imports": imports, "vocabulary": vocabulary, "per_dimension": per_dimension,
                  "vocabulary_cached": cached, "cold": cold, "samples": samples, "calls": calls,
                  "first_answer": first.answer.splitlines()[0]}))
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def child(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(rows: int) -> Path:
    """The cached workspace with the bulk warehouse (built when missing)."""
    sys.path.insert(0, str(ROOT))
    from evals.sampledata.focus_bulk import generate_focus_bulk

    home = DATA / f"ask-{rows}"
    marker = home / "built.json"
    if marker.exists():
        print(f"reusing {home} ({json.loads(marker.read_text())})")
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    t0 = time.perf_counter()
    files = generate_focus_bulk(rows, home / "raw", seed=11)
    parquet, csv = files.paths
    csv.unlink()  # the 5 GB CSV twin is not needed here
    print(
        f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s ({parquet.stat().st_size / 1e6:.0f} MB)"
    )
    (home / "costpilot.toml").write_text(f"as_of = {(files.end + timedelta(days=1)).isoformat()}\n")
    ingest = child(BUILD_CHILD, str(home), str(parquet))
    print(
        f"ingested in {ingest['seconds']:.1f} s: loaded {ingest['loaded']:,}, rejected {ingest['rejected']:,}"
    )
    marker.write_text(
        json.dumps({"rows": rows, "as_of": (files.end + timedelta(days=1)).isoformat(), **ingest})
    )
    return home


def process_times(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds user + sys) of each run of ``cmd`` as a whole process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="in-process rounds over every question")
    parser.add_argument("--process-runs", type=int, default=2, help="`costpilot ask` processes per question")
    args = parser.parse_args()
    home = build(args.rows)
    load = os.getloadavg()[0]

    inproc = child(ASK_CHILD, str(home), str(args.rounds), json.dumps(QUESTIONS), json.dumps(WHY_QUESTIONS))
    warm = [s for q in QUESTIONS for s in inproc["samples"][q]]
    why = [s for q in WHY_QUESTIONS for s in inproc["samples"][q]]
    print(f"\nin-process, warm ({len(warm)} asks over {len(QUESTIONS)} questions; load {load:.1f}):")
    print(
        f"  p50 {ms(statistics.median(warm))}, p95 {ms(percentile(warm, 0.95))} (target ≤ 200 ms), max {ms(max(warm))}"
    )
    for q, values in inproc["samples"].items():
        print(f"  {statistics.median(values) * 1000:6.0f} ms  {q}  → {', '.join(inproc['calls'][q])}")
    print(
        f"  'why' questions (movers + anomalies + root causes): p50 {ms(statistics.median(why))}, p95 {ms(percentile(why, 0.95))}"
    )
    print(f"  cold first question (first queries): {ms(inproc['cold'])}; imports {ms(inproc['imports'])}")
    print(
        f"  vocabulary (services.catalog), best of 3: one grouped query {ms(inproc['vocabulary'])} "
        f"(one query per dimension, the old way: {ms(inproc['per_dimension'])}); "
        f"from the workspace cache {inproc['vocabulary_cached'] * 1000:.1f} ms"
    )

    bare, bare_cpu = process_times([sys.executable, "-c", "pass"], max(3, args.process_runs * 2))
    help_, help_cpu = process_times([*COSTPILOT, "--help"], max(3, args.process_runs * 2))
    whole, whole_cpu = [], []
    for q in QUESTIONS:
        wall, cpu = process_times(
            [*COSTPILOT, "--workspace", str(home), "ask", q, "--json"], args.process_runs
        )
        whole += wall
        whole_cpu += cpu
    print(f"\nwhole process ({len(whole)} runs of `costpilot ask … --json`; load {os.getloadavg()[0]:.1f}):")
    print(
        f"  costpilot ask: wall p50 {ms(statistics.median(whole))}, p95 {ms(percentile(whole, 0.95))} (target ≤ 1.0 s); "
        f"CPU p50 {ms(statistics.median(whole_cpu))}, p95 {ms(percentile(whole_cpu, 0.95))}"
    )
    print(
        f"  python -c pass: p50 {ms(statistics.median(bare))} (CPU {ms(statistics.median(bare_cpu))}); "
        f"costpilot --help: p50 {ms(statistics.median(help_))} (CPU {ms(statistics.median(help_cpu))})"
    )
    print(
        json.dumps(
            {
                "rows": args.rows,
                "load": load,
                "in_process": {
                    "p50_ms": statistics.median(warm) * 1000,
                    "p95_ms": percentile(warm, 0.95) * 1000,
                    "why_p50_ms": statistics.median(why) * 1000,
                    "why_p95_ms": percentile(why, 0.95) * 1000,
                    "cold_ms": inproc["cold"] * 1000,
                    "vocabulary_ms": inproc["vocabulary"] * 1000,
                    "vocabulary_per_dimension_ms": inproc["per_dimension"] * 1000,
                    "vocabulary_cached_ms": inproc["vocabulary_cached"] * 1000,
                },
                "process": {
                    "p50_ms": statistics.median(whole) * 1000,
                    "p95_ms": percentile(whole, 0.95) * 1000,
                    "cpu_p50_ms": statistics.median(whole_cpu) * 1000,
                    "cpu_p95_ms": percentile(whole_cpu, 0.95) * 1000,
                    "python_pass_ms": statistics.median(bare) * 1000,
                    "help_ms": statistics.median(help_) * 1000,
                    "help_cpu_ms": statistics.median(help_cpu) * 1000,
                },
            }  # fmt: skip
        )
    )


if __name__ == "__main__":
    main()
