"""``costpilot demo``: the whole loop on generated sample data, offline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import typer
from rich.rule import Rule

from app.commands.spend import render_spend
from app.context import AppContext, get_context
from app.render import console, err_console
from app.sampledata.generate import SampleManifest, generate_sample
from tools.spend import spend
from warehouse.ingest_focus import ingest_focus_files
from warehouse.ingest_llm import ingest_llm_files
from warehouse.query import open_backend


@dataclass(frozen=True)
class DemoRun:
    ctx: AppContext
    manifest: SampleManifest


def _ingest(run: DemoRun) -> None:
    ws = run.ctx.workspace
    config = run.ctx.settings.warehouse_config()
    show = lambda result: console.print("  " + result.summary_line())  # noqa: E731
    console.print("[bold]FOCUS exports[/]")
    ingest_focus_files(ws.warehouse_path, run.manifest.focus_files, config, ws.rejected_dir, on_file=show)
    console.print("[bold]LLM gateway logs[/]")
    ingest_llm_files(ws.warehouse_path, run.manifest.llm_files, config, ws.rejected_dir, on_file=show)


def _spend_summary(run: DemoRun) -> None:
    backend = open_backend(run.ctx.workspace.warehouse_path)
    last_week = run.ctx.period("last-week")
    render_spend(spend(backend, last_week, by=["team"]))
    render_spend(
        spend(
            backend,
            run.ctx.period("last-30d"),
            by=["model"],
            filters={"service_category": ["AI and Machine Learning"]},
        )
    )


# The demo's steps in order; later features add theirs here.
DEMO_STEPS: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("Ingest the sample cost data", _ingest),
    ("Spend", _spend_summary),
]


def demo_command(
    ctx: typer.Context,
    seed: int = typer.Option(7, help="sample data seed (same seed → same data)"),
    end: str = typer.Option("2026-11-22", help="last day of the sample data (YYYY-MM-DD)"),
) -> None:
    """Generate sample data into the workspace and run the whole loop on it, offline."""
    app_ctx = get_context(ctx)
    try:
        end_day = date.fromisoformat(end)
    except ValueError:
        raise typer.BadParameter(f"--end {end!r}: not a date (YYYY-MM-DD)") from None
    ws = app_ctx.workspace.ensure()
    if app_ctx.settings.as_of is None:  # the sample's "today" is the day after its last day
        settings = app_ctx.settings.model_copy(update={"as_of": end_day + timedelta(days=1)})
        app_ctx = replace(app_ctx, settings=settings)
    with err_console.status("generating sample data…"):
        manifest = generate_sample(ws.home / "sample", end=end_day, seed=seed)
    run = DemoRun(ctx=app_ctx, manifest=manifest)
    for title, step in DEMO_STEPS:
        console.print(Rule(title))
        step(run)
    console.print(Rule())
    console.print(f"workspace: {ws.home} (as of {app_ctx.today.isoformat()})")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
