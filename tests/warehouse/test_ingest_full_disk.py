"""A full disk during ingest: one line, exit 2, the warehouse unchanged (DuckDB and PostgreSQL).

The disk is made to fill for real: the ingest runs in a child process whose file size limit
(RLIMIT_FSIZE, with SIGXFSZ ignored) makes every write past it fail with EFBIG, as a full
filesystem fails with ENOSPC — in DuckDB's WAL, the COPY file for PostgreSQL, wherever it hits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.tools.conftest import synthetic_rows, write_focus
from warehouse.config import WarehouseConfig
from warehouse.ingest_focus import ingest_focus_files

LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from app.cli import main
sys.exit(main(sys.argv[2:]))
"""
LIMIT = 400_000  # bytes: below what the bill's rows need (DuckDB's WAL, PostgreSQL's COPY file)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[str]:
    name = f"costpilot_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _state(warehouse: Path | str) -> tuple[int, Decimal, int]:
    sql = ('SELECT count(*), sum("EffectiveCost") FROM cost_facts', "SELECT count(*) FROM ingests")
    if isinstance(warehouse, Path):
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            (count, total), (ingests,) = (con.execute(q).fetchone() for q in sql)  # type: ignore[misc]
        finally:
            con.close()
    else:
        with psycopg.connect(warehouse) as conn:
            (count, total), (ingests,) = (conn.execute(q).fetchone() for q in sql)  # type: ignore[misc]
    return count, total, ingests


def _files(folder: Path) -> set[str]:
    """Files of the workspace but the log (which records the refusal) and DuckDB's empty WAL."""
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(".wal") and p.parent.name != "logs"
    }


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_full_disk_leaves_the_warehouse_unchanged(
    engine: str, tmp_path: Path, focus_sample: Path, request: pytest.FixtureRequest
) -> None:
    home = tmp_path / "ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSTPILOT_")}
    env.update(COSTPILOT_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    warehouse: Path | str = home / "warehouse.duckdb"
    if engine == "postgres":
        warehouse = env["COSTPILOT_WAREHOUSE_URL"] = request.getfixturevalue("pg_db")
    home.mkdir()
    ingest_focus_files(warehouse, [focus_sample], WarehouseConfig(), home / "rejected")
    bill = write_focus(tmp_path / "bill.csv", synthetic_rows())
    before, files_before = _state(warehouse), _files(home)

    def ingest(limit: int | None) -> subprocess.CompletedProcess[str]:
        limited = [LIMITED, str(limit)] if limit else ["from app.cli import run; run()"]
        return subprocess.run(
            [sys.executable, "-c", *limited, "ingest", "focus", str(bill)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    full = ingest(LIMIT)
    assert full.returncode == 2, full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in full.stderr, full.stderr
    assert "load failed" in lines[0] and "Could not write file" in lines[0], lines[0]
    assert lines[0].endswith("nothing loaded")
    assert _state(warehouse) == before
    assert _files(home) == files_before  # no rejected-rows or COPY file left behind
    # Space again: the same file loads (it was never marked as ingested).
    retry = ingest(None)
    assert retry.returncode == 0, retry.stderr
    assert _state(warehouse)[0] == before[0] + 1440
