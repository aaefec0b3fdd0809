"""What the Slack app must remember across retries, replicas and restarts.

- ``slack_events``: every Events API ``event_id`` processed; Slack re-delivers an event it thinks
  we missed (``X-Slack-Retry-Num``), and a second replica may receive it too: the first insert
  wins, the rest do nothing.
- ``slack_buttons``: single-use tokens carried by approval (and alert) buttons, open-swe's way.
  The buttons of one message share a ``grp``; a click claims its token with one conditional
  UPDATE that marks it ``used`` and its siblings ``revoked`` together, so a double click, a
  retry, a second replica or a second approver racing finds nothing open and loses.
- ``slack_messages``: the approval message of each proposal (posted once, updated after the
  decision).
- ``slack_digest_runs``: one digest per ISO week across replicas.
- ``slack_alerts``: one alert per entity per period.

The last three share one claim rule: the first insert takes the key; a key whose holder failed
(or crashed: its claim is older than the lease) can be taken again; a finished one never.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, case, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from store.db import session_scope
from store.proposal_tables import utc

ButtonState = Literal["open", "used", "revoked"]
CLAIM_LEASE = timedelta(minutes=10)


class SlackEvent(SQLModel, table=True):
    __tablename__ = "slack_events"

    event_id: str = Field(primary_key=True)
    kind: str
    received_at: datetime


class SlackButton(SQLModel, table=True):
    __tablename__ = "slack_buttons"

    token: str = Field(primary_key=True)
    grp: str = Field(index=True)
    subject: str = Field(description="proposal id (approvals) or alert key")
    action: str = Field(description="approve | reject | remediate")
    patch_sha256: str | None = None
    channel: str | None = None
    message_ts: str | None = None
    state: str = Field(default="open", index=True)
    created_at: datetime
    expires_at: datetime
    used_by: str | None = None
    used_at: datetime | None = None
    claim: str | None = None


class SlackMessage(SQLModel, table=True):
    __tablename__ = "slack_messages"

    proposal_id: str = Field(primary_key=True)
    state: str = Field(description="claimed | posted | failed | decided")
    channel: str
    ts: str | None = None
    claimed_at: datetime
    finished_at: datetime | None = None
    note: str | None = None


class SlackDigestRun(SQLModel, table=True):
    __tablename__ = "slack_digest_runs"

    week: str = Field(primary_key=True, description="ISO week, e.g. 2026-W47")
    state: str = Field(description="claimed | posted | skipped | failed")
    channel: str
    ts: str | None = None
    claimed_at: datetime
    finished_at: datetime | None = None
    note: str | None = None


class SlackAlert(SQLModel, table=True):
    __tablename__ = "slack_alerts"

    key: str = Field(primary_key=True, description="kind|entity|period")
    state: str = Field(description="claimed | posted | failed")
    channel: str
    ts: str | None = None
    claimed_at: datetime
    finished_at: datetime | None = None
    note: str | None = None


# ----- events -----


def claim_event(engine: Engine, event_id: str, *, kind: str, now: datetime) -> bool:
    """True for the first delivery of ``event_id`` (in any process), False for a repeat."""
    try:
        with session_scope(engine) as session:
            session.add(SlackEvent(event_id=event_id, kind=kind, received_at=utc(now)))
        return True
    except IntegrityError:
        return False


def forget_events_before(engine: Engine, before: datetime) -> int:
    """Drop event ids older than ``before`` (Slack retries within minutes; a day is plenty)."""
    table = SlackEvent.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        return int(session.execute(table.delete().where(table.c.received_at < utc(before))).rowcount)  # type: ignore[attr-defined]


# ----- buttons -----


class Button(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str
    grp: str
    subject: str
    action: str
    patch_sha256: str | None
    channel: str | None
    message_ts: str | None
    state: ButtonState
    created_at: datetime
    expires_at: datetime
    used_by: str | None
    used_at: datetime | None

    def expired(self, now: datetime) -> bool:
        return utc(now) >= utc(self.expires_at)


class Claim(BaseModel):
    """The outcome of a click: ``won`` (this click decides) or the button as another left it."""

    model_config = ConfigDict(frozen=True)

    won: bool
    button: Button
    decided_by: str | None = None
    decided_at: datetime | None = None
    decided_action: str | None = None


def issue_buttons(
    engine: Engine,
    grp: str,
    subject: str,
    actions: Sequence[str],
    *,
    expires_at: datetime,
    now: datetime,
    patch_sha256: str | None = None,
) -> dict[str, str]:
    """One fresh opaque token per action, all in group ``grp``; returns action → token."""
    tokens = {action: secrets.token_urlsafe(18) for action in actions}
    with session_scope(engine) as session:
        for action, token in tokens.items():
            session.add(
                SlackButton(
                    token=token,
                    grp=grp,
                    subject=subject,
                    action=action,
                    patch_sha256=patch_sha256,
                    created_at=utc(now),
                    expires_at=utc(expires_at),
                )
            )
    return tokens


def attach_message(engine: Engine, tokens: Iterable[str], *, channel: str, ts: str) -> None:
    """Record where the buttons were posted (``chat.update`` needs channel and ts)."""
    table = SlackButton.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        session.execute(
            update(table).where(table.c.token.in_(list(tokens))).values(channel=channel, message_ts=ts)
        )


def revoke_buttons(engine: Engine, tokens: Iterable[str]) -> None:
    """Revoke tokens whose message never reached Slack."""
    table = SlackButton.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        session.execute(
            update(table)
            .where(table.c.token.in_(list(tokens)), table.c.state == "open")
            .values(state="revoked")
        )


def get_button(engine: Engine, token: str) -> Button | None:
    with Session(engine) as session:
        row = session.get(SlackButton, token)
        return None if row is None else _button(row)


def claim_button(engine: Engine, token: str, *, user: str, now: datetime) -> Claim | None:
    """Claim ``token`` for ``user``: one conditional UPDATE turns the clicked button ``used`` and
    every open sibling ``revoked``, only while all of them are open and unexpired. None when the
    token is unknown. The loser learns who decided, when, and with which button."""
    table = SlackButton.__table__  # type: ignore[attr-defined]
    button = get_button(engine, token)
    if button is None:
        return None
    nonce = uuid.uuid4().hex
    stmt = (
        update(table)
        .where(
            table.c.grp == button.grp,
            table.c.state == "open",
            table.c.expires_at > utc(now),
            # The clicked button itself must still be open: a click on a used or revoked token
            # (double click, retry, second replica) must not take the siblings.
            table.c.grp.in_(select(table.c.grp).where(and_(table.c.token == token, table.c.state == "open"))),
        )
        .values(
            state=case((table.c.token == token, "used"), else_="revoked"),
            used_by=case((table.c.token == token, user), else_=None),
            used_at=utc(now),
            claim=nonce,
        )
    )
    with session_scope(engine) as session:
        session.execute(stmt)
    with Session(engine) as session:
        row = session.get(SlackButton, token)
        assert row is not None
        won = row.claim == nonce and row.state == "used"
        mine = _button(row)
        winner = session.exec(
            select(SlackButton).where(SlackButton.grp == button.grp, SlackButton.state == "used")
        ).first()
    if won:
        return Claim(
            won=True, button=mine, decided_by=user, decided_at=mine.used_at, decided_action=mine.action
        )
    return Claim(
        won=False,
        button=mine,
        decided_by=winner.used_by if winner else None,
        decided_at=winner.used_at if winner else None,
        decided_action=winner.action if winner else None,
    )


def _button(row: SlackButton) -> Button:
    return Button.model_validate(row.model_dump(exclude={"claim"}))


# ----- claimed once: approval messages, digest runs, alerts -----


class Posting(BaseModel):
    """A row of ``slack_messages`` / ``slack_digest_runs`` / ``slack_alerts``."""

    model_config = ConfigDict(frozen=True)

    key: str
    state: str
    channel: str
    ts: str | None
    claimed_at: datetime
    finished_at: datetime | None
    note: str | None


# kind → (table model, key column); each kind may be taken again from these states.
POSTINGS: dict[str, tuple[type[SQLModel], str, frozenset[str]]] = {
    "approval": (SlackMessage, "proposal_id", frozenset({"failed"})),
    # A skipped week is tried again: its data may arrive later (exports lag a day or two).
    "digest": (SlackDigestRun, "week", frozenset({"failed", "skipped"})),
    "alert": (SlackAlert, "key", frozenset({"failed"})),
}


def _kind(kind: str) -> tuple[Any, str, frozenset[str]]:
    try:
        model, column, again = POSTINGS[kind]
    except KeyError:
        raise ValueError(f"unknown posting kind {kind!r}; valid: {', '.join(POSTINGS)}") from None
    return model, column, again


def claim_posting(
    engine: Engine, kind: str, key: str, *, channel: str, now: datetime, lease: timedelta = CLAIM_LEASE
) -> bool:
    """Take ``key`` of ``kind`` for posting; False when another process holds or finished it."""
    model, column, again = _kind(kind)
    try:
        with session_scope(engine) as session:
            session.add(model(**{column: key}, state="claimed", channel=channel, claimed_at=utc(now)))
        return True
    except IntegrityError:
        pass
    table = model.__table__
    stmt = (
        update(table)
        .where(
            table.c[column] == key,
            or_(
                table.c.state.in_(sorted(again)),
                and_(table.c.state == "claimed", table.c.claimed_at < utc(now - lease)),
            ),
        )
        .values(state="claimed", channel=channel, claimed_at=utc(now), finished_at=None)
    )
    with session_scope(engine) as session:
        return int(session.execute(stmt).rowcount) == 1  # type: ignore[attr-defined]


def finish_posting(
    engine: Engine,
    kind: str,
    key: str,
    *,
    state: str,
    now: datetime,
    ts: str | None = None,
    note: str | None = None,
    channel: str | None = None,
) -> None:
    """Record how a claimed posting ended (posted / skipped / failed / decided)."""
    model, column, _ = _kind(kind)
    table = model.__table__
    values: dict[str, Any] = {"state": state, "finished_at": utc(now), "note": note}
    if ts is not None:
        values["ts"] = ts
    if channel is not None:
        values["channel"] = channel
    with session_scope(engine) as session:
        session.execute(update(table).where(table.c[column] == key).values(**values))


def get_posting(engine: Engine, kind: str, key: str) -> Posting | None:
    model, column, _ = _kind(kind)
    with Session(engine) as session:
        row = session.get(model, key)
        if row is None:
            return None
        data = row.model_dump()
        return Posting(key=data.pop(column), **data)


def postings(engine: Engine, kind: str) -> list[Posting]:
    model, column, _ = _kind(kind)
    with Session(engine) as session:
        rows = session.exec(select(model)).all()
        out = []
        for row in rows:
            data = row.model_dump()
            out.append(Posting(key=data.pop(column), **data))
        return out
