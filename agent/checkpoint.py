"""The LangGraph checkpointer in the state database: the SQLite saver (WAL, busy timeout) beside
costpilot's tables in the workspace file, or the Postgres saver for ``postgresql://`` URLs."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from domain.errors import ExternalError
from services.deps import Deps

BUSY_TIMEOUT_MS = 30_000


@contextmanager
def open_checkpointer(deps: Deps) -> Iterator[Any]:
    url = deps.workspace.state_db_url(deps.settings.database_url)
    if url.startswith(("postgresql", "postgres")):
        from langgraph.checkpoint.postgres import PostgresSaver

        conn_url = url.split("://", 1)[1]
        libpq_url = f"postgresql://{conn_url.split('+', 1)[-1]}"
        with PostgresSaver.from_conn_string(libpq_url) as saver:
            _setup_once(url, libpq_url, saver)
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = url.removeprefix("sqlite:///")
    deps.workspace.ensure()
    conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


_SET_UP: set[str] = set()  # state DB URLs whose checkpoint tables this process has checked
_SET_UP_LOCK = threading.Lock()
# pg_advisory_lock key (signed 64-bit) held around LangGraph's migrations, in every process.
SETUP_LOCK_WAIT_SECONDS = 120
SETUP_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"costpilot:langgraph-checkpoint-setup").digest()[:8], "big", signed=True
)


def _setup_once(url: str, libpq_url: str, saver: Any) -> None:
    """Create the checkpoint tables once per process, one process at a time. LangGraph's
    ``setup`` inserts one row per migration; two replicas (or two threads) running it at once on
    a fresh database collide on those rows, and a retry can collide again on the next one. A
    PostgreSQL advisory lock, on a connection of its own, makes the migrations run in turn: the
    second finds them done (the lock is tried, not waited on: see ``_take``)."""
    with _SET_UP_LOCK:
        if url in _SET_UP:
            return
        import psycopg

        with psycopg.connect(libpq_url, autocommit=True) as lock:
            _take(lock)
            try:
                saver.setup()
            finally:
                lock.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
        _SET_UP.add(url)


def _take(lock: Any) -> None:
    """Try the lock between short pauses: a session waiting inside ``pg_advisory_lock`` keeps a
    snapshot open, and the holder's ``CREATE INDEX CONCURRENTLY`` would wait for it (deadlock)."""
    deadline = time.monotonic() + SETUP_LOCK_WAIT_SECONDS
    while not lock.execute("SELECT pg_try_advisory_lock(%s)", (SETUP_LOCK_KEY,)).fetchone()[0]:
        if time.monotonic() > deadline:
            raise ExternalError(
                f"the checkpoint tables' set-up lock was held for {SETUP_LOCK_WAIT_SECONDS} s by another process"
            )
        time.sleep(0.05)


@contextmanager
def sqlite_state(deps: Deps) -> Iterator[sqlite3.Connection | None]:
    """A plain connection to the SQLite state DB when the saver's tables exist there (for
    ``agent.thread_sqlite``); None for PostgreSQL or before the saver first created them."""
    url = deps.workspace.state_db_url(deps.settings.database_url)
    path = Path(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql", "postgres")) or not url.startswith("sqlite:///") or not path.is_file():
        yield None
        return
    from agent.thread_sqlite import has_tables

    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        yield conn if has_tables(conn) else None
    finally:
        conn.close()
