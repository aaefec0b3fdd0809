"""Change between two periods by any dimensions: top movers and their share of the delta."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import ibis
from pydantic import BaseModel, ConfigDict, Field, model_serializer

from domain.errors import DataError
from domain.money import Money, decimal_str
from domain.period import Period
from domain.provenance import Provenance
from warehouse.config import ALLOCATION_DIMENSIONS, UNTAGGED
from warehouse.facts import FACT_TABLE
from warehouse.query import resolve_dimensions, spend_breakdown

RATIO = Decimal("0.0001")


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole == 0 else (part / whole).quantize(RATIO, rounding=ROUND_HALF_EVEN)


class Mover(BaseModel):
    """One group's spend in both periods (JSON: the --by dimensions at top level)."""

    model_config = ConfigDict(frozen=True)

    dims: dict[str, str]
    current: Money
    previous: Money
    delta: Money
    delta_pct: Decimal | None = Field(description="delta / previous as a ratio; None when previous is 0")
    share_of_delta: Decimal | None = Field(description="delta / total delta; None when the total is 0")

    @model_serializer(mode="plain")
    def _flat(self) -> dict[str, Any]:
        def text(v: Decimal | None) -> str | None:
            return None if v is None else decimal_str(v)

        return {
            **self.dims,
            "current": decimal_str(self.current),
            "previous": decimal_str(self.previous),
            "delta": decimal_str(self.delta),
            "delta_pct": text(self.delta_pct),
            "share_of_delta": text(self.share_of_delta),
        }


class MoversResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    period: Period
    compare: Period
    by: list[str]
    currency: str | None
    current_total: Money
    previous_total: Money
    delta: Money
    delta_pct: Decimal | None
    movers: list[Mover]
    untagged_share: dict[str, Decimal | None] = Field(
        default_factory=dict,
        description="per allocation dimension in --by: untagged cost / total (current period)",
    )
    notes: list[str] = Field(default_factory=list, description="why the comparison may mislead")
    provenance: Provenance


def compute_movers(
    current: list[dict[str, Any]], previous: list[dict[str, Any]], by: list[str], top: int = 10
) -> tuple[list[Mover], Decimal, Decimal, dict[str, Decimal | None]]:
    """Pure: rows ``{dims…, "cost"}`` of two periods → (top movers by |delta|, totals, untagged shares)."""

    def keyed(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], Decimal]:
        out: dict[tuple[str, ...], Decimal] = {}
        for row in rows:
            key = tuple(str(row[name]) for name in by)
            out[key] = out.get(key, Decimal(0)) + row["cost"]
        return out

    now, before = keyed(current), keyed(previous)
    total_now, total_before = sum(now.values(), Decimal(0)), sum(before.values(), Decimal(0))
    total_delta = total_now - total_before
    movers = []
    for key in set(now) | set(before):
        cur, prev = now.get(key, Decimal(0)), before.get(key, Decimal(0))
        delta = cur - prev
        movers.append(
            Mover(
                dims=dict(zip(by, key, strict=True)),
                current=cur,
                previous=prev,
                delta=delta,
                delta_pct=_ratio(delta, prev),
                share_of_delta=_ratio(delta, total_delta),
            )  # fmt: skip
        )
    movers.sort(key=lambda m: (-abs(m.delta), tuple(m.dims.values())))
    untagged = {
        name: _ratio(sum((v for k, v in now.items() if k[i] == UNTAGGED), Decimal(0)), total_now)
        for i, name in enumerate(by)
        if name in ALLOCATION_DIMENSIONS
    }
    return movers[:top], total_now, total_before, untagged


def comparison_notes(period: Period, compare: Period, rows_now: int, rows_before: int) -> list[str]:
    """Pure: warnings a reader of a period-over-period change needs."""
    notes = []
    if period.days != compare.days:
        notes.append(f"the periods differ in length ({period.days} vs {compare.days} days)")
    if rows_before == 0:
        notes.append(f"no cost rows in {compare.label()}: every cost counts as new")
    if rows_now == 0:
        notes.append(f"no cost rows in {period.label()}: every cost counts as gone")
    return notes


def movers(
    backend: ibis.BaseBackend,
    period: Period,
    by: list[str],
    compare: Period | None = None,
    filters: dict[str, list[str]] | None = None,
    top: int = 10,
    table: str = FACT_TABLE,
) -> MoversResult:
    """Spend change from ``compare`` (default: the same length just before) to ``period``."""
    compare = compare or period.previous()
    resolve_dimensions(by, backend, table)
    now = spend_breakdown(backend, period, by, filters, table=table)
    before = spend_breakdown(backend, compare, by, filters, table=table)
    if now.rows_scanned == 0 and before.rows_scanned == 0:
        raise DataError(
            f"no cost rows in {period.label()} nor in {compare.label()}; check the periods and filters"
        )
    if now.currency and before.currency and now.currency != before.currency:
        raise DataError(f"the periods are billed in different currencies ({now.currency}, {before.currency})")
    rows, total_now, total_before, untagged = compute_movers(now.rows, before.rows, by, top)
    delta = total_now - total_before
    notes = comparison_notes(period, compare, now.rows_scanned, before.rows_scanned)
    return MoversResult(
        period=period, compare=compare, by=by, currency=now.currency or before.currency,
        current_total=total_now, previous_total=total_before, delta=delta,
        delta_pct=_ratio(delta, total_before), movers=rows, untagged_share=untagged, notes=notes,
        provenance=Provenance(
            tool="movers", engine=now.engine, query=now.sql, period=period,
            filters={k: ",".join(v) for k, v in (filters or {}).items()},
            rows_scanned=now.rows_scanned + before.rows_scanned,
        ),
    )  # fmt: skip
