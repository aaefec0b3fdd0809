"""The append-only audit log, chained by SHA-256 so that an edited, removed or reordered row shows.

Each event stores the hash of the event before it and its own hash::

    hash = sha256(prev_hash + canonical_json({seq, at, actor, action, subject, data}))

Appending takes the row lock of the one-row ``audit_head`` table first (``UPDATE … RETURNING``),
so concurrent writers — threads, processes or replicas on PostgreSQL — extend the chain one at a
time and never fork it. ``append`` runs inside the caller's transaction: the state change and its
audit event commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from store.db import session_scope

GENESIS = "0" * 64


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


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, non-JSON types as strings: the same bytes on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def event_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, data: str) -> str:
    body = canonical_json(
        {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "data": json.loads(data)}
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


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
    row = session.execute(
        text("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash")
    ).one_or_none()
    if row is None:  # pragma: no cover - wiring error: a database opened without its migrations
        raise RuntimeError("audit chain head missing: open the database with store.db.open_engine")
    seq, prev = int(row[0]), str(row[1])
    when = (at or datetime.now(UTC)).astimezone(UTC).isoformat()
    payload = canonical_json(data or {})
    digest = event_hash(prev, seq, when, actor, action, subject, payload)
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


class AuditVerification(BaseModel):
    """The result of re-computing the chain."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    events: int
    bad_seq: int | None = None
    reason: str | None = None


def verify(engine: Engine) -> AuditVerification:
    """Re-compute every hash; the first event that does not match is reported by its seq."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    with Session(engine) as session:
        head = session.get(AuditHead, 1)
        for event in session.exec(select(AuditEvent).order_by(AuditEvent.seq)):  # type: ignore[arg-type]
            count += 1
            if event.seq != expected_seq:
                return AuditVerification(
                    ok=False, events=count, bad_seq=expected_seq, reason=f"event {expected_seq} is missing"
                )
            if event.prev_hash != expected_prev:
                return AuditVerification(
                    ok=False, events=count, bad_seq=event.seq, reason="previous-hash link broken"
                )
            try:
                digest = event_hash(
                    event.prev_hash, event.seq, event.at, event.actor, event.action, event.subject, event.data
                )
            except json.JSONDecodeError:
                digest = ""
            if digest != event.hash:
                return AuditVerification(
                    ok=False, events=count, bad_seq=event.seq, reason="content does not match its hash"
                )
            expected_prev = event.hash
            expected_seq += 1
        head_seq = head.seq if head is not None else 0
        head_hash = head.last_hash if head is not None else GENESIS
    if head_seq != count or head_hash != expected_prev:
        # Rows removed from the end leave the head pointing past the last stored event.
        return AuditVerification(
            ok=False,
            events=count,
            bad_seq=count + 1,
            reason=f"chain ends at event {count}, head says {head_seq}",
        )
    return AuditVerification(ok=True, events=count)


def events_for(engine: Engine, subject: str) -> list[AuditEvent]:
    """Every event about one subject, oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.subject == subject).order_by(AuditEvent.seq)  # type: ignore[arg-type]
        ).all()
        return [AuditEvent.model_validate(r.model_dump()) for r in rows]
