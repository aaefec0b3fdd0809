"""Budgets: set, list and status (state in the state DB, spend from the warehouse)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from domain.errors import DataError, InputError
from services.deps import Deps
from services.requests import BudgetSetRequest, EmptyRequest
from store.budgets import BudgetRecord
from tools.budgets import BudgetReport


class BudgetSetResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    budget: BudgetRecord
    created: bool


class BudgetListResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    budgets: list[BudgetRecord]


NO_BUDGETS = "no budgets yet; add one with `costpilot budget set --scope total --amount N`"


def budget_set(request: BudgetSetRequest, deps: Deps) -> BudgetSetResult:
    """Create or replace the budget of a scope for a period kind (a stored soft amount is kept
    unless ``soft`` or ``clear_soft`` is given)."""
    from store.budgets import get_budget, upsert_budget
    from tools.budgets import check_budget, parse_scope

    kind, value = parse_scope(request.scope)
    soft = request.soft
    if request.clear_soft and soft is not None:
        raise InputError("soft and clear_soft: give one or the other")
    check_budget(request.amount, soft, request.period)
    if not request.force and kind != "total":
        _check_scope(deps, kind, value)
    existing = get_budget(deps.engine, kind, value, request.period)
    if soft is None and not request.clear_soft and existing is not None and existing.soft_amount is not None:
        soft = existing.soft_amount
        if soft > request.amount:
            raise InputError(
                f"amount {request.amount}: below the stored soft amount {soft}; give a soft amount or clear it"
            )
    record, created = upsert_budget(deps.engine, kind, value, request.period, request.amount, soft)
    return BudgetSetResult(budget=record, created=created)


def _check_scope(deps: Deps, kind: str, value: str) -> None:
    from tools.budgets import check_scope_exists

    try:
        backend = deps.backend
    except DataError:
        raise InputError(
            f"scope {kind}={value}: no cost data ingested yet to check it against; force it to keep it"
        ) from None
    check_scope_exists(backend, kind, value)


def budget_list(_request: EmptyRequest, deps: Deps) -> BudgetListResult:
    from store.budgets import list_budgets

    return BudgetListResult(budgets=list_budgets(deps.engine) if deps.has_state else [])


def budget_status(_request: EmptyRequest, deps: Deps) -> BudgetReport:
    """Spent, projected at period end, % used, crossing date and alert level of every budget."""
    from store.budgets import list_budgets
    from tools.budgets import budget_status as compute

    records = list_budgets(deps.engine) if deps.has_state else []
    if not records:
        raise InputError(NO_BUDGETS)
    return compute(deps.backend, records, deps.today)


def total_budget(deps: Deps) -> Decimal | None:
    """The monthly total budget, when one is stored (the digest compares the forecast with it)."""
    from store.budgets import get_budget

    if not deps.has_state:
        return None
    record = get_budget(deps.engine, "total", "", "month")
    return record.amount if record else None
