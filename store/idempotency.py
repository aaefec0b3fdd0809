"""Idempotency keys (Slack retries, repeated clicks): the first *final* answer is the answer.

An answer is final when repeating the request can only give the same outcome (the PR is open,
the proposal was rejected). An answer such as "approved; another process is opening the PR" is
not: stored as final it would be the answer to that key for ever, long after the PR opened. So
each row says whether it is final:

- ``remember(..., final=True)`` stores the answer, replacing a pending one; when a final answer
  is already stored (another process finished first) that one is returned — first final wins;
- ``remember(..., final=False)`` keeps the answer as *pending* (never over a final one) and
  returns the final answer if there is one, else the given one;
- ``recall`` returns only a final answer (None means "do the work"); ``recall_entry`` also shows
  a pending one, e.g. to tell a retry that the first attempt is still running.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import true, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from store.db import session_scope
from store.proposal_tables import utc


class ProcessedEvent(SQLModel, table=True):
    """One idempotency key and its answer (final, or pending until a final one replaces it)."""

    __tablename__ = "processed_events"

    key: str = Field(primary_key=True)
    action: str
    subject: str
    result: str
    at: datetime
    final: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class Remembered(BaseModel):
    """A stored answer as callers see it."""

    model_config = ConfigDict(frozen=True)

    key: str
    action: str
    subject: str
    result: str
    final: bool
    at: datetime


def recall_entry(engine: Engine, key: str) -> Remembered | None:
    """The stored answer of ``key``, final or pending; None when the key is new."""
    with Session(engine) as session:
        row = session.get(ProcessedEvent, key)
        return None if row is None else Remembered.model_validate(row.model_dump())


def recall(engine: Engine, key: str) -> str | None:
    """The final answer of an already processed idempotency key, else None (also while only a
    pending answer is stored: the request must be carried out again)."""
    entry = recall_entry(engine, key)
    return entry.result if entry is not None and entry.final else None


def remember(
    engine: Engine,
    key: str,
    *,
    action: str,
    subject: str,
    result: str,
    now: datetime,
    final: bool = True,
) -> str:
    """Store ``result`` for ``key`` and return the answer callers should give: the final answer
    stored first (by any process), else ``result``. A non-final ``result`` is kept only as
    pending and never becomes the answer to later repeats."""
    row = ProcessedEvent(key=key, action=action, subject=subject, result=result, at=utc(now), final=final)
    try:
        with session_scope(engine) as session:
            session.add(row)
        return result
    except IntegrityError:  # the key is known: replace a pending answer, never a final one
        pass
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.key == key, table.c.final.is_(False))
        .values(action=action, subject=subject, result=result, at=utc(now), final=final)
    )
    with session_scope(engine) as session:
        session.execute(stmt)
    stored = recall(engine, key)
    return stored if stored is not None else result
