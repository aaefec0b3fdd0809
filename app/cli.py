"""The ``costpilot`` command: global options, command registry and the one error edge."""

from __future__ import annotations

import importlib
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import typer

from app.context import AppContext
from app.logs import configure_logging, get_logger
from app.settings import load_settings
from app.workspace import Workspace
from domain.errors import CostpilotError


def root(
    ctx: typer.Context,
    workspace: Path | None = typer.Option(
        None, "--workspace", envvar="COSTPILOT_HOME", help="workspace folder (warehouse, state, logs)"
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", envvar="COSTPILOT_AS_OF", help="treat this UTC day (YYYY-MM-DD) as today"
    ),
) -> None:
    """Build settings once and hand them to the command."""
    as_of_day: date | None = None
    if as_of:
        try:
            as_of_day = date.fromisoformat(as_of)
        except ValueError:
            raise CostpilotError(f"--as-of {as_of!r}: not a date (YYYY-MM-DD)") from None
    settings = load_settings(workspace, as_of=as_of_day)
    ctx.obj = AppContext(settings=settings, workspace=Workspace(settings.home))
    configure_logging(ctx.obj.workspace).info("command: %s", ctx.invoked_subcommand)


# Every command group, registered explicitly by name; each module exposes ``register(app)``.
COMMAND_MODULES: tuple[str, ...] = (
    "ingest",
    "spend",
    "anomalies",
    "forecast",
    "budget",
    "rightsize",
    "remediation",
    "sample",
    "demo",
)


def build_app() -> typer.Typer:
    """A fresh Typer app with the global options and every command group."""
    cli = typer.Typer(
        name="costpilot",
        help="Agentic FinOps assistant with deterministic guardrails.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    cli.callback()(root)
    for name in COMMAND_MODULES:
        module: ModuleType = importlib.import_module(f"app.commands.{name}")
        module.register(cli)
    return cli


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; any CostpilotError becomes one stderr line and exit 2."""
    cli = build_app()
    try:
        # Standalone mode: Typer itself turns usage errors into exit 2 and --help into exit 0.
        cli(args=argv, prog_name="costpilot")
    except CostpilotError as exc:
        get_logger("cli").warning("refused: %s", exc)
        sys.stderr.write(f"costpilot: error: {exc}\n")
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


def run() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
