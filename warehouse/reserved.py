"""Reserved capacity of one workload over a time window, from the utilization samples' requests:
what the cluster set aside for it (core-hours and GiB-hours), the basis of realised savings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from warehouse.connection import connect_reader, table_exists
from warehouse.utilization import SAMPLES_TABLE

DEFAULT_STEP_HOURS = 5 / 60  # a series with one sample counts as one 5-minute scrape


@dataclass(frozen=True)
class Reserved:
    """Requests × time of one workload in ``[start, end)``; ``samples`` 0 means no data."""

    core_hours: Decimal
    gib_hours: Decimal
    samples: int
    first: datetime | None
    last: datetime | None


def reserved_capacity(
    warehouse_path: Path, namespace: str, kind: str, workload: str, start: datetime, end: datetime
) -> Reserved:
    """Σ request × scrape interval over every sample of the workload's pods in ``[start, end)``
    (naive UTC); a pod scaled away reserves nothing, so off-hours scaling shows as less."""
    empty = Reserved(Decimal(0), Decimal(0), 0, None, None)
    if not warehouse_path.exists():
        return empty
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, SAMPLES_TABLE):
            return empty
        row = con.execute(
            f"""WITH s AS (
                  SELECT pod, container, timestamp, cpu_request, memory_request,
                         epoch(timestamp - lag(timestamp) OVER (PARTITION BY pod, container ORDER BY timestamp))
                           / 3600.0 AS gap_h
                  FROM {SAMPLES_TABLE}
                  WHERE namespace = ? AND lower(workload_kind) = lower(?) AND workload = ?
                    AND timestamp >= ? AND timestamp < ?),
                steps AS (SELECT pod, container, coalesce(median(gap_h), ?) AS step_h FROM s GROUP BY ALL)
                SELECT sum(coalesce(cpu_request, 0) * step_h), sum(coalesce(memory_request, 0) / 1073741824.0 * step_h),
                       count(*), min(timestamp), max(timestamp)
                FROM s JOIN steps USING (pod, container)""",
            [namespace, kind, workload, start, end, DEFAULT_STEP_HOURS],
        ).fetchone()
    finally:
        con.close()
    if not row or not row[2]:
        return empty
    return Reserved(Decimal(str(row[0] or 0)), Decimal(str(row[1] or 0)), int(row[2]), row[3], row[4])
