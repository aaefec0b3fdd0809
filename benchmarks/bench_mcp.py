"""Benchmark: p95 of an MCP ``spend`` call over stdio, beside the same query through the CLI.

The official ``mcp`` client starts ``costpilot mcp`` as a subprocess (as Claude Desktop or the MCP
inspector would) and times ``spend --period last-week --by team`` round trips on a warm server.
Measured in the same run: the same query as a whole ``costpilot spend --json`` process, and the
registry call in-process (handles reused, and fresh handles per call), and the server with
``--keep-open 0`` (reopens the warehouse on every call), so the protocol's and the reopening's
share of the time is visible.

    python benchmarks/bench_mcp.py [--rows 5000000] [--workspace DIR] [--calls 60] [--cli-runs 10]

Target (2-core machine): MCP spend call p95 ≤ 250 ms over stdio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ARGS = {"period": "last-week", "by": ["team"]}
CLI_ARGS = ["spend", "--period", "last-week", "--by", "team", "--json"]

IN_PROCESS_CHILD = """
import json, sys, time
from datetime import date
from pathlib import Path
from services.deps import build_deps
from services.registry import TOOLS
from services.settings import load_settings
settings = load_settings(Path(sys.argv[1]), as_of=date.fromisoformat(sys.argv[2]))
spec, args, calls = TOOLS["spend"], json.loads(sys.argv[3]), int(sys.argv[4])
def timed(fresh):
    deps, out = build_deps(settings), []
    spec.json(spec.run(args, deps))  # warm-up: imports and the first query
    for _ in range(calls):
        if fresh:
            deps.close(); deps = build_deps(settings)
        t0 = time.perf_counter(); spec.json(spec.run(args, deps)); out.append((time.perf_counter() - t0) * 1000)
    deps.close()
    return out
print(json.dumps({"reused": timed(False), "fresh": timed(True)}))
"""


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


def summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):6.1f} ms, p95 {p95(values):6.1f} ms, max {max(values):6.1f} ms"


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COSTPILOT_")}


def build_workspace(rows: int, home: Path) -> date:
    """Generate ``rows`` FOCUS rows (Parquet) and ingest them; returns the as-of day."""
    sys.path.insert(0, str(ROOT))
    from evals.sampledata.focus_bulk import generate_focus_bulk

    t0 = time.perf_counter()
    files = generate_focus_bulk(rows, home.parent / "data", seed=11)
    parquet = next(p for p in files.paths if p.suffix == ".parquet")
    print(
        f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s ({parquet.stat().st_size / 1e6:.0f} MB)"
    )
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "--workspace", str(home), "ingest", "focus", str(parquet)],
        cwd=ROOT, env=env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    print(f"ingested in {time.perf_counter() - t0:.1f} s")
    shutil.rmtree(home.parent / "data")  # the warehouse holds the rows now; the CSV alone is GBs
    return files.end + timedelta(days=1)


async def mcp_timings(home: Path, as_of: date, calls: int, keep_open: str) -> dict[str, Any]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    options = ["--workspace", str(home), "--as-of", as_of.isoformat(), "mcp", "--keep-open", keep_open]
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "app.cli", *options], cwd=str(ROOT), env=env()
    )
    t0 = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        ready_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        first = await session.call_tool("spend", ARGS)
        cold_ms = (time.perf_counter() - t0) * 1000
        if first.is_error:
            raise SystemExit(f"spend over MCP failed: {first.content[0].text}")
        warm: list[float] = []
        for _ in range(calls):
            t0 = time.perf_counter()
            result = await session.call_tool("spend", ARGS)
            warm.append((time.perf_counter() - t0) * 1000)
        return {"ready_ms": ready_ms, "cold_ms": cold_ms, "warm_ms": warm, "doc": result.structured_content}


def cli_timings(home: Path, as_of: date, runs: int) -> tuple[list[float], dict[str, Any]]:
    times: list[float] = []
    doc: dict[str, Any] = {}
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "--workspace",
        str(home),
        "--as-of",
        as_of.isoformat(),
        *CLI_ARGS,
    ]
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env(), check=True, capture_output=True, text=True)
        times.append((time.perf_counter() - t0) * 1000)
        doc = json.loads(done.stdout)
    return times, doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="FOCUS rows to generate")
    parser.add_argument("--workspace", type=Path, default=None, help="reuse this workspace (keeps it)")
    parser.add_argument("--as-of", default=None, help="as-of day with --workspace (default 2026-11-23)")
    parser.add_argument("--calls", type=int, default=60, help="warm MCP calls")
    parser.add_argument("--cli-runs", type=int, default=10, help="whole `costpilot spend` processes")
    args = parser.parse_args()
    import anyio

    if args.workspace is not None and (args.workspace / "warehouse.duckdb").is_file():
        home, as_of = args.workspace, date.fromisoformat(args.as_of or "2026-11-23")
    else:
        home = args.workspace or Path(tempfile.mkdtemp(prefix="costpilot-bench-mcp-")) / "ws"
        as_of = build_workspace(args.rows, home)
    print(f"workspace {home}, as of {as_of}, query spend {json.dumps(ARGS)}, load {os.getloadavg()[0]:.1f}")

    mcp = anyio.run(mcp_timings, home, as_of, args.calls, "5")
    reopen = anyio.run(mcp_timings, home, as_of, args.calls, "0")
    cli, cli_doc = cli_timings(home, as_of, args.cli_runs)
    floor = json.loads(
        subprocess.run(
            [sys.executable, "-c", IN_PROCESS_CHILD, str(home), as_of.isoformat(), json.dumps(ARGS), str(args.calls)],
            cwd=ROOT, env=env(), check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
    )  # fmt: skip
    strip = lambda d: {**d, "provenance": {k: v for k, v in d["provenance"].items() if k != "computed_at"}}  # noqa: E731
    same = strip(mcp["doc"]) == strip(cli_doc) == strip(reopen["doc"])

    lines = [
        f"MCP stdio server ready (spawn + initialize): {mcp['ready_ms']:.0f} ms; first spend call {mcp['cold_ms']:.0f} ms",
        f"MCP spend over stdio, {args.calls} warm calls:        {summary(mcp['warm_ms'])}   (target p95 ≤ 250 ms)",
        f"  the same with --keep-open 0 (reopen per call): {summary(reopen['warm_ms'])}",
        f"CLI `costpilot spend --json`, {args.cli_runs} processes:  {summary(cli)}",
        f"in-process registry call, handles reused:   {summary(floor['reused'])}",
        f"in-process registry call, fresh handles:    {summary(floor['fresh'])}",
        f"same document over MCP and the CLI (provenance clock aside): {same}; total {cli_doc['total']} {cli_doc['currency']}",
    ]  # fmt: skip
    print("\n".join([*lines, f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)"]))
    print(
        json.dumps(
            {
                "workspace": str(home),
                "as_of": as_of.isoformat(),
                "mcp": {"ready_ms": mcp["ready_ms"], "cold_ms": mcp["cold_ms"], "p50_ms": statistics.median(mcp["warm_ms"]),
                        "p95_ms": p95(mcp["warm_ms"]), "max_ms": max(mcp["warm_ms"])},
                "mcp_keep_open_0": {"p50_ms": statistics.median(reopen["warm_ms"]), "p95_ms": p95(reopen["warm_ms"])},
                "cli": {"p50_ms": statistics.median(cli), "p95_ms": p95(cli)},
                "in_process": {k: {"p50_ms": statistics.median(v), "p95_ms": p95(v)} for k, v in floor.items()},
                "same_answer": same,
                "load_average": os.getloadavg()[0],
            }
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
