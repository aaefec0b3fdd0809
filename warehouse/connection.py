"""Opening the warehouse: a DuckDB file for ingest, an Ibis backend for queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import ibis

from domain.errors import DataError, ExternalError
from domain.redaction import redact
from warehouse.facts import CREATE_INGESTS_SQL, create_fact_table_sql

MEMORY_LIMIT = "2GB"


def connect_duckdb(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC with the fact tables created (unless read-only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise DataError(f"{path}: cannot open the warehouse ({str(exc).splitlines()[0]})") from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # our own progress goes to stderr via rich
    # Bounded memory: big ingests spill to the workspace instead of growing without limit.
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{path.parent / 'tmp'}'")
    if not read_only:
        con.execute(create_fact_table_sql())
        con.execute(CREATE_INGESTS_SQL)
    return con


def connect_staging(temp_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with empty fact tables, where files bound for another warehouse
    (PostgreSQL) are validated and staged; it spills to ``temp_dir`` like the file does."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{temp_dir}'")
    con.execute(create_fact_table_sql())
    con.execute(CREATE_INGESTS_SQL)
    return con


def connect_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection (many processes may read while one ingests; a process that holds
    the Ibis backend may open more). Readers check ``table_exists`` before querying a table that
    an ingest may not have created yet."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise DataError(f"{path}: cannot open the warehouse ({str(exc).splitlines()[0]})") from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'",
        [name],
    ).fetchall()  # fetch to the end: DuckDB refuses new work while a result is unfinished
    return bool(rows and rows[0][0])


@contextmanager
def load_transaction(con: duckdb.DuckDBPyConnection, source: Path, scratch: Path) -> Iterator[None]:
    """All-or-nothing load of one file: commit, or roll back and remove the half-written
    ``scratch`` file (rejected rows), turning DuckDB errors into one-line DataErrors."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        scratch.unlink(missing_ok=True)
        raise DataError(f"{source}: load failed, nothing loaded ({str(exc).splitlines()[0]})") from None
    except BaseException:
        con.execute("ROLLBACK")
        scratch.unlink(missing_ok=True)
        raise


def open_backend(target: Path | str, tag_aliases: dict[str, list[str]] | None = None) -> ibis.BaseBackend:
    """An Ibis backend over the warehouse: a DuckDB file path, a ``spark+parquet://`` lakehouse
    table (``tag_aliases`` derive the allocation dimensions it lacks; warehouse/spark.py) or any
    other Ibis URL (``postgresql://``, ``bigquery://``, ``snowflake://``, ``trino://``; see
    warehouse/README.md)."""
    text = str(target)
    if text.startswith("spark+parquet://"):
        from warehouse.spark import open_spark

        return open_spark(text, tag_aliases)
    if "://" in text:
        try:
            return ibis.connect(text)
        except Exception as exc:  # a driver's own error: server down, bad credentials, no backend
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExternalError(f"cannot connect to the warehouse {redact(text)}: {first[:300]}") from None
    path = Path(text)
    if not path.exists():
        raise DataError(f"{path}: no warehouse yet; run `costpilot ingest focus PATH` first")
    # Make sure the tables exist (an empty warehouse answers with zero rows, not an error); a
    # read-only look first, so a process already reading the file is not refused.
    probe = connect_reader(path)
    try:
        ready = table_exists(probe, "cost_facts")
    finally:
        probe.close()
    if not ready:
        connect_duckdb(path).close()
    backend = ibis.duckdb.connect(str(path), read_only=True)
    backend.raw_sql("SET TimeZone = 'UTC'")
    return backend
