"""The application-state database (sqlmodel): SQLite in the workspace or PostgreSQL (psycopg 3).

``open_engine(url)`` is the one way in: it normalises the URL, connects once (a database that
refuses connections is one ``ExternalError`` line naming it, password redacted) and applies the
Alembic migrations of ``store/migrations`` (``migrate``), safe when two processes start at once.
Callers pass the engine explicitly.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlmodel import Session, create_engine

from domain.errors import ConfigError, ExternalError

SETTING = "COSTPILOT_DATABASE_URL"
# The one PostgreSQL driver: users write postgres:// or postgresql://, SQLAlchemy needs the dialect.
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}
PG_CONNECT_TIMEOUT_SECONDS = 10
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def redact_url(url: str | URL) -> str:
    """The URL with its password shown as ``***`` (also for strings SQLAlchemy cannot parse)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def normalize_url(url: str) -> URL:
    """``sqlite:///PATH`` or a PostgreSQL URL on the psycopg 3 driver; anything else is a
    ``ConfigError`` naming the setting (password redacted)."""
    raw = url.strip()
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme in _POSTGRES_SCHEMES:
        raw = "postgresql+psycopg://" + raw.split("://", 1)[1]
    elif scheme not in _SQLITE_SCHEMES:
        shown = scheme or redact_url(raw)
        raise ConfigError(
            f"{SETTING}: unsupported database {shown!r} (sqlite:///PATH or postgresql://USER@HOST/DB)"
        )
    try:
        return make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"{SETTING}: {redact_url(url)!r} is not a database URL ({exc})") from None


def create_engine_for(url: str | URL) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://…`` (psycopg 3); nothing is connected
    or created yet (``open_engine`` does both)."""
    parsed = normalize_url(url.render_as_string(hide_password=False) if isinstance(url, URL) else url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
        event.listen(engine, "connect", sqlite_pragmas)
        return engine
    connect_args = (
        {} if "connect_timeout" in parsed.query else {"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS}
    )
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers and one writer work at once; foreign keys are off by default.
    cur = dbapi_conn.cursor()
    try:
        if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _switch_to_wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


def _switch_to_wal(cur) -> None:  # type: ignore[no-untyped-def]
    """Switching a new file to WAL needs its exclusive lock, and SQLite answers "database is
    locked" at once (no busy wait: it would deadlock) while another process does the same; the
    mode is kept in the file, so only the first opens of a fresh database ever retry here."""
    for attempt in range(_WAL_ATTEMPTS):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


_WAL_ATTEMPTS = 40  # about 8 s of back-off in all


def check_connection(engine: Engine) -> None:
    """Connect once; a database that is down or refuses us is one line naming it."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        raise ExternalError(connection_error(engine, exc)) from None


def connection_error(engine: Engine, exc: DBAPIError) -> str:
    """``cannot connect to the state database URL: <first line of the driver's reason>``."""
    lines = [line.strip() for line in str(exc.orig or exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc.orig or exc).__name__
    reason = reason.removeprefix("connection failed: ")
    password = engine.url.password
    if password:  # a driver could echo it; never show it
        reason = reason.replace(str(password), "***")
    # Named as users write it (postgresql://, not SQLAlchemy's postgresql+psycopg://).
    shown = redact_url(engine.url.set(drivername=engine.url.get_backend_name()))
    return f"cannot connect to the state database {shown}: {reason}"


# The newest revision under store/migrations/versions (``tests/store`` pins it to Alembic's head):
# a database already there is opened without importing Alembic (about 0.15 s per process).
SCHEMA_HEAD = "0003"
VERSION_TABLE = "costpilot_schema_version"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a database made before migrations is adopted);
    run under a lock, so replicas starting together migrate once."""
    check_connection(engine)  # a refused connection is the user's problem, said in one line
    if schema_version(engine) == SCHEMA_HEAD:
        return
    from store.migrate import upgrade  # Alembic is imported only when there is work for it

    upgrade(engine)


def schema_version(engine: Engine) -> str | None:
    """The database's migration revision; None when it has none (new, or made before migrations)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    except DBAPIError:  # no version table yet
        return None
    return rows[0] if len(rows) == 1 else None


def open_engine(url: str | URL, *, audit_key: str | None = None, secrets_file: Path | None = None) -> Engine:
    """The state database at ``url``, connected and migrated to the newest schema, its audit
    chain signed with ``audit_key`` (else ``COSTPILOT_AUDIT_KEY``, else the key in
    ``secrets_file`` — generated there when missing; see ``store.audit_key``)."""
    from store import audit
    from store import audit_key as keys

    engine = create_engine_for(url)
    migrate(engine)
    known = keys.registered(engine)
    if known is None or audit_key is not None or secrets_file is not None:
        known = keys.register(
            engine.url, keys.resolve(engine.url, configured=audit_key, secrets_file=secrets_file)
        )
    if known.created:
        # The one moment a chain from before the key (and the proposals stored so far) is sealed:
        # a key generated now never signed anything, so nothing keyed can be laundered.
        audit.rekey(engine)
        keys.register(engine.url, keys.AuditKey(known.secret, known.source, created=False))
    return engine


def init_db(engine: Engine) -> None:
    """Older name of ``migrate`` (the budget commands call it on an engine of their own)."""
    migrate(engine)


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
