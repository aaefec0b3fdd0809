"""Proposals and their state machine; every transition is atomic and audited.

::

    drafted ──► blocked ──────────────► awaiting_approval (re-validated, now passes)
       └──────► awaiting_approval ──► approved ──► pr_opened
                    │                    │
                    ├──► rejected        └──► superseded (a new patch for the same target)
                    ├──► expired
                    └──► superseded / blocked (re-validation failed)

A transition is one conditional ``UPDATE … WHERE id = :id AND state IN (:expected)`` (plus any
guard such as the patch hash or the expiry time); only the caller whose UPDATE changed a row
won, and its audit event is written in the same transaction. Two replicas racing therefore give
one winner on SQLite and PostgreSQL alike.

Opening the pull request is guarded by a *claim* (a lease on the approved proposal): the process
holding it talks to the forge; a process that crashed leaves a lease that runs out, and the next
approve or scan resumes. The forge itself finds an existing PR by its branch, so a resumed run
never opens a second one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict
from sqlalchemy import inspect, or_, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from domain.changes import GuardrailReport, PlannedChange
from domain.errors import InputError
from store import audit
from store.db import create_engine_for, init_db, session_scope


class ProposalState(StrEnum):
    drafted = "drafted"
    blocked = "blocked"
    awaiting_approval = "awaiting_approval"
    approved = "approved"
    pr_opened = "pr_opened"
    rejected = "rejected"
    expired = "expired"
    superseded = "superseded"


S = ProposalState
TRANSITIONS: dict[ProposalState, frozenset[ProposalState]] = {
    S.drafted: frozenset({S.blocked, S.awaiting_approval}),
    S.blocked: frozenset({S.awaiting_approval, S.rejected, S.superseded}),
    S.awaiting_approval: frozenset({S.approved, S.rejected, S.expired, S.superseded, S.blocked}),
    S.approved: frozenset({S.pr_opened, S.superseded}),
    S.pr_opened: frozenset({S.superseded}),
    S.rejected: frozenset(),
    S.expired: frozenset(),
    S.superseded: frozenset(),
}
# Proposals that still speak for their target; at most one per branch.
LIVE_STATES = frozenset({S.drafted, S.blocked, S.awaiting_approval, S.approved, S.pr_opened})


class ProposalRow(SQLModel, table=True):
    __tablename__ = "proposals"

    id: str = Field(primary_key=True)
    playbook: str = Field(index=True)
    target_slug: str
    branch: str = Field(index=True)
    environment: str
    state: str = Field(index=True)
    patch_sha256: str
    change_json: str
    report_json: str
    blocked_rules: str = ""
    requested_by: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    approved_sha256: str | None = None
    decided_by: str | None = None
    reason: str | None = None
    superseded_by: str | None = None
    pr_url: str | None = None
    pr_number: int | None = None
    claim_token: str | None = None
    claimed_at: datetime | None = None


class ProcessedEvent(SQLModel, table=True):
    """Idempotency keys (Slack retries, repeated clicks): the first result is the answer."""

    __tablename__ = "processed_events"

    key: str = Field(primary_key=True)
    action: str
    subject: str
    result: str
    at: datetime


class PullRequestRecord(SQLModel, table=True):
    """Each time a forge opened or updated the PR of a proposal."""

    __tablename__ = "pull_requests"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: str = Field(index=True)
    branch: str = Field(index=True)
    forge: str
    number: int | None = None
    url: str
    commit_sha: str
    created: bool
    at: datetime
    # The rendered PR body (also kept for the local forge, whose "PR" is only a branch).
    body: str = ""


class Proposal(BaseModel):
    """A stored proposal as callers see it (times in UTC)."""

    model_config = ConfigDict(frozen=True)

    id: str
    playbook: str
    target_slug: str
    branch: str
    environment: str
    state: ProposalState
    patch_sha256: str
    change: PlannedChange
    report: GuardrailReport
    blocked_rules: list[str]
    requested_by: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    decided_by: str | None
    reason: str | None
    superseded_by: str | None
    pr_url: str | None
    pr_number: int | None


def _utc(value: datetime) -> datetime:
    # sqlmodel's UTCDateTime stores aware datetimes as UTC on both engines and refuses naive ones.
    return value.astimezone(UTC)


def to_proposal(row: ProposalRow) -> Proposal:
    return Proposal(
        id=row.id,
        playbook=row.playbook,
        target_slug=row.target_slug,
        branch=row.branch,
        environment=row.environment,
        state=ProposalState(row.state),
        patch_sha256=row.patch_sha256,
        change=PlannedChange.model_validate_json(row.change_json),
        report=GuardrailReport.model_validate_json(row.report_json),
        blocked_rules=[r for r in row.blocked_rules.split(",") if r],
        requested_by=row.requested_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        decided_by=row.decided_by,
        reason=row.reason,
        superseded_by=row.superseded_by,
        pr_url=row.pr_url,
        pr_number=row.pr_number,
    )


def open_store(url: str) -> Engine:
    """Engine with every table created and the audit chain's head in place."""
    engine = create_engine_for(url)
    init_db(engine)
    _add_missing_columns(engine)
    audit.ensure_head(engine)
    return engine


