"""What the warehouse holds: the distinct values of every dimension a question may name.

The offline planner matches "the search team", "EC2" or "dev environments" against these actual
values (never invents a filter). One query computes every dimension at once; the result is kept per ``Deps`` and, for the DuckDB
warehouse, in the workspace (``cache/vocabulary.json``) keyed by the warehouse file's size and
modification time, so a new CLI process reads a small JSON file instead of scanning the facts.
Any write to the warehouse (an ingest) changes the key, and the next question recomputes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

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
CACHE_FILE = Path("cache") / "vocabulary.json"
# Bump when the query or the shape changes: a cached file of another version is recomputed.
CACHE_VERSION = f"2:{MAX_VALUES}:{','.join(f'{k}={v}' for k, v in COST_DIMENSIONS.items())}"


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    values: dict[str, list[str]]


class _CachedCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    fingerprint: dict[str, Any]
    values: dict[str, list[str]]


def catalog(deps: Deps) -> Catalog:
    """The dimension values, from this ``Deps``' memo, the workspace cache, or the warehouse."""
    cached = deps.cache.get("catalog")
    if isinstance(cached, Catalog):
        return cached
    fingerprint = warehouse_fingerprint(deps)
    result = _read_cache(deps, fingerprint) if fingerprint is not None else None
    if result is None:
        result = compute_catalog(deps)
        if fingerprint is not None:
            _write_cache(deps, fingerprint, result)
    deps.cache["catalog"] = result
    return result


def refresh_catalog(deps: Deps) -> Catalog:
    """Recompute and store the vocabulary now (after an ingest, so the next question is fast)."""
    deps.cache.pop("catalog", None)
    fingerprint = warehouse_fingerprint(deps)
    result = compute_catalog(deps)
    if fingerprint is not None:
        _write_cache(deps, fingerprint, result)
    deps.cache["catalog"] = result
    return result


def compute_catalog(deps: Deps) -> Catalog:
    """Every dimension's values from the warehouse (one query) plus the utilization workloads."""
    values: dict[str, list[str]] = {}
    try:
        backend = deps.backend
    except Exception:  # noqa: BLE001 - no warehouse yet: nothing to match against
        backend = None
    if backend is not None:
        values.update(_dimension_values(backend))
    values.update(_workloads(deps))
    return Catalog(values=values)


def _dimension_values(backend: Any) -> dict[str, list[str]]:
    """Each dimension's distinct values (null, empty and time dimensions left out), most spend
    first, at most MAX_VALUES each, in one query: the facts are grouped once by every dimension
    together (a few hundred combinations), then each dimension is summed from those groups."""
    import ibis

    from warehouse.dimensions import TIME_DIMENSIONS, resolve_dimension
    from warehouse.query import facts, to_arrow

    t = facts(backend)
    columns: dict[str, str] = {}
    for name, dimension in COST_DIMENSIONS.items():
        column = resolve_dimension(dimension, t.columns)
        if column not in TIME_DIMENSIONS and column in t.columns:
            columns[name] = column
    out: dict[str, list[str]] = {name: [] for name in COST_DIMENSIONS}
    if not columns:
        return out
    combos = t.group_by([t[c] for c in columns.values()]).aggregate(cost=t.EffectiveCost.sum())
    parts = [
        combos.filter(combos[column].notnull())
        .group_by(value=combos[column].cast("string"))
        .aggregate(cost=combos.cost.sum())
        .mutate(dim=ibis.literal(name))
        for name, column in columns.items()
    ]
    union = ibis.union(*parts, distinct=False)
    rank = ibis.row_number().over(group_by=union.dim, order_by=[ibis.desc(union.cost), union.value])
    ranked = union.mutate(rank=rank)
    query = (
        ranked.filter(ranked["rank"] < MAX_VALUES).select("dim", "value", "rank").order_by(["dim", "rank"])
    )
    for row in to_arrow(backend, query).to_pylist():
        if row["value"] not in (None, ""):
            out[str(row["dim"])].append(str(row["value"]))
    return out


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


# ----- the workspace cache -----
def warehouse_fingerprint(deps: Deps) -> dict[str, Any] | None:
    """Size and modification time of the DuckDB warehouse file and its WAL; None when there is
    no such file (another engine, or no warehouse yet): then nothing is cached on disk."""
    try:
        path = deps.warehouse_path
    except Exception:  # noqa: BLE001 - a URL warehouse: no file to key on
        return None
    files: dict[str, Any] = {}
    for item in (path, path.with_name(path.name + ".wal")):
        try:
            stat = item.stat()
        except OSError:
            if item == path:
                return None
            continue
        files[item.name] = [stat.st_size, stat.st_mtime_ns]
    return {"path": str(path.resolve()), "files": files}


def _cache_path(deps: Deps) -> Path:
    return deps.workspace.home / CACHE_FILE


def _read_cache(deps: Deps, fingerprint: dict[str, Any]) -> Catalog | None:
    try:
        stored = _CachedCatalog.model_validate_json(_cache_path(deps).read_bytes())
    except (OSError, ValidationError, ValueError):  # missing, unreadable or another shape
        return None
    if stored.version != CACHE_VERSION or stored.fingerprint != fingerprint:
        return None
    return Catalog(values=stored.values)


def _write_cache(deps: Deps, fingerprint: dict[str, Any], result: Catalog) -> None:
    """Write atomically (another process may read it meanwhile); a read-only workspace just
    goes without the cache."""
    target = _cache_path(deps)
    document = _CachedCatalog(version=CACHE_VERSION, fingerprint=fingerprint, values=result.values)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(document.model_dump(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
