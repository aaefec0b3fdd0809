"""The planner's vocabulary: one query for every dimension (the same values, in the same order,
as one query per dimension), kept in the workspace keyed by the warehouse file, recomputed when
the warehouse changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from services.catalog import CACHE_FILE, COST_DIMENSIONS, catalog, compute_catalog, refresh_catalog
from services.deps import Deps
from services.settings import load_settings
from warehouse.dimensions import resolve_dimension
from warehouse.query import distinct_values


@pytest.fixture
def ws(tmp_path: Path, focus_sample: Path) -> Path:
    from app.cli import main

    home = tmp_path / "ws"
    assert main(["--workspace", str(home), "ingest", "focus", str(focus_sample)]) == 0
    return home


def fresh(home: Path) -> Deps:
    return Deps(load_settings(home))


def test_one_query_gives_each_dimensions_values_most_spend_first(ws: Path) -> None:
    import duckdb

    deps = fresh(ws)
    values = compute_catalog(deps).values
    con = duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True)
    for name, dimension in COST_DIMENSIONS.items():
        assert set(values[name]) == set(distinct_values(deps.backend, dimension, limit=500)), name
        column = resolve_dimension(dimension, [])
        if column.startswith("x_"):
            assert values[name] == [], name  # the sample has no LLM rows
            continue
        rows = con.execute(
            f'SELECT CAST("{column}" AS VARCHAR), SUM(EffectiveCost) FROM cost_facts '
            f'WHERE "{column}" IS NOT NULL GROUP BY 1'
        ).fetchall()
        expected = [v for v, _ in sorted(rows, key=lambda r: (-r[1], r[0])) if v]  # ties by name
        assert values[name] == expected, name
    con.close()
    assert len(values["service"]) > 5 and len(values["region"]) > 1  # the sample has a few of each
    deps.close()


def test_the_vocabulary_is_cached_in_the_workspace_and_follows_the_warehouse(ws: Path) -> None:
    first = fresh(ws)
    values = catalog(first).values
    first.close()
    cached = json.loads((ws / CACHE_FILE).read_text())
    assert cached["values"] == values

    # A new process reads the file, not the warehouse: a planted value proves where it came from.
    cached["values"]["team"] = ["planted-team"]
    (ws / CACHE_FILE).write_text(json.dumps(cached))
    second = fresh(ws)
    assert catalog(second).values["team"] == ["planted-team"]
    assert "backend" not in second.__dict__  # the warehouse was never opened for it
    second.close()

    # Any write to the warehouse (an ingest) changes its size or mtime: the cache is not used.
    warehouse = ws / "warehouse.duckdb"
    stat = warehouse.stat()
    os.utime(warehouse, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = fresh(ws)
    assert catalog(third).values == values
    third.close()
    assert json.loads((ws / CACHE_FILE).read_text())["values"] == values  # rewritten


def test_a_corrupt_cache_is_recomputed_and_refresh_rewrites_it(ws: Path) -> None:
    deps = fresh(ws)
    expected = refresh_catalog(deps).values
    deps.close()
    (ws / CACHE_FILE).write_text("{not json")
    again = fresh(ws)
    assert catalog(again).values == expected
    assert json.loads((ws / CACHE_FILE).read_text())["values"] == expected
    again.close()


def test_no_warehouse_gives_an_empty_vocabulary_and_leaves_no_folder(tmp_path: Path) -> None:
    home = tmp_path / "nothing"
    deps = fresh(home)
    assert all(v == [] for v in catalog(deps).values.values())
    assert not home.exists()
