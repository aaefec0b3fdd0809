"""``costpilot spend``: totals and breakdowns over a period."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from app.context import emit_tool_json, get_context
from app.render import console, format_option, money, use_format
from domain.period_help import PERIOD_HELP

if TYPE_CHECKING:
    from tools.spend import SpendResult

MEASURES = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")

BAR_WIDTH = 30


def render_spend(result: SpendResult) -> None:
    """A table with a bar per row: people read a chart faster than a column of numbers."""
    from rich.table import Table

    currency = result.currency or ""
    title = f"{result.measure} {result.period.label()}: {money(result.total, currency)}"
    if not result.by and console.table_format == "table":
        console.print(title)
        return
    table = Table(title=title, title_justify="left")
    if not result.by:  # --format csv|markdown: the total as a one-row table
        for name in ("measure", "period", "total"):
            table.add_column(name)
        table.add_row(result.measure, result.period.label(), money(result.total, currency))
        console.print(table)
        return
    for name in result.by:
        table.add_column(name)
    table.add_column("cost", justify="right")
    table.add_column("share", justify="right")
    table.add_column("")
    largest = max((abs(r.cost) for r in result.rows), default=0) or 1
    for row in result.rows:
        bar = "█" * max(int(abs(row.cost) / largest * BAR_WIDTH), 0)
        share = f"{row.share * 100:.1f}%" if row.share is not None else "–"
        table.add_row(*row.dims.values(), money(row.cost, currency), share, bar)
    console.print(table)


def spend_command(
    ctx: typer.Context,
    period: str = typer.Option("last-7d", "--period", "-p", help=PERIOD_HELP),
    by: list[str] = typer.Option([], "--by", help="dimensions, comma-separated or repeated: team,env"),
    filters: list[str] = typer.Option([], "--filter", "-f", help="KEY=VALUE (repeatable; VALUE may be a,b)"),
    measure: str = typer.Option("EffectiveCost", "--measure", help=" | ".join(MEASURES)),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
    fmt: str = format_option(),
) -> None:
    """Spend over a period, optionally broken down and filtered by dimensions."""
    use_format(fmt)
    args = {"period": period, "by": by, "filters": filters, "measure": measure}
    result = get_context(ctx).call("spend", args)
    if json_output:
        emit_tool_json("spend", result)
    else:
        render_spend(result)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    app.command("spend")(spend_command)