# Columns added after a table first shipped: ``create_all`` does not alter existing tables, so a
# workspace made by an older version gets them here (idempotent; SQLite and PostgreSQL alike).
_ADDED_COLUMNS: dict[str, dict[str, str]] = {"pull_requests": {"body": "TEXT NOT NULL DEFAULT ''"}}


def _add_missing_columns(engine: Engine) -> None:
    inspector = inspect(engine)
    for table, columns in _ADDED_COLUMNS.items():
        have = {c["name"] for c in inspector.get_columns(table)}
        for name, ddl in columns.items():
            if name not in have:
                with engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))


def transition(
    session: Session,
    proposal_id: str,
    expected: Iterable[ProposalState],
    to: ProposalState,
    *,
    actor: str,
    now: datetime,
    data: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    guards: Iterable[Any] = (),
) -> bool:
    """Move one proposal atomically; True when this caller won (and its audit event is written)."""
    expected = frozenset(expected)
    illegal = [s for s in expected if to not in TRANSITIONS[s]]
    if illegal:  # a programming error, not user input
        raise ValueError(f"illegal transition {illegal[0]} -> {to}")
    table = ProposalRow.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id == proposal_id, table.c.state.in_([s.value for s in expected]), *guards)
        .values(state=to.value, updated_at=_utc(now), **(values or {}))
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit.append(session, actor=actor, action=to.value, subject=proposal_id, data=data or {}, at=now)
    return True


def get(engine: Engine, proposal_id: str) -> Proposal:
    """One proposal; an unknown id is an ``InputError`` naming it."""
    with Session(engine) as session:
        row = session.get(ProposalRow, proposal_id)
        if row is None:
            raise InputError(f"proposal {proposal_id!r} not found (see `costpilot proposals list`)")
        return to_proposal(row)


def list_proposals(engine: Engine, states: Iterable[ProposalState] | None = None) -> list[Proposal]:
    """Proposals, newest first, optionally only in the given states."""
    with Session(engine) as session:
        query = select(ProposalRow)
        if states is not None:
            query = query.where(ProposalRow.state.in_([s.value for s in states]))  # type: ignore[attr-defined]
        rows = session.exec(query.order_by(ProposalRow.created_at.desc(), ProposalRow.id)).all()  # type: ignore[attr-defined]
        return [to_proposal(r) for r in rows]


class RecordOutcome(StrEnum):
    created = "created"
    unchanged = "unchanged"
    revalidated = "revalidated"


class RecordResult(NamedTuple):
    proposal: Proposal
    outcome: RecordOutcome
    superseded: list[str]


