"""The ``costpilot`` command: global options, command registry and the one error edge."""

from __future__ import annotations

import importlib
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import typer

from app.logs import configure_logging, get_logger
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
    from app.context import build_context
    from services.settings import load_settings

    settings = load_settings(workspace, as_of=as_of_day)
    ctx.obj = build_context(settings)
    ctx.call_on_close(ctx.obj.deps.close)
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
    "digest",
    "serve",
    "ask",
    "sample",
    "demo",
    "mcp",
    "eval",
    "review",
    "savings",
)


def build_app() -> typer.Typer:
    """A fresh Typer app with the global options and every command group."""
    cli = typer.Typer(
        name="costpilot",
        help="Agentic FinOps assistant with deterministic guardrails.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # Plain click help: typer's rich help renderer alone costs ~0.1 s on every `--help`.
        rich_markup_mode=None,
    )
    cli.callback()(root)
    for name in COMMAND_MODULES:
        module: ModuleType = importlib.import_module(f"app.commands.{name}")
        module.register(cli)
    return cli


def _click_class(name: str) -> type[Exception]:
    """Typer vendors click; its exception classes are reachable through a public one."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_ClickException = _click_class("ClickException")


def _error_line(message: str) -> int:
    import os

    from domain.redaction import redact, secrets_from_environment

    # one line, whatever the source; secrets hidden (also those of settings that failed to load)
    line = redact(" ".join(message.split()), secrets_from_environment(os.environ))
    get_logger("cli").warning("refused: %s", line)
    sys.stderr.write(f"costpilot: error: {line}\n")
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI. Bad input of any kind (our errors and usage errors alike) becomes
    one line on stderr and exit 2; ``--help`` exits 0."""
    cli = build_app()
    try:
        code = cli(args=argv, prog_name="costpilot", standalone_mode=False)
    except CostpilotError as exc:
        return _error_line(str(exc))
    except _ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `costpilot` (or a group): its help
            help_ctx = getattr(exc, "ctx", None)
            if help_ctx is not None:
                sys.stdout.write(help_ctx.get_help() + "\n")
            return 0
        command = getattr(getattr(exc, "ctx", None), "command_path", "costpilot")
        return _error_line(f"{exc.format_message()} (see `{command} --help`)")  # type: ignore[attr-defined]
    except typer.Abort:
        sys.stderr.write("costpilot: aborted\n")
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


def run() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
