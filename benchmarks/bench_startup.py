"""CLI start-up as whole processes: `costpilot --help` (target ≤ 0.3 s) and
`costpilot spend --period last-week --by team --json` on the demo workspace (target ≤ 1.0 s),
each the median of 5 runs beside bare `python -c pass` in the same run, wall and CPU (user + sys:
on a loaded machine the CPU time is close to what a quiet machine's wall time would be), plus the
top `-X importtime` offenders of the spend command.

    .venv/bin/python benchmarks/bench_startup.py [--workspace demo-workspace]

The demo workspace is built with `costpilot demo` when missing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COSTPILOT = [sys.executable, "-m", "app.cli"]
RUNS = 5


def timed(cmd: list[str], runs: int = RUNS) -> tuple[float, float]:
    """Median (wall seconds, CPU seconds user + sys) of ``runs`` whole-process runs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def importtime_top(cmd: list[str], n: int = 8) -> list[tuple[float, str]]:
    """The modules imported directly by the program (not nested) with the largest cumulative time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], cwd=ROOT, env=env, capture_output=True, text=True
    )
    rows = []
    for line in res.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        if name.startswith(" ") and not name.startswith("  "):  # depth 0: one leading space
            rows.append((int(parts[1]) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, default=ROOT / "demo-workspace")
    args = parser.parse_args()
    ws = args.workspace.resolve()
    if not (ws / "warehouse.duckdb").exists():
        print(f"building the demo workspace in {ws} …", file=sys.stderr)
        subprocess.run(
            [*COSTPILOT, "--workspace", str(ws), "demo"], cwd=ROOT, check=True, capture_output=True
        )
    as_of = "2026-11-23"
    for line in (ws / "costpilot.toml").read_text().splitlines():
        if line.startswith("as_of"):
            as_of = line.split("=", 1)[1].strip().strip('"')
    spend = [
        *COSTPILOT,
        "--workspace",
        str(ws),
        "--as-of",
        as_of,
        "spend",
        "--period",
        "last-week",
        "--by",
        "team",
        "--json",
    ]
    baseline, baseline_cpu = timed([sys.executable, "-c", "pass"])
    help_s, help_cpu = timed([*COSTPILOT, "--help"])
    spend_s, spend_cpu = timed(spend)
    print("                                       wall       CPU")
    print(
        f"python -c pass                      {baseline * 1000:7.0f} ms {baseline_cpu * 1000:6.0f} ms   (baseline, same run)"
    )
    print(
        f"costpilot --help                    {help_s * 1000:7.0f} ms {help_cpu * 1000:6.0f} ms   target ≤ 300 ms"
    )
    print(
        f"costpilot spend --period last-week  {spend_s * 1000:7.0f} ms {spend_cpu * 1000:6.0f} ms   target ≤ 1000 ms"
    )
    print(f"load average                        {os.getloadavg()[0]:.2f}")
    print("top imports of the spend command (cumulative):")
    for seconds, name in importtime_top(spend):
        print(f"  {seconds * 1000:6.0f} ms  {name}")


if __name__ == "__main__":
    main()
