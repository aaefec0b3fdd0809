"""Copying the fact table between engines (e.g. the DuckDB file into PostgreSQL)."""

from __future__ import annotations

import ibis

from warehouse.facts import FACT_TABLE
from warehouse.table_cache import invalidate


def copy_facts(source: ibis.BaseBackend, target: ibis.BaseBackend, table: str = FACT_TABLE) -> int:
    """Replace ``table`` on ``target`` with the source's fact rows; returns the row count.

    Types carry over through Arrow: DECIMAL(38,12) → NUMERIC(38,12), TIMESTAMP → timestamp.
    """
    data = source.table(FACT_TABLE).to_pyarrow()
    target.create_table(table, data, overwrite=True)
    invalidate()  # the table was re-created: memoized schemas are stale
    return data.num_rows
