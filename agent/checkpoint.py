"""The LangGraph checkpointer in the state database: the SQLite saver (WAL, busy timeout) beside
costpilot's tables in the workspace file, or the Postgres saver for ``postgresql://`` URLs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.deps import Deps

BUSY_TIMEOUT_MS = 30_000


@contextmanager
def open_checkpointer(deps: Deps) -> Iterator[Any]:
    url = deps.workspace.state_db_url(deps.settings.database_url)
    if url.startswith(("postgresql", "postgres")):
        from langgraph.checkpoint.postgres import PostgresSaver

        conn_url = url.split("://", 1)[1]
        with PostgresSaver.from_conn_string(f"postgresql://{conn_url.split('+', 1)[-1]}") as saver:
            _setup_once(url, saver)
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


def _setup_once(url: str, saver: Any) -> None:
    """Create the checkpoint tables once per process. Two replicas answering their first
    questions at once on a fresh database race on LangGraph's migration rows: the loser finds
    the row its rival just wrote, and a second pass sees the tables done."""
    if url in _SET_UP:
        return
    from psycopg import errors

    try:
        saver.setup()
    except errors.UniqueViolation:
        saver.setup()
    _SET_UP.add(url)


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
