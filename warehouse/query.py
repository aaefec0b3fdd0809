"""The query layer, written once in Ibis: the same expressions run on DuckDB and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from domain.errors import DataError, InputError
from domain.period import Period
from warehouse.connection import open_backend
from warehouse.dimensions import MEASURES, TIME_DIMENSIONS, resolve_dimension
from warehouse.facts import FACT_TABLE
from warehouse.table_cache import cached_table

__all__ = ["BreakdownResult", "daily_costs", "facts", "open_backend", "resolve_dimensions", "spend_breakdown"]

NONE_LABEL = "(none)"


@dataclass(frozen=True)
class BreakdownResult:
    """Rows of ``{dimension names as given…, "cost": Decimal, "rows": int}`` plus scope facts."""

    rows: list[dict[str, Any]]
    currency: str | None
    rows_scanned: int
    sql: str
    engine: str


def to_arrow(backend: ibis.BaseBackend, expr: ir.Table) -> Any:
    """A pyarrow Table of ``expr``. On DuckDB the compiled SQL runs on the backend's own
    connection: Ibis' ``to_pyarrow`` loads its pandas converter first, 0.4 s on every CLI call.
    The SQL is Ibis' own, so both paths run the same query."""
    if backend.name == "duckdb":
        return backend.con.sql(str(backend.compile(expr))).to_arrow_table()
    return expr.to_pyarrow()


def facts(backend: ibis.BaseBackend, table: str = FACT_TABLE) -> ir.Table:
    """The fact table's expression, memoized per backend (an ingest here invalidates it)."""
    return cached_table(backend, table)


def resolve_dimensions(names: list[str], backend: ibis.BaseBackend, table: str = FACT_TABLE) -> list[str]:
    """Validate dimension names against the registry and the table (InputError lists valid ones)."""
    columns = facts(backend, table).columns
    return [resolve_dimension(name, columns) for name in names]


def _dimension_expr(t: ir.Table, name: str, column: str) -> ir.Value:
    if column == "day":
        return t.ChargePeriodStart.date().name(name)
    if column == "month":
        return t.ChargePeriodStart.truncate("M").date().name(name)
    if column not in t.columns:  # an x_ column no file has brought yet
        return ibis.literal(NONE_LABEL).name(name)
    return t[column].cast("string").fill_null(NONE_LABEL).name(name)


def scoped(
    backend: ibis.BaseBackend,
    period: Period,
    filters: dict[str, list[str]] | None = None,
    table: str = FACT_TABLE,
) -> ir.Table:
    """Fact rows charged inside the period and matching every filter (values OR-ed per key)."""
    t = facts(backend, table)
    expr = t.filter(t.ChargePeriodStart >= period.start_ts, t.ChargePeriodStart < period.end_ts_exclusive)
    for key, values in (filters or {}).items():
        column = resolve_dimension(key, t.columns)
        if column in TIME_DIMENSIONS:
            raise InputError(f"filter {key}: filter time with the period instead")
        value = _dimension_expr(expr, key, column)
        expr = expr.filter(value.isin(values))
    return expr


def _currency(backend: ibis.BaseBackend, scope: ir.Table) -> str | None:
    currencies = to_arrow(backend, scope.select("BillingCurrency").distinct().limit(3))
    currencies = currencies.column(0).to_pylist()
    if len(currencies) > 1:
        raise DataError(
            f"the selection mixes currencies ({', '.join(sorted(map(str, currencies)))}); "
            "filter by one (e.g. --filter BillingCurrency=USD) or configure an FX table"
        )
    return currencies[0] if currencies else None


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}; use one of: {', '.join(MEASURES)}")


def spend_breakdown(
    backend: ibis.BaseBackend,
    period: Period,
    by: list[str],
    filters: dict[str, list[str]] | None = None,
    measure: str = "EffectiveCost",
    table: str = FACT_TABLE,
) -> BreakdownResult:
    """Total ``measure`` per combination of ``by`` dimensions, largest first (exact Decimals)."""
    _check_measure(measure)
    scope = scoped(backend, period, filters, table)
    columns = facts(backend, table).columns
    keys = [_dimension_expr(scope, name, resolve_dimension(name, columns)) for name in by]
    if keys:
        agg = scope.group_by(keys).aggregate(cost=scope[measure].sum(), rows=scope.count())
        agg = agg.order_by([ibis.desc("cost"), *by])
    else:
        agg = scope.aggregate(cost=scope[measure].sum(), rows=scope.count())
    data = to_arrow(backend, agg).to_pylist()
    rows_scanned = sum(int(r["rows"]) for r in data)
    rows = [
        {**{name: _plain(r[name]) for name in by}, "cost": r["cost"] or Decimal(0), "rows": int(r["rows"])}
        for r in data
        if r["rows"]
    ]
    return BreakdownResult(
        rows=rows,
        currency=_currency(backend, scope) if rows_scanned else None,
        rows_scanned=rows_scanned,
        sql=str(ibis.to_sql(agg)),
        engine=backend.name,
    )


def distinct_values(
    backend: ibis.BaseBackend, name: str, limit: int = 500, table: str = FACT_TABLE
) -> list[str]:
    """The distinct values of a dimension (``(none)`` left out), most spend first."""
    t = facts(backend, table)
    column = resolve_dimension(name, t.columns)
    if column in TIME_DIMENSIONS or column not in t.columns:
        return []
    value = t[column].cast("string").name("value")
    agg = (
        t.filter(t[column].notnull())
        .group_by(value)
        .aggregate(cost=t.EffectiveCost.sum())
        .order_by(ibis.desc("cost"))
        .limit(limit)
    )
    return [str(r["value"]) for r in to_arrow(backend, agg).to_pylist() if r["value"] not in (None, "")]


def daily_costs(
    backend: ibis.BaseBackend,
    period: Period,
    by: list[str],
    filters: dict[str, list[str]] | None = None,
    measure: str = "EffectiveCost",
    table: str = FACT_TABLE,
) -> Any:
    """A pandas DataFrame: ``day`` (date), one column per ``by`` dimension, ``cost`` (Decimal), ``rows``."""
    import pandas as pd

    result = spend_breakdown(backend, period, ["day", *by], filters, measure, table)
    frame = pd.DataFrame(result.rows, columns=["day", *by, "cost", "rows"])
    if not frame.empty:
        frame = frame.sort_values(["day", *by], kind="stable").reset_index(drop=True)
    frame.attrs.update(
        currency=result.currency, sql=result.sql, engine=result.engine, rows_scanned=result.rows_scanned
    )
    return frame


def _plain(value: Any) -> Any:
    """Dates stay dates; everything else a dimension holds is text."""
    return value if value is None or hasattr(value, "isoformat") else str(value)
