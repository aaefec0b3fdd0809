"""``costpilot savings [--json]``: merged proposals, estimated vs realised monthly savings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import typer

from app.context import emit_tool_json, get_context
from app.render import console


def _say(text: str) -> None:
    # markup off: titles and branches are data, not rich markup.
    console.print(text, markup=False, highlight=False)


def _usd(amount: Any) -> str:
    from gitops.pr_body import usd

    return usd(Decimal(amount))


def savings(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """Merged proposals: the estimate they were approved on beside the saving measured after the merge."""
    from domain.text import terminal_safe

    result: Any = get_context(ctx).call("savings")
    if as_json:
        emit_tool_json("savings", result)
        return
    _say(
        f"merged: {result.merged}, measured: {result.measured}; estimated {_usd(result.estimated_monthly_saving)}/month, "
        f"realised {_usd(result.realised_monthly_saving)}/month "
        f"(estimate of the measured ones {_usd(result.estimated_of_measured)}/month)"
    )
    for line in result.lines:
        realised = _usd(line.realised_monthly_saving) if line.realised_monthly_saving is not None else "–"
        detail = f"  ({terminal_safe(line.note)})" if line.note else ""
        _say(
            f"  {line.proposal_id}  {terminal_safe(line.branch)}  merged {line.merged_at:%Y-%m-%d}  "
            f"estimate {_usd(line.estimated_monthly_saving)}  realised {realised}  "
            f"[{line.status}, {line.days_after} d]{detail}"
        )
    if result.waiting:
        _say(
            f"waiting ({len(result.waiting)}, {_usd(result.waiting_monthly_saving)}/month) from the last scan, "
            "held back by the limits or a cooldown:"
        )
        for w in result.waiting:
            _say(f"  {terminal_safe(w.branch)}  {_usd(w.monthly_saving)}/month  {terminal_safe(w.reason)}")
    for note in result.notes:
        _say(f"note: {note}")


def register(cli: typer.Typer) -> None:
    """Add ``savings`` to the root app."""
    cli.command("savings")(savings)
