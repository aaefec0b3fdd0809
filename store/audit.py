"""The append-only audit log, chained and keyed, so that an edited, removed or reordered row shows
— even to someone who can rewrite the whole table.

Each event stores the hash of the event before it and its own MAC::

    hash = HMAC-SHA256(key, prev_hash + canonical_json({seq, at, actor, action, subject, data}))

The key lives outside the database (``store.audit_key``: ``COSTPILOT_AUDIT_KEY`` or the
workspace's secrets file), so rows rewritten with recomputed hashes do not verify. Chains written
by costpilot before the key carry plain SHA-256 hashes; they verify as a *legacy prefix* only when
a keyed event follows and seals them (the first keyed event's MAC covers the legacy head). A
database whose key is generated while it holds such a chain gets one ``audit_rekeyed`` event at
once, which also records the proposals it adopts (see ``store.audit_state``); with a configured
key, ``rekey`` does that explicitly. A chain that is plain to the end never verifies.

Appending takes the row lock of the one-row ``audit_head`` table first (``UPDATE … RETURNING``),
so concurrent writers — threads, processes or replicas on PostgreSQL — extend the chain one at a
time and never fork it. ``append`` runs inside the caller's transaction: the state change and its
audit event commit together or not at all.

The chain is also anchored outside the database: each PR's commit message and body carry the
head at approval (``Audit-Head: SEQ:HASH``); ``verify`` checks every anchor it is given, so an
emptied or truncated chain fails even with a reset head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from store.audit_key import AuditKey, key_for
from store.db import session_scope

GENESIS = "0" * 64
REKEY = "audit_rekeyed"


class AuditEvent(SQLModel, table=True):
    """One audited action. Never updated or deleted by costpilot."""

    __tablename__ = "audit_events"

    seq: int = Field(primary_key=True, description="position in the chain, 1-based, no gaps")
    at: str = Field(description="UTC time, ISO 8601 with offset (stored as text so the hash is stable)")
    actor: str
    action: str = Field(index=True)
    subject: str = Field(index=True, description="what the event is about, e.g. a proposal id")
    data: str = Field(description="canonical JSON of the event details")
    prev_hash: str
    hash: str


class AuditHead(SQLModel, table=True):
    """The chain's tip; its row lock serialises appenders."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = GENESIS


class AuditAnchor(BaseModel):
    """The chain's head as recorded outside the database (a PR commit, a PR body)."""

    model_config = ConfigDict(frozen=True)

    seq: int
    hash: str
    where: str


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, non-JSON types as strings: the same bytes on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def _body(seq: int, at: str, actor: str, action: str, subject: str, data: str) -> str:
    return canonical_json(
        {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "data": json.loads(data)}
    )


def event_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, data: str) -> str:
    """The plain SHA-256 link of chains written before the audit key (legacy events)."""
    return hashlib.sha256((prev_hash + _body(seq, at, actor, action, subject, data)).encode()).hexdigest()


def keyed_hash(
    key: AuditKey, prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, data: str
) -> str:
    """The HMAC-SHA256 link every event appended now carries."""
    return key.mac(prev_hash + _body(seq, at, actor, action, subject, data))


def ensure_head(engine: Engine) -> None:
    """Create the chain's head row once (safe to call from several processes at start-up)."""
    with Session(engine) as session:
        if session.get(AuditHead, 1) is not None:
            return
    try:
        with session_scope(engine) as session:
            session.add(AuditHead(id=1, seq=0, last_hash=GENESIS))
    except IntegrityError:  # another process created it first
        pass


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one event to the chain inside the caller's transaction (``ensure_head`` must have run)."""
    key = key_for(session.get_bind())  # type: ignore[arg-type]
    row = session.execute(
        text("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash")
    ).one_or_none()
    if row is None:  # pragma: no cover - wiring error: a database opened without its migrations
        raise RuntimeError("audit chain head missing: open the database with store.db.open_engine")
    seq, prev = int(row[0]), str(row[1])
    when = (at or datetime.now(UTC)).astimezone(UTC).isoformat()
    payload = canonical_json(data or {})
    digest = keyed_hash(key, prev, seq, when, actor, action, subject, payload)
    event = AuditEvent(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        subject=subject,
        data=payload,
        prev_hash=prev,
        hash=digest,
    )
    session.add(event)
    session.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": digest})
    session.flush()
    return event


def head(engine: Engine) -> tuple[int, str]:
    """(seq, hash) of the chain's tip: what a PR records as its anchor."""
    with Session(engine) as session:
        tip = session.get(AuditHead, 1)
        return (tip.seq, tip.last_hash) if tip is not None else (0, GENESIS)