def _proposal_id(branch: str, patch_sha256: str, generation: int) -> str:
    digest = hashlib.sha256(f"{branch}\n{patch_sha256}\n{generation}".encode()).hexdigest()
    return "p" + digest[:10]


def record(
    engine: Engine,
    change: PlannedChange,
    report: GuardrailReport,
    *,
    environment: str,
    requested_by: str,
    ttl: timedelta,
    now: datetime,
    supersede_reason: str | None = None,
) -> RecordResult:
    """Store a validated change: a new proposal, or the existing one for the same exact patch.

    A different patch for a target with a live proposal supersedes it (its approval is void; the
    audit event carries ``supersede_reason`` when given). The same patch is not proposed again
    after a rejection. Ids are derived from branch and patch, so two scans racing on the same
    change collide on the primary key instead of duplicating it.
    """
    if report.patch_sha256 != change.patch_sha256:
        raise ValueError("guardrail report was made for a different patch")
    for _attempt in range(3):
        try:
            return _record_once(engine, change, report, environment, requested_by, ttl, now, supersede_reason)
        except IntegrityError:  # another process inserted the same proposal first
            continue
    raise RuntimeError("could not record proposal after 3 attempts")  # pragma: no cover


def _record_once(
    engine: Engine,
    change: PlannedChange,
    report: GuardrailReport,
    environment: str,
    requested_by: str,
    ttl: timedelta,
    now: datetime,
    supersede_reason: str | None = None,
) -> RecordResult:
    sha = change.patch_sha256
    with Session(engine) as session:
        same = session.exec(
            select(ProposalRow)
            .where(ProposalRow.branch == change.branch, ProposalRow.patch_sha256 == sha)
            .order_by(ProposalRow.created_at.desc())  # type: ignore[attr-defined]
        ).all()
        generations = len(same)
        current = next((r for r in same if r.state in LIVE_STATES or r.state == S.rejected), None)
        current_id = current.id if current is not None else None
    if current_id is not None:
        return _revalidate(engine, current_id, report, now)

    new_id = _proposal_id(change.branch, sha, generations)
    failing = _failing_rules(report)
    with session_scope(engine) as session:
        session.add(
            ProposalRow(
                id=new_id,
                playbook=change.playbook,
                target_slug=change.target_slug,
                branch=change.branch,
                environment=environment,
                state=S.drafted.value,
                patch_sha256=sha,
                change_json=change.model_dump_json(),
                report_json=report.model_dump_json(),
                blocked_rules=",".join(failing),
                requested_by=requested_by,
                created_at=_utc(now),
                updated_at=_utc(now),
                expires_at=_utc(now + ttl),
            )
        )
        session.flush()  # the primary key decides a race between two scans here
        audit.append(
            session,
            actor=requested_by,
            action=S.drafted.value,
            subject=new_id,
            data={"branch": change.branch, "patch_sha256": sha, "environment": environment},
            at=now,
        )
        to = S.awaiting_approval if report.passed else S.blocked
        transition(
            session, new_id, {S.drafted}, to, actor="costpilot", now=now, data={"failing_rules": failing}
        )
        superseded = _supersede_others(session, change.branch, new_id, now, supersede_reason)
    return RecordResult(get(engine, new_id), RecordOutcome.created, superseded)


def _supersede_others(
    session: Session, branch: str, new_id: str, now: datetime, reason: str | None = None
) -> list[str]:
    others = session.exec(
        select(ProposalRow.id, ProposalRow.state).where(
            ProposalRow.branch == branch,
            ProposalRow.id != new_id,
            ProposalRow.state.in_([s.value for s in LIVE_STATES - {S.drafted}]),  # type: ignore[attr-defined]
        )
    ).all()
    superseded = []
    for other_id, state in others:
        if transition(
            session,
            other_id,
            {ProposalState(state)},
            S.superseded,
            actor="costpilot",
            now=now,
            data={
                "superseded_by": new_id,
                "approval_void": state in (S.approved, S.pr_opened),
                **({"reason": reason} if reason else {}),
            },
            values={"superseded_by": new_id, "claim_token": None},
        ):
            superseded.append(other_id)
    return sorted(superseded)


