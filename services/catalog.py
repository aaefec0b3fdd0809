"""What the warehouse holds: the distinct values of every dimension a question may name.

The offline planner matches "the search team", "EC2" or "dev environments" against these actual
values (never invents a filter). Computed once per ``Deps`` (a long-lived server keeps it; the
CLI computes it once per process) with one grouped query per dimension.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from services.deps import Deps

# Planner dimension → warehouse dimension (see warehouse.dimensions.DIMENSIONS).
COST_DIMENSIONS: dict[str, str] = {
    "team": "team",
    "env": "env",
    "service": "service",
    "provider": "provider",
    "region": "region",
    "account": "account",
    "feature": "feature",
    "model": "model",
    "category": "service_category",
}
MAX_VALUES = 500  # a dimension with more values than this is matched by name only


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    values: dict[str, list[str]]


def catalog(deps: Deps) -> Catalog:
    cached = deps.cache.get("catalog")
    if isinstance(cached, Catalog):
        return cached
    values: dict[str, list[str]] = {}
    try:
        backend = deps.backend
    except Exception:  # noqa: BLE001 - no warehouse yet: nothing to match against
        backend = None
    if backend is not None:
        from warehouse.query import distinct_values

        for name, dimension in COST_DIMENSIONS.items():
            values[name] = distinct_values(backend, dimension, limit=MAX_VALUES)
    values.update(_workloads(deps))
    result = Catalog(values=values)
    deps.cache["catalog"] = result
    return result


def _workloads(deps: Deps) -> dict[str, list[str]]:
    """Namespaces and workloads with utilization samples (DuckDB warehouse only)."""
    try:
        path = deps.warehouse_path
    except Exception:  # noqa: BLE001 - another engine: no samples table
        return {}
    if not path.exists():
        return {}
    from warehouse.connection import connect_reader, table_exists

    con = connect_reader(path)
    try:
        if not table_exists(con, "utilization_samples"):
            return {}
        rows = con.execute(
            "SELECT DISTINCT namespace, workload FROM utilization_samples ORDER BY 1, 2 LIMIT 5000"
        ).fetchall()
    finally:
        con.close()
    return {
        "namespace": sorted({str(r[0]) for r in rows}),
        "workload": sorted({str(r[1]) for r in rows}),
    }
