"""Budgets in the state database: one row per (scope, period kind), amounts as exact decimal text.

Amounts are stored as text so they stay exact on SQLite (which has no decimal type) and
PostgreSQL alike; the pydantic ``BudgetRecord`` turns them back into ``Decimal``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import UniqueConstraint
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from domain.money import Money, decimal_str
from store.db import session_scope


class BudgetRow(SQLModel, table=True):
    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("scope_kind", "scope_value", "period", name="uq_budget_scope_period"),)

    id: int | None = Field(default=None, primary_key=True)
    scope_kind: str = Field(max_length=32, description="total | team | env | feature | model")
    scope_value: str = Field(default="", max_length=200, description="'' for total")
    period: str = Field(max_length=16, description="month | quarter")
    amount: str = Field(max_length=64, description="hard budget, decimal text")
    soft_amount: str | None = Field(default=None, max_length=64, description="soft budget, decimal text")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class BudgetRecord(BaseModel):
    """A stored budget as the rest of costpilot sees it."""

    model_config = ConfigDict(frozen=True)

    id: int
    scope_kind: str
    scope_value: str
    period: str
    amount: Money
    soft_amount: Money | None
    updated_at: datetime

    @property
    def scope(self) -> str:
        return "total" if self.scope_kind == "total" else f"{self.scope_kind}={self.scope_value}"


def _record(row: BudgetRow) -> BudgetRecord:
    return BudgetRecord(
        id=row.id or 0,
        scope_kind=row.scope_kind,
        scope_value=row.scope_value,
        period=row.period,
        amount=Decimal(row.amount),
        soft_amount=None if row.soft_amount is None else Decimal(row.soft_amount),
        updated_at=row.updated_at,
    )


def _find(session: Session, scope_kind: str, scope_value: str, period: str) -> BudgetRow | None:
    """The row of (scope, period), if any."""
    return session.exec(
        select(BudgetRow).where(
            BudgetRow.scope_kind == scope_kind,
            BudgetRow.scope_value == scope_value,
            BudgetRow.period == period,
        )
    ).first()


def upsert_budget(
    engine: Engine,
    scope_kind: str,
    scope_value: str,
    period: str,
    amount: Decimal,
    soft_amount: Decimal | None,
) -> tuple[BudgetRecord, bool]:
    """Create or replace the budget of (scope, period); returns (record, created)."""
    with session_scope(engine) as session:
        row = _find(session, scope_kind, scope_value, period)
        created = row is None
        if row is None:
            row = BudgetRow(scope_kind=scope_kind, scope_value=scope_value, period=period, amount="0")
        row.amount = decimal_str(amount)
        row.soft_amount = None if soft_amount is None else decimal_str(soft_amount)
        row.updated_at = datetime.now(UTC)
        session.add(row)
        session.flush()
        session.refresh(row)
        return _record(row), created


def get_budget(engine: Engine, scope_kind: str, scope_value: str, period: str) -> BudgetRecord | None:
    """The stored budget of (scope, period), if any."""
    with session_scope(engine) as session:
        row = _find(session, scope_kind, scope_value, period)
        return None if row is None else _record(row)


def list_budgets(engine: Engine) -> list[BudgetRecord]:
    """Every budget, ordered by scope then period."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(BudgetRow).order_by(BudgetRow.scope_kind, BudgetRow.scope_value, BudgetRow.period)
        ).all()
        return [_record(r) for r in rows]


def delete_budget(engine: Engine, scope_kind: str, scope_value: str, period: str) -> bool:
    with session_scope(engine) as session:
        row = _find(session, scope_kind, scope_value, period)
        if row is None:
            return False
        session.delete(row)
        return True
