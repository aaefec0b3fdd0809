"""The application-state database (sqlmodel): SQLite in the workspace or PostgreSQL.

Every table module in ``store/`` defines its ``SQLModel`` tables with ``table=True``;
``create_engine_for`` + ``init_db`` create them all. Callers pass the engine explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from domain.errors import ConfigError


def create_engine_for(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://…`` (psycopg2 driver)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError(
            f"COSTPILOT_DATABASE_URL: unsupported database {url.split(':')[0]!r} (sqlite or postgresql)"
        )
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets readers and one writer work at once; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> None:
    """Create every table registered on SQLModel.metadata (idempotent)."""
    import store.tables  # noqa: F401  - registers every table module

    SQLModel.metadata.create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
