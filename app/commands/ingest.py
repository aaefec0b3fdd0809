"""``costpilot ingest focus|llm-usage|utilization|prometheus``."""

from __future__ import annotations

from pathlib import Path

import typer

from app.context import get_context
from app.ingest_output import file_progress, finish_report
from app.render import err_console

ingest_app = typer.Typer(help="Load cost and usage data into the workspace.", no_args_is_help=True)


@ingest_app.command("focus")
def focus(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., help="FOCUS 1.0–1.2 exports (CSV, CSV.gz, Parquet) or folders of them"
    ),
    append: bool = typer.Option(
        False, "--append", help="more part files of the export ingested last: add to it, do not replace it"
    ),
    allow_shrink: bool = typer.Option(
        False,
        "--allow-shrink",
        help="replace an older export even when the newer one has under half its rows for a "
        "billing account and month (a partial export)",
    ),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Ingest FOCUS cost exports (a newer export of the same account and month replaces the older)."""
    args = {"paths": [str(p) for p in paths], "append": append, "allow_shrink": allow_shrink}
    with err_console.status("ingesting FOCUS files…"):
        report = get_context(ctx).call("ingest_focus", args, on_file=file_progress(json_output))
    finish_report(report, json_output)  # type: ignore[arg-type]


@ingest_app.command("llm-usage")
def llm_usage(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="LiteLLM-style spend logs (JSONL, CSV) or folders of them"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Ingest LLM gateway logs as FOCUS rows (priced from the model table when the log has no spend)."""
    args = {"paths": [str(p) for p in paths]}
    with err_console.status("ingesting LLM usage logs…"):
        report = get_context(ctx).call("ingest_llm_usage", args, on_file=file_progress(json_output))
    finish_report(report, json_output)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    from app.commands import ingest_utilization

    ingest_utilization.add_commands(ingest_app)
    app.add_typer(ingest_app, name="ingest")
