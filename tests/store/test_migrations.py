"""Alembic migrations of the state database: the initial revision is the last release's schema,
a database made by that release is upgraded in place, the head matches the models, and two
processes opening a fresh database at once migrate it once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel
from store_samples import make_change, make_report

import store.tables  # noqa: F401  - every table on SQLModel.metadata
from store import audit
from store import proposals as store
from store.db import SCHEMA_HEAD, create_engine_for
from store.migrate import VERSION_TABLE, _lock_key, current_revision, head_revision, upgrade
from store.proposals import ProposalState

LEGACY = Path(__file__).parent / "legacy"
WORKER = Path(__file__).parent / "migrate_worker.py"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STUCK = '{"proposal_id":"p1","state":"approved","message":"approved; another process is opening the PR"}'
DONE = '{"proposal_id":"p2","state":"pr_opened","message":"approved by U1; opened file:///x"}'


@pytest.fixture
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the backend under test (parametrised by the test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return request.getfixturevalue("pg_schema_url")


def _statements(backend: str) -> list[str]:
    sql = (LEGACY / f"schema_v0_{backend}.sql").read_text()
    return [s.strip() for s in sql.split(";") if s.strip()]


def make_legacy_db(url: str) -> None:
    """The tables exactly as the last release before migrations created them, with its rows: a
    proposal with an open PR, a final and a stuck ("another process…") approval answer."""
    engine = create_engine_for(url)
    change = make_change()
    proposal = {
        "id": "p1",
        "playbook": change.playbook,
        "target_slug": change.target_slug,
        "branch": change.branch,
        "environment": "dev",
        "state": "pr_opened",
        "patch_sha256": change.patch_sha256,
        "change_json": change.model_dump_json(),
        "report_json": make_report(change).model_dump_json(),
        "blocked_rules": "",
        "requested_by": "bot",
        "created_at": NOW,
        "updated_at": NOW,
        "approved_by": "U1",
        "pr_url": "file:///x",
    }
    backend = "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
    with engine.begin() as conn:
        for statement in _statements(backend):
            conn.execute(text(statement))
        conn.execute(text("INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, :g)"), {"g": "0" * 64})
        conn.execute(
            text(
                f"INSERT INTO proposals ({', '.join(proposal)}) VALUES ({', '.join(':' + k for k in proposal)})"
            ),
            proposal,
        )
        for key, subject, result in (("slack:stuck", "p1", STUCK), ("slack:done", "p2", DONE)):
            conn.execute(
                text(
                    "INSERT INTO processed_events (key, action, subject, result, at) "
                    "VALUES (:k, 'approve', :s, :r, :at)"
                ),
                {"k": key, "s": subject, "r": result, "at": NOW},
            )
    engine.dispose()


def schema_of(engine: Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability, server default), keys and indexes, comparable."""
    insp = inspect(engine)
    schema: dict[str, Any] = {}
    for table in sorted(set(insp.get_table_names()) - {VERSION_TABLE}):
        schema[table] = {
            "columns": [
                (c["name"], c["type"].compile(dialect=engine.dialect), c["nullable"], c.get("default"))
                for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"]) for i in insp.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
            ),
        }
    return schema


