"""The audit log's hash chain: appends verify; edits, deletions and truncation are found."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from store import audit
from store.db import session_scope

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def append_events(engine: Engine, n: int, subject: str = "p1") -> None:
    for i in range(n):
        with session_scope(engine) as session:
            audit.append(session, actor=f"U{i}", action="approved", subject=subject, data={"i": i}, at=AT)


def test_chain_links_each_event_to_the_previous_one(engine: Engine) -> None:
    append_events(engine, 3)
    events = audit.events_for(engine, "p1")
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == audit.GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert events[1].at == "2026-11-23T09:30:00+00:00" and events[1].data == '{"i":1}'
    assert audit.verify(engine) == audit.AuditVerification(ok=True, events=3)


def test_empty_log_verifies(engine: Engine) -> None:
    assert audit.verify(engine) == audit.AuditVerification(ok=True, events=0)


def test_rollback_leaves_no_event_and_no_gap(sqlite_engine: Engine) -> None:
    append_events(sqlite_engine, 1)
    with pytest.raises(RuntimeError), session_scope(sqlite_engine) as session:
        audit.append(session, actor="U9", action="approved", subject="p1", at=AT)
        raise RuntimeError("the state change failed")
    append_events(sqlite_engine, 1)
    assert [e.seq for e in audit.events_for(sqlite_engine, "p1")] == [1, 2]
    assert audit.verify(sqlite_engine).ok


def _db_file(engine: Engine) -> Path:
    return Path(str(engine.url.database))


@pytest.mark.parametrize(
    ("sql", "bad_seq", "reason"),
    [
        ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2", 2, "content does not match its hash"),
        ("UPDATE audit_events SET data = '{\"i\":7}' WHERE seq = 3", 3, "content does not match its hash"),
        ("UPDATE audit_events SET data = 'not json' WHERE seq = 1", 1, "content does not match its hash"),
        ("DELETE FROM audit_events WHERE seq = 2", 2, "event 2 is missing"),
        ("DELETE FROM audit_events WHERE seq = 4", 4, "chain ends at event 3, head says 4"),
    ],
)
def test_tampering_in_sqlite_is_found_with_the_event(
    sqlite_engine: Engine, sql: str, bad_seq: int, reason: str
) -> None:
    append_events(sqlite_engine, 4)
    with sqlite3.connect(_db_file(sqlite_engine)) as conn:
        conn.execute(sql)
    result = audit.verify(sqlite_engine)
    assert (result.ok, result.bad_seq, result.reason) == (False, bad_seq, reason)


def test_rehashing_one_row_still_breaks_the_next_link(sqlite_engine: Engine) -> None:
    append_events(sqlite_engine, 3)
    forged = audit.event_hash(audit.GENESIS, 1, AT.isoformat(), "mallory", "approved", "p1", '{"i":0}')
    with sqlite3.connect(_db_file(sqlite_engine)) as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory', hash = ? WHERE seq = 1", (forged,))
    result = audit.verify(sqlite_engine)
    assert (result.ok, result.bad_seq, result.reason) == (False, 2, "previous-hash link broken")


def test_concurrent_appenders_never_fork_the_chain(engine: Engine) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                with session_scope(engine) as session:
                    audit.append(
                        session, actor=f"W{worker}", action="note", subject=f"s{worker}", data={"i": i}
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert audit.verify(engine) == audit.AuditVerification(ok=True, events=20)
