"""Spend totals and breakdowns over a period, exact to the last decimal the bill carries."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import ibis
from pydantic import BaseModel, ConfigDict, Field, model_serializer

from domain.errors import DataError
from domain.money import Money, decimal_str
from domain.period import Period
from domain.provenance import Provenance
from warehouse.query import spend_breakdown

SHARE_QUANTUM = Decimal("0.0001")


class SpendRow(BaseModel):
    """One group: its dimension values (under the names the user gave) and its cost."""

    model_config = ConfigDict(frozen=True)

    dims: dict[str, str]
    cost: Money
    share: Decimal | None = Field(None, description="cost / total, 4 decimals; None when total is 0")
    rows: int

    @model_serializer(mode="plain")
    def _flat(self) -> dict[str, Any]:
        # JSON rows carry the --by dimensions at the top level, as the CLI contract says.
        return {
            **self.dims,
            "cost": decimal_str(self.cost),
            "share": None if self.share is None else decimal_str(self.share),
            "rows": self.rows,
        }


class SpendResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    period: Period
    currency: str | None
    measure: str
    by: list[str]
    total: Money
    rows: list[SpendRow]
    provenance: Provenance


def _share(cost: Decimal, total: Decimal) -> Decimal | None:
    if total == 0:
        return None
    return (cost / total).quantize(SHARE_QUANTUM, rounding=ROUND_HALF_EVEN)


def spend(
    backend: ibis.BaseBackend,
    period: Period,
    by: list[str] | None = None,
    filters: dict[str, list[str]] | None = None,
    measure: str = "EffectiveCost",
    allow_empty: bool = False,
) -> SpendResult:
    """Total ``measure`` (USD or the bill's currency) over ``period``, broken down by ``by``."""
    by = by or []
    result = spend_breakdown(backend, period, by, filters, measure)
    if result.rows_scanned == 0 and not allow_empty:
        scope = f" with {_describe(filters)}" if filters else ""
        raise DataError(
            f"no cost rows in {period.label()}{scope}; check the period and filters, or ingest data first"
        )
    total = sum((r["cost"] for r in result.rows), Decimal(0))
    rows = [
        SpendRow(
            dims={name: _text(r[name]) for name in by},
            cost=r["cost"],
            share=_share(r["cost"], total),
            rows=r["rows"],
        )
        for r in result.rows
    ]
    flat_filters = {k: ",".join(v) for k, v in (filters or {}).items()}
    return SpendResult(
        period=period,
        currency=result.currency,
        measure=measure,
        by=by,
        total=total,
        rows=rows,
        provenance=Provenance(
            tool="spend",
            engine=result.engine,
            query=result.sql,
            period=period,
            filters=flat_filters,
            rows_scanned=result.rows_scanned,
        ),
    )


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _describe(filters: dict[str, list[str]] | None) -> str:
    return ", ".join(f"{k}={','.join(v)}" for k, v in (filters or {}).items())