class AuditVerification(BaseModel):
    """The result of re-computing the chain (and checking anchors and proposal states)."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    events: int
    bad_seq: int | None = None
    reason: str | None = None
    legacy_events: int = 0
    anchors_checked: int = 0


def is_intact(engine: Engine, event: AuditEvent) -> bool:
    """Whether one event carries a valid MAC and links to the event stored before it."""
    try:
        expected = keyed_hash(
            key_for(engine),
            event.prev_hash,
            event.seq,
            event.at,
            event.actor,
            event.action,
            event.subject,
            event.data,
        )
    except json.JSONDecodeError:
        return False
    if expected != event.hash:
        return False
    if event.seq == 1:
        return event.prev_hash == GENESIS
    with Session(engine) as session:
        before = session.get(AuditEvent, event.seq - 1)
        return before is not None and before.hash == event.prev_hash


def _link_kind(key: AuditKey, event: AuditEvent) -> str | None:
    """``keyed`` | ``legacy`` | None (matches neither: edited, or another key)."""
    try:
        args = (event.prev_hash, event.seq, event.at, event.actor, event.action, event.subject, event.data)
        if keyed_hash(key, *args) == event.hash:
            return "keyed"
        return "legacy" if event_hash(*args) == event.hash else None
    except json.JSONDecodeError:
        return None


def verify(engine: Engine, anchors: Sequence[AuditAnchor] = ()) -> AuditVerification:
    """Re-compute every link; the first event that does not match is reported by its seq. Then
    every anchor seen outside the database must name an event of the chain, and every proposal's
    state must be what its audited events say."""
    key = key_for(engine)
    expected_prev, expected_seq, count, legacy, keyed_seen = GENESIS, 1, 0, 0, False
    events: list[AuditEvent] = []

    def bad(seq: int | None, reason: str) -> AuditVerification:
        return AuditVerification(ok=False, events=count, bad_seq=seq, reason=reason, legacy_events=legacy)

    with Session(engine) as session:
        tip = session.get(AuditHead, 1)
        for event in session.exec(select(AuditEvent).order_by(AuditEvent.seq)):  # type: ignore[arg-type]
            count += 1
            if event.seq != expected_seq:
                return bad(expected_seq, f"event {expected_seq} is missing")
            if event.prev_hash != expected_prev:
                return bad(event.seq, "previous-hash link broken")
            kind = _link_kind(key, event)
            if kind is None or (kind == "legacy" and keyed_seen):
                # Also what a chain written with another key looks like: the key id is not
                # stored, so both read the same.
                return bad(event.seq, "content does not match its hash")
            keyed_seen = keyed_seen or kind == "keyed"
            legacy += kind == "legacy"
            expected_prev = event.hash
            expected_seq += 1
            events.append(AuditEvent.model_validate(event.model_dump()))
        head_seq = tip.seq if tip is not None else 0
        head_hash = tip.last_hash if tip is not None else GENESIS
    if head_seq != count or head_hash != expected_prev:
        # Rows removed from the end leave the head pointing past the last stored event.
        return bad(count + 1, f"chain ends at event {count}, head says {head_seq}")
    if count and not keyed_seen:
        return bad(
            count,
            f"events 1-{count} carry plain SHA-256 hashes and no keyed event seals them "
            "(written before the audit key, or rewritten without it)",
        )
    by_seq = {e.seq: e for e in events}
    for anchor in anchors:
        found = by_seq.get(anchor.seq)
        if found is None:
            return bad(
                anchor.seq,
                f"{anchor.where} records event {anchor.seq}, but the chain ends at event {count} "
                "(emptied or truncated)",
            )
        if found.hash != anchor.hash:
            return bad(anchor.seq, f"{anchor.where} records another event {anchor.seq} (chain rewritten)")
    from store.audit_state import unexplained_state

    problem = unexplained_state(engine, events)
    if problem is not None:
        return bad(None, problem)
    return AuditVerification(ok=True, events=count, legacy_events=legacy, anchors_checked=len(anchors))


def rekey(engine: Engine, *, actor: str = "costpilot", at: datetime | None = None) -> AuditEvent | None:
    """Seal a chain written before the audit key (and adopt the proposals stored so far) with
    one keyed ``audit_rekeyed`` event; None when the chain is keyed already (or another key's).
    Runs by itself when the key is generated; with a configured key, call it once on purpose."""
    from store.audit_state import adoption

    key = key_for(engine)
    with Session(engine) as session:
        last = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()  # type: ignore[attr-defined]
        if last is not None and _link_kind(key, last) != "legacy":
            return None
        legacy = last.seq if last is not None else 0
        legacy_head = last.hash if last is not None else GENESIS
    adopted = adoption(engine)
    if legacy == 0 and not adopted:
        return None  # a new database: nothing to seal
    with session_scope(engine) as session:
        return append(
            session,
            actor=actor,
            action=REKEY,
            subject="audit",
            data={
                "legacy_events": legacy,
                "legacy_head": legacy_head,
                "key_id": key.key_id,
                "adopted": adopted,
            },
            at=at,
        )


def events_for(engine: Engine, subject: str) -> list[AuditEvent]:
    """Every event about one subject, oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.subject == subject).order_by(AuditEvent.seq)  # type: ignore[arg-type]
        ).all()
        return [AuditEvent.model_validate(r.model_dump()) for r in rows]
