"""``costpilot ask "QUESTION" [--thread ID] [--json]``: a grounded answer from the agent."""

from __future__ import annotations

import getpass
from typing import Any

import typer

from app.context import get_context
from app.render import console, emit_json


def ask_command(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="a question in plain words, e.g. 'spend by team last week'"),
    thread: str | None = typer.Option(None, "--thread", help="continue this conversation (follow-ups)"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Ask about spend; every number in the answer was computed by costpilot's tools."""
    from agent.ask import ask

    result: Any = ask(question, get_context(ctx).deps, thread=thread, user=_os_user())
    if json_output:
        emit_json(
            result.model_dump(
                mode="json",
                include={"answer", "tool_calls", "numbers", "grounded", "thread", "intent", "notes"},
            )
        )
        return
    from app.escape import terminal_safe

    console.print(terminal_safe(result.answer), markup=False, highlight=False)
    for note in result.notes:  # e.g. the chat model did not answer and the offline planner did
        console.print(f"note: {terminal_safe(note)}", markup=False, highlight=False, style="dim")
    calls = ", ".join(f"{c.tool}({_args(c.args)})" for c in result.tool_calls) or "none"
    console.print(
        f"[dim]tools: {terminal_safe(calls)} · thread {result.thread}"
        f"{'' if result.grounded else ' · not grounded: templated answer'}[/]"
    )


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items() if v not in (None, [], {}))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container
        return "unknown"


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
