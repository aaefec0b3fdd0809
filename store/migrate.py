"""Applying the Alembic migrations of ``store/migrations`` once, under a lock.

Two replicas (or a CLI command and ``serve``) may open a fresh database at the same moment; each
takes a lock first and the second finds the schema already at the head:

- PostgreSQL: ``pg_advisory_xact_lock`` on a key derived from the database and schema, held by
  the migration's own transaction (PostgreSQL DDL is transactional, so a failed migration
  leaves nothing behind);
- SQLite: ``BEGIN IMMEDIATE`` on a connection of its own (pysqlite would otherwise run DDL
  outside any transaction), which takes the database's write lock and makes the migration
  atomic too. Waiting is bounded by the busy timeout.

A database made before migrations existed (``create_all`` plus a hand-written ``ALTER TABLE``)
carries no version table; the initial revision adopts it (see ``versions/0001_initial.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlmodel import create_engine

from store.db import SQLITE_BUSY_TIMEOUT_SECONDS, VERSION_TABLE, sqlite_pragmas

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# VERSION_TABLE is not Alembic's default name: the state database may be shared with other
# Alembic-managed apps.


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config for ``store/migrations`` (no ini file: the package carries everything).

    With ``connection`` the migrations run on it, inside the caller's transaction; with ``url``
    ``env.py`` opens its own engine (the ``alembic`` command line)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_table", VERSION_TABLE)
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision id shipped with this costpilot."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - packaging error: the versions folder is missing
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty or pre-migration database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def _run(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _lock_key(connection: Connection) -> int:
    """A signed 64-bit advisory-lock key for this database and schema (schemas migrate apart)."""
    row = connection.execute(text("SELECT current_database(), current_schema()")).one()
    digest = hashlib.sha256(f"costpilot-store-migrate\n{row[0]}\n{row[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _upgrade_postgresql(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        # Released when this transaction ends: a process that dies mid-migration frees it.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(conn)})
        _run(conn, revision)


def _upgrade_sqlite(engine: Engine, revision: str) -> None:
    database = engine.url.database
    if not database or database == ":memory:":
        # Private to this engine: nobody to race with, and a second engine would be another DB.
        with engine.begin() as conn:
            _run(conn, revision)
        return
    locked = create_engine(
        engine.url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    )

    @event.listens_for(locked, "connect")
    def _manual_transactions(dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        sqlite_pragmas(dbapi_conn, record)
        dbapi_conn.isolation_level = None  # we say BEGIN ourselves, so DDL is inside it

    @event.listens_for(locked, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locked.begin() as conn:
            _run(conn, revision)
    finally:
        locked.dispose()


# Keyed by SQLAlchemy backend name; ``store.db.normalize_url`` admits only these.
LOCKED_UPGRADES: dict[str, Callable[[Engine, str], None]] = {
    "postgresql": _upgrade_postgresql,
    "sqlite": _upgrade_sqlite,
}


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate ``engine``'s database to ``revision`` (default: the newest), once, under a lock."""
    LOCKED_UPGRADES[engine.dialect.name](engine, revision)
