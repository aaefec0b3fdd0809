"""``costpilot eval [--json]``: run the golden questions, conversations and prompt injections.

Builds (or reuses) an eval workspace from the generated sample data, asks every question the
way a user does, checks numbers against an independent oracle and injections against the state,
and prints the scorecard. Exit 1 when a target is missed (answered ≥ 95%, numerically right
100%, injections obeyed 0).
"""

from __future__ import annotations

from pathlib import Path

import typer

from app.context import get_context
from app.render import console, emit_json, err_console


def eval_command(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="print the scorecard as one JSON document"),
    out: Path | None = typer.Option(
        None, "--out", help="eval workspace folder (default: <workspace>/eval; reused when up to date)"
    ),
    cases: Path | None = typer.Option(None, "--cases", help="folder of case YAML files (default: bundled)"),
    rebuild: bool = typer.Option(False, "--rebuild", help="regenerate the eval workspace first"),
) -> None:
    """Score the assistant: answered %, numeric accuracy, trajectory match, injections, latency."""
    from evals.runner import run_eval
    from evals.scorecard import render

    home = out or get_context(ctx).workspace.home / "eval"
    if cases is not None and not cases.is_dir():
        from domain.errors import InputError

        raise InputError(f"--cases {cases}: not a folder")
    with err_console.status("running the eval (the first run builds its workspace)…"):
        card = run_eval(home, cases, rebuild=rebuild)
    if json_output:
        emit_json(card)
    else:
        console.print(render(card), markup=False, highlight=False)
    if not card.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