def supersede(
    engine: Engine, proposal_id: str, *, by: str | None, reason: str, actor: str, now: datetime
) -> bool:
    """Void a live proposal (and any approval of it) outside ``record``: the re-planned patch
    matched another stored proposal, or nothing is left to change. False when it is not live."""
    current = get(engine, proposal_id)
    if current.state not in LIVE_STATES - {S.drafted}:
        return False
    with session_scope(engine) as session:
        return transition(
            session,
            proposal_id,
            {current.state},
            S.superseded,
            actor=actor,
            now=now,
            data={
                "superseded_by": by,
                "approval_void": current.state in (S.approved, S.pr_opened),
                "reason": reason,
            },
            values={"superseded_by": by, "claim_token": None},
        )


def _revalidate(engine: Engine, proposal_id: str, report: GuardrailReport, now: datetime) -> RecordResult:
    """Same patch again: a blocked proposal whose guardrails now pass asks for approval, and an
    awaiting one that now fails is blocked (the freeze window may have started)."""
    existing = get(engine, proposal_id)
    moves = {
        (S.blocked, True): S.awaiting_approval,
        (S.awaiting_approval, False): S.blocked,
    }
    to = moves.get((existing.state, report.passed))
    if to is None:
        return RecordResult(existing, RecordOutcome.unchanged, [])
    failing = _failing_rules(report)
    with session_scope(engine) as session:
        won = transition(
            session,
            proposal_id,
            {existing.state},
            to,
            actor="costpilot",
            now=now,
            data={"failing_rules": failing, "revalidated": True},
            values={"report_json": report.model_dump_json(), "blocked_rules": ",".join(failing)},
        )
    return RecordResult(
        get(engine, proposal_id), RecordOutcome.revalidated if won else RecordOutcome.unchanged, []
    )


def approve(engine: Engine, proposal_id: str, *, approver: str, patch_sha256: str, now: datetime) -> bool:
    """awaiting_approval → approved, bound to ``patch_sha256``; False when another caller won or
    the proposal is not approvable any more (caller re-reads it to tell the user why)."""
    table = ProposalRow.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        return transition(
            session,
            proposal_id,
            {S.awaiting_approval},
            S.approved,
            actor=approver,
            now=now,
            data={"patch_sha256": patch_sha256},
            values={"approved_by": approver, "approved_at": _utc(now), "approved_sha256": patch_sha256},
            guards=(
                table.c.patch_sha256 == patch_sha256,
                or_(table.c.expires_at.is_(None), table.c.expires_at > _utc(now)),
            ),
        )


def reject(engine: Engine, proposal_id: str, *, actor: str, reason: str | None, now: datetime) -> bool:
    with session_scope(engine) as session:
        return transition(
            session,
            proposal_id,
            {S.awaiting_approval, S.blocked},
            S.rejected,
            actor=actor,
            now=now,
            data={"reason": reason},
            values={"decided_by": actor, "reason": reason},
        )


def expire_due(engine: Engine, now: datetime) -> list[str]:
    """Expire every proposal still awaiting approval past its TTL; returns their ids."""
    table = ProposalRow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        due = session.exec(
            select(ProposalRow.id).where(
                ProposalRow.state == S.awaiting_approval.value,
                ProposalRow.expires_at <= _utc(now),  # type: ignore[operator]
            )
        ).all()
    expired: list[str] = []
    for proposal_id in due:
        with session_scope(engine) as session:
            if transition(
                session,
                proposal_id,
                {S.awaiting_approval},
                S.expired,
                actor="costpilot",
                now=now,
                data={"reason": "ttl"},
                guards=(table.c.expires_at <= _utc(now),),
            ):
                expired.append(proposal_id)
    return expired


