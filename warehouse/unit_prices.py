"""Node prices from the bill: USD per vCPU-hour and per GiB-hour out of ``cost_facts``.

Node rows carry ``ConsumedUnit`` ``vCPU-Hours`` or ``GiB-Hours``; the price is the exact ratio
sum(EffectiveCost) / sum(ConsumedQuantity) over the last ``days`` days of such rows, for the
cluster when rows are tagged with it (``Tags.cluster``), else over all clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from warehouse.connection import connect_reader, table_exists
from warehouse.facts import FACT_TABLE

CPU_UNIT = "vCPU-Hours"
MEMORY_UNIT = "GiB-Hours"


@dataclass(frozen=True)
class BillPrices:
    usd_per_vcpu_hour: Decimal
    usd_per_gib_hour: Decimal
    scope: str  # e.g. "cluster prod-eu-1, 2026-10-23..2026-11-22, 1,234 rows"


def bill_unit_prices(warehouse_path: Path, cluster: str | None = None, days: int = 30) -> BillPrices | None:
    """Prices from the bill, or None when it has no priced vCPU-hour and GiB-hour rows."""
    if not warehouse_path.exists():
        return None
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, FACT_TABLE):
            return None
        for scope_cluster in ([cluster] if cluster else []) + [None]:
            found = _query(con, scope_cluster, days)
            if found:
                return found
        return None
    finally:
        con.close()


def _query(con: duckdb.DuckDBPyConnection, cluster: str | None, days: int) -> BillPrices | None:
    where = f"ConsumedUnit IN ('{CPU_UNIT}', '{MEMORY_UNIT}') AND ConsumedQuantity > 0 AND EffectiveCost IS NOT NULL"
    params: list[object] = []
    if cluster:
        where += " AND json_extract_string(Tags, '$.cluster') = ?"
        params.append(cluster)
    rows = con.execute(
        f"""WITH scoped AS (SELECT * FROM {FACT_TABLE} WHERE {where}),
                 last AS (SELECT max(ChargePeriodStart) AS m FROM scoped)
            SELECT ConsumedUnit, sum(EffectiveCost), sum(ConsumedQuantity), count(*),
                   min(ChargePeriodStart)::DATE, max(ChargePeriodStart)::DATE
            FROM scoped, last WHERE ChargePeriodStart > last.m - INTERVAL {int(days)} DAY
            GROUP BY ConsumedUnit""",
        params,
    ).fetchall()
    by_unit = {r[0]: r for r in rows}
    if CPU_UNIT not in by_unit or MEMORY_UNIT not in by_unit:
        return None
    cpu, mem = by_unit[CPU_UNIT], by_unit[MEMORY_UNIT]
    count = cpu[3] + mem[3]
    where_text = f"cluster {cluster}" if cluster else "all clusters"
    return BillPrices(
        usd_per_vcpu_hour=(Decimal(cpu[1]) / Decimal(cpu[2])).quantize(Decimal("1e-9")),
        usd_per_gib_hour=(Decimal(mem[1]) / Decimal(mem[2])).quantize(Decimal("1e-9")),
        scope=f"{where_text}, node rows {min(cpu[4], mem[4])}..{max(cpu[5], mem[5])}, {count} rows",
    )
