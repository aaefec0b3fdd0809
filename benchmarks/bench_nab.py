"""`costpilot anomalies --series` on the Numenta Anomaly Benchmark series, beside a z-score baseline.

    python benchmarks/bench_nab.py [--data /work/shared/data/nab] [--json] [--files N]

Runs the CLI as a user would (``costpilot anomalies --series FILE --json`` plus the options in
``CLI_OPTIONS``: drops count as well as rises, and the $ thresholds are off because these are not
amounts), one process-local call per file. Scores with the rule of the data folder's README:
detections closer than 3 sampling steps are one event; recall = labelled windows touched by an
event / windows; precision = events touching a window / events; F1 from those, pooled per
category and over all files. The baseline in the same run is a rolling z-score (|z| > 3 over the
previous day of points) on the same resampled grid the CLI reads. A file the CLI refuses counts
as refused and scores nothing. NAB data: MIT licence, Numenta (see the folder's LICENSE.txt).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cli import main as cli_main  # noqa: E402
from tools.anomalies.events import (  # noqa: E402
    EventCounts,
    FileScore,
    count_events,
    merge_events,
    pooled,
    rolling_zscore_flags,
    runs_of,
)
from tools.anomalies.series_file import read_series_file  # noqa: E402

DATA = Path("/work/shared/data/nab")
DAY = timedelta(days=1)
# Metrics, not money: a drop is as anomalous as a rise and the $ floor / $ threshold mean nothing.
CLI_OPTIONS = ["--direction", "both", "--threshold-abs", "off", "--min-impact", "0"]


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def run_cli(path: Path, workspace: Path) -> tuple[dict | None, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--workspace", str(workspace), "anomalies", "--series", str(path), "--json", *CLI_OPTIONS]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(argv)
    if code != 0:
        return None, err.getvalue().strip()
    return json.loads(out.getvalue()), ""


def score_file(path: Path, name: str, windows: list[tuple[datetime, datetime]], workspace: Path) -> dict:
    series = read_series_file(path)
    step = series.interval
    report, refused = run_cli(path, workspace)
    ours = FileScore(name=name, counts=EventCounts(windows=len(windows)))
    if report is not None:
        spans = [(_stamp(a["start"]), _stamp(a["end"])) for a in report["anomalies"]]
        events = merge_events(spans, step)
        ours = FileScore(name=name, counts=count_events(events, windows), events=events)
    window = max(2, DAY // step) if step < DAY else 7
    flags = rolling_zscore_flags(series.as_array(), window)
    base_events = merge_events(runs_of(flags, series.timestamps), step)
    base = FileScore(name=name, counts=count_events(base_events, windows), events=base_events)
    return {"ours": ours, "baseline": base, "refused": refused, "notes": (report or {}).get("notes", [])}


def _row(label: str, ours: EventCounts, base: EventCounts) -> str:
    return (
        f"| {label} | {ours.windows} | {ours.events} | {ours.recall:.2f} | {ours.precision:.2f} | "
        f"**{ours.f1:.2f}** | {base.events} | {base.recall:.2f} | {base.precision:.2f} | {base.f1:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--files", type=int, default=0, help="only the first N files (0 = all)")
    args = parser.parse_args()
    windows_doc = json.loads((args.data / "combined_windows.json").read_text())
    files = sorted(windows_doc)[: args.files or None]
    results: dict[str, dict] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in files:
            windows = [(_stamp(a), _stamp(b)) for a, b in windows_doc[name]]
            results[name] = score_file(args.data / "data" / name, name, windows, Path(tmp))
    took = time.perf_counter() - start
    categories = sorted({name.split("/")[0] for name in files})
    table = {
        c: (
            pooled(r["ours"] for n, r in results.items() if n.startswith(c + "/")),
            pooled(r["baseline"] for n, r in results.items() if n.startswith(c + "/")),
        )
        for c in categories
    }
    overall = (pooled(r["ours"] for r in results.values()), pooled(r["baseline"] for r in results.values()))
    refused = {n: r["refused"] for n, r in results.items() if r["refused"]}
    if args.json:
        doc = {
            "files": len(files),
            "refused": refused,
            "seconds": round(took, 1),
            "categories": {
                c: {"ours": {**o.model_dump(), "f1": o.f1}, "baseline": {**b.model_dump(), "f1": b.f1}}
                for c, (o, b) in table.items()
            },
            "overall": {"ours": overall[0].f1, "baseline": overall[1].f1},
        }
        print(json.dumps(doc, indent=2))
        return
    print(f"NAB: {len(files)} files from {args.data}, {len(refused)} refused, {took:.1f} s")
    print(
        f"costpilot anomalies --series FILE --json {' '.join(CLI_OPTIONS)}  vs  rolling z-score (|z| > 3, previous day)"
    )
    print(
        "| category | windows | events | recall | precision | F1 | z events | z recall | z precision | z F1 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c, (o, b) in table.items():
        print(_row(c, o, b))
    print(_row("**all files**", *overall))
    labelled = {c: ob for c, ob in table.items() if ob[0].windows}
    beaten = all(o.f1 > b.f1 for o, b in labelled.values())
    print(f"F1 above the baseline in every category with labelled windows: {beaten}; "
          f"overall F1 {overall[0].f1:.3f} vs {overall[1].f1:.3f} (target ≥ 0.5)")  # fmt: skip
    for c, (o, b) in table.items():
        if not o.windows:  # F1 is 1 only with no event at all: it cannot be beaten, only matched
            print(
                f"{c} (no labelled windows): {o.events} events (baseline {b.events}); F1 {o.f1:.2f} vs {b.f1:.2f}"
            )
    for name, reason in refused.items():
        print(f"  refused: {name}: {reason}")


if __name__ == "__main__":
    main()
