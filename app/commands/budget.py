"""``costpilot budget set|list|status``: budgets per scope, stored in the state database."""

from __future__ import annotations

from decimal import Decimal

import typer
from rich.table import Table

from app.context import AppContext, get_context
from app.render import console, emit_json, money
from domain.errors import InputError
from tools.budgets import PERIOD_KINDS, BudgetReport, check_budget, parse_scope

budget_app = typer.Typer(
    help="Budgets per scope (total, team, env, feature, model) and period.", no_args_is_help=True
)


def _engine(app_ctx: AppContext):  # type: ignore[no-untyped-def]
    app_ctx.workspace.ensure()
    from store.db import create_engine_for, init_db  # the state DB (sqlalchemy) only when used

    engine = create_engine_for(app_ctx.workspace.state_db_url(app_ctx.settings.database_url))
    init_db(engine)
    return engine


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
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Create or replace the budget of a scope for a period kind."""
    kind, value = parse_scope(scope)
    hard = _amount(amount, "--amount")
    soft_value = None if soft is None else _amount(soft, "--soft")
    check_budget(hard, soft_value, period)
    engine = _engine(get_context(ctx))
    from store.budgets import upsert_budget

    record, created = upsert_budget(engine, kind, value, period, hard, soft_value)
    if json_output:
        emit_json({"budget": record.model_dump(mode="json"), "created": created})
    else:
        verb = "created" if created else "updated"
        soft_text = f" (soft {money(record.soft_amount)})" if record.soft_amount is not None else ""
        console.print(f"Budget {verb}: {record.scope} {money(record.amount)} per {record.period}{soft_text}")


@budget_app.command("list")
def list_command(
    ctx: typer.Context, json_output: bool = typer.Option(False, "--json", help="print one JSON document")
) -> None:
    """Every stored budget."""
    from store.budgets import list_budgets

    records = list_budgets(_engine(get_context(ctx)))
    if json_output:
        emit_json({"budgets": [r.model_dump(mode="json") for r in records]})
        return
    if not records:
        console.print("No budgets yet; add one with `costpilot budget set --scope total --amount N`.")
        return
    table = Table(title="Budgets", title_justify="left")
    for column in ("scope", "period", "amount", "soft"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.scope, r.period, money(r.amount), money(r.soft_amount) if r.soft_amount is not None else "–"
        )
    console.print(table)


def render_status(report: BudgetReport) -> None:
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


@budget_app.command("status")
def status_command(
    ctx: typer.Context, json_output: bool = typer.Option(False, "--json", help="print one JSON document")
) -> None:
    """Spent, projected at period end, % used, crossing date and alert level of every budget."""
    app_ctx = get_context(ctx)
    from store.budgets import list_budgets
    from tools.budgets import budget_status
    from warehouse.query import open_backend

    records = list_budgets(_engine(app_ctx))
    if not records:
        raise InputError("no budgets yet; add one with `costpilot budget set --scope total --amount N`")
    backend = open_backend(app_ctx.workspace.warehouse_path)
    try:
        report = budget_status(backend, records, app_ctx.today)
    finally:
        backend.disconnect()
    if json_output:
        emit_json(report)
    else:
        render_status(report)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(budget_app, name="budget")
