"""The keyed audit chain (issue #14 item 2): HMAC-SHA256 with a key outside the database; chains
from before the key are sealed once, when the key is generated; another key does not verify."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.errors import ConfigError
from store import audit, audit_key
from store.db import session_scope
from store.proposals import open_store

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def write_legacy_events(db: Path, n: int) -> None:
    """Events as costpilot wrote them before the key: plain SHA-256 links."""
    prev = audit.GENESIS
    with sqlite3.connect(db) as conn:
        for seq in range(1, n + 1):
            data = f'{{"i":{seq}}}'
            digest = audit.event_hash(prev, seq, AT.isoformat(), "U1", "note", "p1", data)
            conn.execute(
                "INSERT INTO audit_events (seq, at, actor, action, subject, data, prev_hash, hash) "
                "VALUES (?, ?, 'U1', 'note', 'p1', ?, ?, ?)",
                (seq, AT.isoformat(), data, prev, digest),
            )
            prev = digest
        conn.execute("UPDATE audit_head SET seq = ?, last_hash = ? WHERE id = 1", (n, prev))


@pytest.fixture
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit_key.ENV, raising=False)
    monkeypatch.delenv("COSTPILOT_HOME", raising=False)


def test_a_chain_from_before_the_key_is_sealed_once_when_the_key_is_generated(
    tmp_path: Path, no_env_key: None
) -> None:
    db = tmp_path / "state.sqlite"
    url = f"sqlite:///{db}"
    open_store(url).dispose()
    write_legacy_events(db, 3)
    (tmp_path / "secrets.toml").unlink()  # as an older costpilot left the workspace: no key yet
    audit_key.unregister(url)
    engine = open_store(url)
    events = audit.events_for(engine, "audit")
    assert [e.action for e in events] == ["audit_rekeyed"] and events[0].seq == 4
    assert audit.verify(engine) == audit.AuditVerification(ok=True, events=4, legacy_events=3)
    open_store(url).dispose()  # a second open seals nothing again
    assert audit.verify(engine).events == 4
    with sqlite3.connect(db) as conn:  # a sealed legacy row edited still shows
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    result = audit.verify(engine)
    assert (result.ok, result.bad_seq, result.reason) == (False, 2, "content does not match its hash")


def test_a_configured_key_does_not_seal_an_old_chain_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env_key: None
) -> None:
    db = tmp_path / "state.sqlite"
    url = f"sqlite:///{db}"
    engine = open_store(url, audit_key="k" * 32)
    write_legacy_events(db, 2)
    assert not (tmp_path / "secrets.toml").exists()  # the key came from the caller, none generated
    audit_key.unregister(url)
    engine = open_store(url, audit_key="k" * 32)
    unsealed = audit.verify(engine)
    assert (unsealed.ok, unsealed.reason) == (
        False,
        "events 1-2 carry plain SHA-256 hashes and no keyed event seals them "
        "(written before the audit key, or rewritten without it)",
    )
    assert audit.rekey(engine) is not None and audit.verify(engine).ok
    assert audit.rekey(engine) is None  # once


def test_another_key_does_not_verify_the_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    monkeypatch.setenv(audit_key.ENV, "first-key-" + "a" * 20)
    engine = open_store(url)
    with session_scope(engine) as session:
        audit.append(session, actor="U1", action="approved", subject="p1", at=AT)
    assert audit.verify(engine).ok and not (tmp_path / "secrets.toml").exists()
    monkeypatch.setenv(audit_key.ENV, "other-key-" + "b" * 20)
    audit_key.unregister(url)
    other = open_store(url)
    result = audit.verify(other)
    assert (result.ok, result.bad_seq, result.reason) == (False, 1, "content does not match its hash")


def test_a_short_key_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit_key.ENV, "short")
    with pytest.raises(
        ConfigError, match=r"^COSTPILOT_AUDIT_KEY: the audit key is too short \(at least 16 characters\)$"
    ):
        open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")


def test_processes_generating_the_key_at_once_agree_on_one(tmp_path: Path) -> None:
    path = tmp_path / "ws" / "secrets.toml"
    barrier = threading.Barrier(6)
    keys: list[audit_key.AuditKey] = []

    def run() -> None:
        barrier.wait()
        keys.append(audit_key.read_or_create(path))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({k.secret for k in keys}) == 1 and sum(k.created for k in keys) == 1
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secrets.toml"]  # no temp files left
