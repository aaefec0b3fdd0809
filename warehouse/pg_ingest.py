"""Ingest into PostgreSQL (``COSTPILOT_WAREHOUSE_URL=postgresql://…``).

Files are validated and typed in an in-memory DuckDB exactly as for the DuckDB warehouse; the
loaded rows then go to PostgreSQL by ``COPY`` in one transaction that also records the ingests
and applies restatements, so a batch is all or nothing there too. The transaction holds an
advisory lock from its first read to its commit: two ingests (two replicas, a CronJob) run one
after the other, each seeing what the other committed. Money is ``NUMERIC(38, 12)``; the CSV
that carries the rows writes DuckDB's decimals exactly.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg

from domain.errors import DataError
from warehouse.connection import connect_staging
from warehouse.facts import CREATE_INGESTS_SQL, FACT_TABLE, INGESTS_TABLE, create_fact_table_sql
from warehouse.loader import StagedFile
from warehouse.sql import ident, literal
from warehouse.targets import IngestTarget, Restate

# pg_advisory_xact_lock key of costpilot's ingest (any fixed 64-bit number; "costpilt" in ASCII).
INGEST_LOCK = 0x636F737470696C74 - 2**63
_ID_CHUNK = 50_000  # request ids asked about per query (a month of gateway logs can hold millions)
_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS {FACT_TABLE}_source ON {FACT_TABLE} (x_source_sha256)",
    f'CREATE INDEX IF NOT EXISTS {FACT_TABLE}_account_period ON {FACT_TABLE} ("BillingAccountId", "BillingPeriodStart")',
    f"CREATE INDEX IF NOT EXISTS {FACT_TABLE}_request ON {FACT_TABLE} (x_request_id)",
    f'CREATE INDEX IF NOT EXISTS {FACT_TABLE}_charge_start ON {FACT_TABLE} ("ChargePeriodStart")',
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresWarehouse:
    """One ingest's PostgreSQL transaction, from the lock to the commit."""

    def __init__(self, url: str) -> None:
        try:
            self.conn = psycopg.connect(url, connect_timeout=10)
        except psycopg.Error as exc:
            # The server's message names host and database, never the password.
            raise DataError(f"PostgreSQL warehouse: cannot connect ({_first_line(exc)})") from None
        self.query("SELECT pg_advisory_xact_lock(?)", [INGEST_LOCK])
        self.query(create_fact_table_sql(), [])
        self.query(CREATE_INGESTS_SQL, [])
        for statement in _INDEXES:
            self.query(statement, [])

    def query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run ``sql`` with ``?`` placeholders (the loader's SQL has no other ``?`` or ``%``)."""
        try:
            cursor = self.conn.execute(sql.replace("?", "%s"), list(params))  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            raise DataError(f"PostgreSQL warehouse: {_first_line(exc)}") from None

    def currency(self) -> str | None:
        rows = self.query(f'SELECT DISTINCT "BillingCurrency" FROM {FACT_TABLE} LIMIT 2', [])
        return str(rows[0][0]) if len(rows) == 1 else None

    def known_request_ids(self, ids: list[str]) -> list[str]:
        found: list[str] = []
        for start in range(0, len(ids), _ID_CHUNK):
            rows = self.query(
                f"SELECT DISTINCT x_request_id FROM {FACT_TABLE} WHERE x_request_id = ANY(?)",
                [ids[start : start + _ID_CHUNK]],
            )
            found.extend(str(r[0]) for r in rows)
        return found

    def seed(self, staging: duckdb.DuckDBPyConnection) -> None:
        """Copy the ingests record into the staging DuckDB (re-ingest and ``--append`` read it)."""
        rows = self.query(f"SELECT * FROM {INGESTS_TABLE}", [])
        if rows:
            staging.executemany(f"INSERT INTO {INGESTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def publish(
        self,
        staging: duckdb.DuckDBPyConnection,
        staged: list[StagedFile],
        restate: Restate | None,
        scratch_dir: Path,
    ) -> None:
        """Write the staged rows and ingests, apply restatements, commit."""
        loaded = [s for s in staged if s.status.value == "loaded"]
        if loaded:
            for name in dict.fromkeys(c for s in loaded for c in s.spec.extra_columns):
                self.query(f"ALTER TABLE {FACT_TABLE} ADD COLUMN IF NOT EXISTS {ident(name)} VARCHAR", [])
            self._copy_rows(staging, scratch_dir)
            shas = [s.spec.sha256 for s in loaded]
            rows = staging.execute(
                f"SELECT * FROM {INGESTS_TABLE} WHERE sha256 IN ({', '.join('?' * len(shas))})", shas
            ).fetchall()
            try:
                with self.conn.cursor() as cursor:
                    cursor.executemany(f"INSERT INTO {INGESTS_TABLE} VALUES ({', '.join(['%s'] * 10)})", rows)
            except psycopg.Error as exc:
                raise DataError(f"PostgreSQL warehouse: {_first_line(exc)}") from None
            if restate is not None:
                restate(self.query, staged)
        try:
            self.conn.commit()
        except psycopg.Error as exc:
            raise DataError(f"PostgreSQL warehouse: commit failed ({_first_line(exc)})") from None

    def _copy_rows(self, staging: duckdb.DuckDBPyConnection, scratch_dir: Path) -> None:
        """Every staged row into PostgreSQL by COPY (through a CSV file in the workspace)."""
        columns = [str(r[0]) for r in staging.execute(f"DESCRIBE {FACT_TABLE}").fetchall()]
        folder = Path(tempfile.mkdtemp(prefix="pg-copy-", dir=scratch_dir))
        try:
            csv_file = folder / "rows.csv"
            # DuckDB writes NULL as an empty field and '' as "" — PostgreSQL's CSV convention.
            staging.execute(f"COPY {FACT_TABLE} TO {literal(str(csv_file))} (HEADER false)")
            names = ", ".join(ident(c) for c in columns)
            try:
                with (
                    self.conn.cursor() as cursor,
                    cursor.copy(f"COPY {FACT_TABLE} ({names}) FROM STDIN WITH (FORMAT csv)") as copy,
                    csv_file.open("rb") as handle,
                ):
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
            except psycopg.Error as exc:
                raise DataError(f"PostgreSQL warehouse: {_first_line(exc)}") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        self.conn.close()  # an uncommitted transaction rolls back


@contextmanager
def postgres_target(url: str, scratch_dir: Path) -> Iterator[IngestTarget]:
    """An ingest target that stages in memory and publishes to PostgreSQL."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    pg = PostgresWarehouse(url)
    try:
        staging = connect_staging(scratch_dir)
        try:
            pg.seed(staging)
            yield IngestTarget(
                con=staging,
                query=pg.query,
                publish=lambda con, staged, restate: pg.publish(con, staged, restate, scratch_dir),
                known_currency=pg.currency(),
                known_request_ids=pg.known_request_ids,
            )
        finally:
            staging.close()
    finally:
        pg.close()