def model_drift(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        return compare_metadata(context, SQLModel.metadata)


@pytest.mark.parametrize("fresh_url", BACKENDS, indirect=True)
def test_head_schema_is_what_the_models_declare(fresh_url: str) -> None:
    engine = store.open_store(fresh_url)
    assert current_revision(engine) == head_revision() == "0003"
    assert model_drift(engine) == []
    # The audit chain's head row is part of the schema: the first append needs it.
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, seq, last_hash FROM audit_head")).all() == [(1, 0, "0" * 64)]
    engine.dispose()


@pytest.mark.parametrize("fresh_url", BACKENDS, indirect=True)
def test_initial_revision_is_the_last_releases_schema(fresh_url: str, tmp_path: Path) -> None:
    migrated = create_engine_for(fresh_url)
    upgrade(migrated, "0001")
    if migrated.dialect.name == "sqlite":
        legacy_url = f"sqlite:///{tmp_path / 'legacy.sqlite'}"
    else:  # the same server, a second schema
        legacy_url = fresh_url.replace("search_path%3D", "search_path%3Dl")
        with psycopg.connect(fresh_url.split("?")[0], autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{legacy_url.rsplit("%3D", 1)[1]}"')
    try:
        legacy = create_engine_for(legacy_url)
        with legacy.begin() as conn:
            for statement in _statements("postgresql" if legacy.dialect.name == "postgresql" else "sqlite"):
                conn.execute(text(statement))
        assert schema_of(migrated) == schema_of(legacy)
        assert len(schema_of(legacy)) == 6
    finally:
        legacy.dispose()
        migrated.dispose()
        if "postgresql" in legacy_url:
            with psycopg.connect(fresh_url.split("?")[0], autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{legacy_url.rsplit("%3D", 1)[1]}" CASCADE')


@pytest.mark.parametrize("fresh_url", BACKENDS, indirect=True)
def test_a_workspace_db_of_the_last_release_is_upgraded_in_place(fresh_url: str) -> None:
    make_legacy_db(fresh_url)
    engine = store.open_store(fresh_url)
    assert current_revision(engine) == head_revision()
    assert model_drift(engine) == []
    # Its rows are still there and usable through the new states.
    kept = store.get(engine, "p1")
    assert (kept.state, kept.approved_by, kept.pr_url, kept.merged_at) == (
        ProposalState.pr_opened,
        "U1",
        "file:///x",
        None,
    )
    assert store.mark_merged(engine, "p1", actor="costpilot", now=NOW)
    assert store.get(engine, "p1").merged_at == NOW
    # The answer that stuck to its key for ever is pending now; a final one is still the answer.
    assert store.recall(engine, "slack:stuck") is None
    assert store.recall_entry(engine, "slack:stuck").final is False  # type: ignore[union-attr]
    assert store.recall(engine, "slack:done") == DONE
    assert audit.verify(engine).ok
    # Opening it again changes nothing.
    store.open_store(fresh_url).dispose()
    assert current_revision(engine) == head_revision()
    engine.dispose()


@pytest.mark.parametrize("fresh_url", BACKENDS, indirect=True)
def test_three_processes_opening_a_fresh_db_at_once_migrate_it_once(fresh_url: str) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), fresh_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for w in workers:  # every worker imported and waiting: then all start together
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = [w.communicate(timeout=120) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0, 0, 0], [err for _, err in results]
    assert [json.loads(out)["revision"] for out, _ in results] == [head_revision()] * 3
    engine = create_engine_for(fresh_url)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == ["0003"]
        assert conn.execute(text("SELECT count(*) FROM audit_head")).scalar() == 1
    assert model_drift(engine) == []
    engine.dispose()


def _blocked_while_locked(url: str, hold_lock) -> None:  # type: ignore[no-untyped-def]
    """Open the store in a thread while ``hold_lock`` holds the migration lock: it must wait."""
    opened: list[Engine] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(store.open_store(url))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    with hold_lock():
        thread = threading.Thread(target=open_it)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive() and not opened, "migrated while another process held the lock"
    thread.join(timeout=60)
    assert not errors, errors
    assert current_revision(opened[0]) == head_revision()
    opened[0].dispose()


def test_sqlite_migration_waits_for_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    url = f"sqlite:///{path}"

    class HoldWriteLock:
        def __enter__(self) -> None:
            self.conn = sqlite3.connect(path, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")

        def __exit__(self, *exc: object) -> None:
            self.conn.execute("COMMIT")
            self.conn.close()

    _blocked_while_locked(url, HoldWriteLock)


@pytest.mark.postgres
def test_postgres_migration_waits_for_the_advisory_lock(pg_schema_url: str) -> None:
    engine = create_engine_for(pg_schema_url)

    class HoldAdvisoryLock:
        def __enter__(self) -> None:
            self.conn = engine.connect()
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(self.conn)})

        def __exit__(self, *exc: object) -> None:
            self.conn.rollback()
            self.conn.close()

    try:
        _blocked_while_locked(pg_schema_url, HoldAdvisoryLock)
    finally:
        engine.dispose()


def test_in_memory_database_is_migrated_without_a_lock() -> None:
    engine = store.open_store("sqlite://")
    assert current_revision(engine) == head_revision()


def test_a_database_at_head_opens_without_loading_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    store.open_store(url).dispose()
    assert head_revision() == SCHEMA_HEAD  # the fast path's constant follows the revisions
    code = (
        "import sys; from store.db import open_engine; open_engine(sys.argv[1]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
