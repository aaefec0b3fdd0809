"""``costpilot budget set|list|status``: budgets per scope, stored in the state database."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import typer

from app.context import emit_tool_json, get_context
from app.render import console, money
from domain.errors import InputError

if TYPE_CHECKING:
    from tools.budgets import BudgetReport

PERIOD_KINDS = ("month", "quarter")

budget_app = typer.Typer(
    help="Budgets per scope (total, team, env, feature, model) and period.", no_args_is_help=True
)


def _amount(text: str, flag: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        raise InputError(f"{flag} {text!r}: not a number") from None
    if not value.is_finite():
        raise InputError(f"{flag} {text!r}: not a finite number")
    return value


@budget_app.command("set")
def set_command(
    ctx: typer.Context,
    scope: str = typer.Option(..., "--scope", help="total | team=X | env=X | feature=X | model=X"),
    amount: str = typer.Option(..., "--amount", help="hard budget for the period (currency units)"),
    soft: str | None = typer.Option(None, "--soft", help="soft budget (warn earlier), ≤ amount"),
    period: str = typer.Option("month", "--period", help=" | ".join(PERIOD_KINDS)),
    clear_soft: bool = typer.Option(False, "--clear-soft", help="remove a stored soft amount"),
    force: bool = typer.Option(False, "--force", help="accept a scope value no cost row has (yet)"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Create or replace the budget of a scope for a period kind (a stored soft amount is kept
    unless --soft or --clear-soft is given)."""
    if period not in PERIOD_KINDS:
        raise InputError(f"--period {period!r}: use one of: {', '.join(PERIOD_KINDS)}")
    args = {
        "scope": scope,
        "amount": _amount(amount, "--amount"),
        "soft": None if soft is None else _amount(soft, "--soft"),
        "period": period,
        "clear_soft": clear_soft,
        "force": force,
    }
    result = get_context(ctx).call("budget_set", args)
    record, created = result.budget, result.created  # type: ignore[attr-defined]
    if json_output:
        emit_tool_json("budget_set", result)
    else:
        verb = "created" if created else "updated"
        soft_text = f" (soft {money(record.soft_amount)})" if record.soft_amount is not None else ""
        console.print(f"Budget {verb}: {record.scope} {money(record.amount)} per {record.period}{soft_text}")


@budget_app.command("list")
def list_command(
    ctx: typer.Context, json_output: bool = typer.Option(False, "--json", help="print one JSON document")
) -> None:
    """Every stored budget."""
    result = get_context(ctx).call("budget_list")
    records = result.budgets  # type: ignore[attr-defined]
    if json_output:
        emit_tool_json("budget_list", result)
        return
    if not records:
        console.print("No budgets yet; add one with `costpilot budget set --scope total --amount N`.")
        return
    from rich.table import Table

    table = Table(title="Budgets", title_justify="left")
    for column in ("scope", "period", "amount", "soft"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.scope, r.period, money(r.amount), money(r.soft_amount) if r.soft_amount is not None else "–"
        )
    console.print(table)


def render_status(report: BudgetReport) -> None:
    from rich.table import Table

    table = Table(title=f"Budgets as of {report.as_of}", title_justify="left")
    for column in ("scope", "period", "amount", "spent", "used", "projected", "crossed", "alerts"):
        table.add_column(column)
    for s in report.budgets:
        crossed = f"{s.crossed_on}{' (forecast)' if s.crossed_forecast else ''}" if s.crossed_on else "–"
        table.add_row(
            s.scope, s.period.label(), money(s.amount), money(s.spent), f"{s.pct_used}%",
            money(s.projected) if s.projected is not None else (s.note or "–"), crossed, "; ".join(s.alerts) or "ok",
        )  # fmt: skip
    console.print(table)
    for s in report.budgets:
        if s.note and s.projected is not None:
            console.print(f"{s.scope} ({s.period_kind}): {s.note}")


@budget_app.command("status")
def status_command(
    ctx: typer.Context, json_output: bool = typer.Option(False, "--json", help="print one JSON document")
) -> None:
    """Spent, projected at period end, % used, crossing date and alert level of every budget."""
    report = get_context(ctx).call("budget_status")
    if json_output:
        emit_tool_json("budget_status", report)
    else:
        render_status(report)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(budget_app, name="budget")
