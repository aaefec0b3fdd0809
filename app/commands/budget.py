"""``costpilot budget set|list|status``: budgets per scope, stored in the state database."""

from __future__ import annotations

from decimal import Decimal

import typer
from rich.table import Table

from app.context import AppContext, get_context
from app.render import console, emit_json, money
from domain.errors import DataError, InputError
from tools.budgets import PERIOD_KINDS, BudgetReport, check_budget, check_scope_exists, parse_scope

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


def _check_scope(app_ctx: AppContext, kind: str, value: str) -> None:
    if kind == "total":
        return
    from warehouse.query import open_backend

    try:
        backend = open_backend(app_ctx.workspace.warehouse_path)
    except DataError:
        raise InputError(
            f"--scope {kind}={value}: no cost data ingested yet to check it against; pass --force"
        ) from None
    try:
        check_scope_exists(backend, kind, value)
    finally:
        backend.disconnect()


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
    kind, value = parse_scope(scope)
    hard = _amount(amount, "--amount")
    soft_value = None if soft is None else _amount(soft, "--soft")
    if clear_soft and soft_value is not None:
        raise InputError("--soft and --clear-soft: give one or the other")
    check_budget(hard, soft_value, period)
    app_ctx = get_context(ctx)
    if not force:
        _check_scope(app_ctx, kind, value)
    engine = _engine(app_ctx)
    from store.budgets import get_budget, upsert_budget

    existing = get_budget(engine, kind, value, period)
    if soft_value is None and not clear_soft and existing is not None and existing.soft_amount is not None:
        soft_value = existing.soft_amount
        if soft_value > hard:
            raise InputError(
                f"--amount {hard}: below the stored soft amount {soft_value}; pass --soft or --clear-soft"
            )

    record, created = upsert_budget(engine, kind, value, period, hard, soft_value)
    if json_output:
        emit_json({"budget": record.model_dump(mode="json"), "created": created})
    else:
        verb = "created" if created else "updated"
        soft_text = f" (soft {money(record.soft_amount)})" if record.soft_amount is not None else ""
        console.print(f"Budget {verb}: {record.scope} {money(record.amount)} per {record.period}{soft_text}")


def stored_budgets(app_ctx: AppContext) -> list:  # type: ignore[type-arg]
    """Every stored budget, or [] when the workspace has no state database yet (none created)."""
    if app_ctx.settings.database_url is None and not app_ctx.workspace.state_db_path.exists():
        return []
    from store.budgets import list_budgets

    return list_budgets(_engine(app_ctx))


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
    for s in report.budgets:
        if s.note and s.projected is not None:
            console.print(f"{s.scope} ({s.period_kind}): {s.note}")


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
