"""Where an ingest writes: the workspace's DuckDB file, or a PostgreSQL warehouse.

Files are always validated and staged in DuckDB (the SQL of ``loader`` and the readers). With a
DuckDB file that is the warehouse itself; with ``postgresql://`` it is an in-memory DuckDB whose
rows go to PostgreSQL in one transaction (``warehouse.pg_ingest``). The rules that read what the
warehouse already holds (re-ingest, dataset currency, duplicate request ids, restatements) ask
the target, so they are the same on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from warehouse.connection import connect_duckdb
from warehouse.loader import BeforeCommit, StagedFile

# Runs one SQL statement on the warehouse with ``?`` placeholders; returns its rows (or []).
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Restate = Callable[[Query, list[StagedFile]], None]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: Path | str) -> bool:
    return str(target).startswith(POSTGRES_SCHEMES)


@dataclass
class IngestTarget:
    """One ingest's view of the warehouse."""

    con: duckdb.DuckDBPyConnection  # where files are validated and staged
    query: Query  # SQL on the warehouse itself
    publish: Callable[[duckdb.DuckDBPyConnection, list[StagedFile], Restate | None], None] | None = None
    known_currency: str | None = None  # the warehouse's one currency, when staged elsewhere
    # Which of these request ids the warehouse holds already (None: the staging table is the warehouse).
    known_request_ids: Callable[[list[str]], list[str]] | None = None

    def before_commit(self, restate: Restate | None = None) -> BeforeCommit:
        """What ``load_batch`` runs before its commit: the restatement rules, and with a remote
        warehouse the publication of the staged rows (committed there first)."""

        def run(con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> None:
            if self.publish is not None:
                self.publish(con, staged, restate)
            elif restate is not None:
                restate(self.query, staged)

        return run


@contextmanager
def open_ingest_target(warehouse: Path | str, rejected_dir: Path) -> Iterator[IngestTarget]:
    """The target for ``warehouse``: a DuckDB file path, or a ``postgresql://`` URL."""
    if is_postgres_url(warehouse):
        from warehouse.pg_ingest import postgres_target

        with postgres_target(str(warehouse), rejected_dir.parent / "tmp") as target:
            yield target
        return
    con = connect_duckdb(Path(warehouse))
    try:
        yield IngestTarget(con=con, query=lambda sql, params: con.execute(sql, list(params)).fetchall())
    finally:
        con.close()