def refuse(engine: Engine, proposal_id: str, *, actor: str, action: str, reason: str, now: datetime) -> None:
    """Audit a refused request (unauthorised approver, own change in production…) on its own."""
    with session_scope(engine) as session:
        audit.append(
            session,
            actor=actor,
            action=f"{action}_refused",
            subject=proposal_id,
            data={"reason": reason},
            at=now,
        )


def claim_pr(engine: Engine, proposal_id: str, *, lease: timedelta, now: datetime) -> str | None:
    """Take the lease to open the PR of an approved proposal; None when someone else holds it."""
    table = ProposalRow.__table__  # type: ignore[attr-defined]
    token = uuid.uuid4().hex
    stmt = (
        update(table)
        .where(
            table.c.id == proposal_id,
            table.c.state == S.approved.value,
            or_(table.c.claim_token.is_(None), table.c.claimed_at < _utc(now - lease)),
        )
        .values(claim_token=token, claimed_at=_utc(now))
    )
    with session_scope(engine) as session:
        won = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    return token if won else None


def release_claim(engine: Engine, proposal_id: str, token: str) -> None:
    """Give the lease back after a failed forge call so the next attempt need not wait for it."""
    table = ProposalRow.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table).where(table.c.id == proposal_id, table.c.claim_token == token).values(claim_token=None)
    )
    with session_scope(engine) as session:
        session.execute(stmt)


def mark_pr_opened(
    engine: Engine,
    proposal_id: str,
    *,
    token: str,
    forge: str,
    url: str,
    number: int | None,
    commit_sha: str,
    created: bool,
    actor: str,
    now: datetime,
    body: str = "",
) -> bool:
    """approved → pr_opened for the claim holder, with the PR record (and its rendered body), in
    one transaction."""
    table = ProposalRow.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        won = transition(
            session,
            proposal_id,
            {S.approved},
            S.pr_opened,
            actor=actor,
            now=now,
            data={"forge": forge, "url": url, "number": number, "commit": commit_sha, "created": created},
            values={"pr_url": url, "pr_number": number, "claim_token": None},
            guards=(table.c.claim_token == token,),
        )
        if won:
            row = session.get(ProposalRow, proposal_id)
            session.add(
                PullRequestRecord(
                    proposal_id=proposal_id,
                    branch=row.branch if row else "",
                    forge=forge,
                    number=number,
                    url=url,
                    commit_sha=commit_sha,
                    created=created,
                    at=_utc(now),
                    body=body,
                )
            )
    return won


def pull_requests(engine: Engine, proposal_id: str) -> list[PullRequestRecord]:
    with Session(engine) as session:
        rows = session.exec(
            select(PullRequestRecord)
            .where(PullRequestRecord.proposal_id == proposal_id)
            .order_by(PullRequestRecord.id)  # type: ignore[arg-type]
        ).all()
        return [PullRequestRecord.model_validate(r.model_dump()) for r in rows]


def recall(engine: Engine, key: str) -> str | None:
    """The stored result of an already processed idempotency key, else None."""
    with Session(engine) as session:
        row = session.get(ProcessedEvent, key)
        return row.result if row is not None else None


def remember(engine: Engine, key: str, *, action: str, subject: str, result: str, now: datetime) -> str:
    """Store the result for ``key``; when another process stored one first, return theirs."""
    try:
        with session_scope(engine) as session:
            session.add(ProcessedEvent(key=key, action=action, subject=subject, result=result, at=_utc(now)))
    except IntegrityError:
        stored = recall(engine, key)
        return stored if stored is not None else result
    return result


def _failing_rules(report: GuardrailReport) -> list[str]:
    """Each failing rule id once, in report order (a rule may fail for several fields)."""
    return list(dict.fromkeys(r.rule_id for r in report.failures))
