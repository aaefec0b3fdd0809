"""``costpilot ingest utilization PATH...`` and ``costpilot ingest prometheus --url URL``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from app.context import get_context
from app.ingest_output import file_progress, finish_report
from app.render import emit_json, err_console


def add_commands(ingest_app: typer.Typer) -> None:
    """Add the utilization subcommands to the ``ingest`` group."""
    ingest_app.command("utilization")(utilization)
    ingest_app.command("prometheus")(prometheus)


def utilization(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., help="utilization samples: Parquet or CSV (columns in DESIGN.md)"
    ),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Ingest container CPU / memory samples (each file all-or-nothing; re-ingest is a no-op)."""
    args = {"paths": [str(p) for p in paths]}
    report = get_context(ctx).call("ingest_utilization", args, on_file=file_progress(json_output))
    finish_report(report, json_output)  # type: ignore[arg-type]


def prometheus(
    ctx: typer.Context,
    url: str = typer.Option(..., "--url", help="Prometheus base URL, e.g. http://prometheus:9090"),
    days: int = typer.Option(14, "--days", min=1, max=90, help="days of history to fetch"),
    step: int = typer.Option(300, "--step", min=15, max=3600, help="sample step in seconds"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Fetch KRR's metrics from Prometheus in bounded chunks and store them as samples."""
    # --as-of: history up to the start of that day
    with err_console.status("querying Prometheus…"):
        result: Any = get_context(ctx).call("ingest_prometheus", {"url": url, "days": days, "step": step})
    if json_output:
        emit_json(result)
    else:
        typer.echo(result.summary_line())
