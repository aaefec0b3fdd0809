"""``costpilot ingest utilization PATH...`` and ``costpilot ingest prometheus --url URL``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

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
    from warehouse.utilization import ingest_utilization_files

    app_ctx = get_context(ctx)
    ws = app_ctx.workspace.ensure()

    report = ingest_utilization_files(
        ws.warehouse_path, paths, ws.rejected_dir, on_file=file_progress(json_output)
    )
    finish_report(report, json_output)


def prometheus(
    ctx: typer.Context,
    url: str = typer.Option(..., "--url", help="Prometheus base URL, e.g. http://prometheus:9090"),
    days: int = typer.Option(14, "--days", min=1, max=90, help="days of history to fetch"),
    step: int = typer.Option(300, "--step", min=15, max=3600, help="sample step in seconds"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Fetch KRR's metrics from Prometheus in bounded chunks and store them as samples."""
    from warehouse.prometheus import PrometheusSettings, ingest_prometheus

    app_ctx = get_context(ctx)
    ws = app_ctx.workspace.ensure()
    if app_ctx.settings.as_of:  # --as-of: history up to the start of that day
        end = datetime.combine(app_ctx.settings.as_of, time.min, tzinfo=UTC)
    else:
        end = datetime.now(UTC)
    start = end - timedelta(days=days)
    settings = PrometheusSettings(url=url, step_seconds=step)
    with err_console.status("querying Prometheus…"):
        result = ingest_prometheus(ws.warehouse_path, settings, start, end, rejected_dir=ws.rejected_dir)
    if json_output:
        emit_json(result)
    else:
        typer.echo(result.summary_line())
