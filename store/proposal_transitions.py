"""Moving proposals between states: atomic, guarded and audited.

A transition is one conditional ``UPDATE … WHERE id = :id AND state IN (:expected)`` (plus any
guard such as the patch hash or the expiry time); only the caller whose UPDATE changed a row
won, and its audit event is written in the same transaction. Two replicas racing therefore get
one winner on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store import audit
from store.db import session_scope
from store.proposal_states import LIVE_STATES, ProposalState, S, check_transition
from store.proposal_tables import ProposalRow, get, utc

TABLE = ProposalRow.__table__  # type: ignore[attr-defined]


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
    states = check_transition(expected, to)
    stmt = (
        update(TABLE)
        .where(TABLE.c.id == proposal_id, TABLE.c.state.in_([s.value for s in states]), *guards)
        .values(state=to.value, updated_at=utc(now), **(values or {}))
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit.append(session, actor=actor, action=to.value, subject=proposal_id, data=data or {}, at=now)
    return True


def approve(
    engine: Engine,
    proposal_id: str,
    *,
    approver: str,
    patch_sha256: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> bool:
    """awaiting_approval → approved, bound to ``patch_sha256``; False when another caller won or
    the proposal is not approvable any more (caller re-reads it to tell the user why).
    ``details`` (the channel, the operating-system user…) go into the audit event."""
    with session_scope(engine) as session:
        return transition(
            session,
            proposal_id,
            {S.awaiting_approval},
            S.approved,
            actor=approver,
            now=now,
            data={**(details or {}), "patch_sha256": patch_sha256},
            values={"approved_by": approver, "approved_at": utc(now), "approved_sha256": patch_sha256},
            guards=(
                TABLE.c.patch_sha256 == patch_sha256,
                or_(TABLE.c.expires_at.is_(None), TABLE.c.expires_at > utc(now)),
            ),
        )


def reject(
    engine: Engine,
    proposal_id: str,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> bool:
    """awaiting_approval | blocked → rejected; False when it is in any other state."""
    with session_scope(engine) as session:
        return transition(
            session,
            proposal_id,
            {S.awaiting_approval, S.blocked},
            S.rejected,
            actor=actor,
            now=now,
            data={**(details or {}), "reason": reason},
            values={"decided_by": actor, "reason": reason},
        )


def expire_due(engine: Engine, now: datetime) -> list[str]:
    """Expire every proposal still awaiting approval past its TTL; returns their ids."""
    with Session(engine) as session:
        due = session.exec(
            select(ProposalRow.id).where(
                ProposalRow.state == S.awaiting_approval.value,
                ProposalRow.expires_at <= utc(now),  # type: ignore[operator]
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
                guards=(TABLE.c.expires_at <= utc(now),),
            ):
                expired.append(proposal_id)
    return expired


def refuse(
    engine: Engine,
    proposal_id: str,
    *,
    actor: str,
    action: str,
    reason: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a refused request (unauthorised approver, own change in production…) on its own."""
    with session_scope(engine) as session:
        audit.append(
            session,
            actor=actor,
            action=f"{action}_refused",
            subject=proposal_id,
            data={**(details or {}), "reason": reason},
            at=now,
        )


def supersede_in(
    session: Session,
    proposal_id: str,
    state: ProposalState,
    *,
    by: str | None,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> bool:
    """``state`` → superseded inside the caller's transaction; any approval of it is void."""
    return transition(
        session,
        proposal_id,
        {state},
        S.superseded,
        actor=actor,
        now=now,
        data={
            "superseded_by": by,
            "approval_void": state in (S.approved, S.pr_failed, S.pr_opened),
            **({"reason": reason} if reason else {}),
        },
        values={"superseded_by": by, "claim_token": None},
    )


def supersede(
    engine: Engine, proposal_id: str, *, by: str | None, reason: str, actor: str, now: datetime
) -> bool:
    """Void a live proposal (and any approval of it) outside ``record``: the re-planned patch
    matched another stored proposal, or nothing is left to change. False when it is not live."""
    current = get(engine, proposal_id)
    if current.state not in LIVE_STATES - {S.drafted}:
        return False
    with session_scope(engine) as session:
        return supersede_in(session, proposal_id, current.state, by=by, actor=actor, now=now, reason=reason)


def mark_pr_failed(
    engine: Engine, proposal_id: str, *, token: str, reason: str, actor: str, now: datetime
) -> bool:
    """approved | pr_failed → pr_failed for the lease holder, with the (redacted) reason; the lease
    is handed back so the next scan or approve retries at once."""
    with session_scope(engine) as session:
        return transition(
            session,
            proposal_id,
            {S.approved, S.pr_failed},
            S.pr_failed,
            actor=actor,
            now=now,
            data={"reason": reason},
            values={"reason": reason, "claim_token": None},
            guards=(TABLE.c.claim_token == token,),
        )


def void_approval(
    engine: Engine,
    proposal_id: str,
    report_json: str,
    failing: list[str],
    *,
    reason: str,
    actor: str,
    now: datetime,
    token: str | None = None,
) -> bool:
    """awaiting_approval | approved | pr_failed → blocked: re-validated on the current base, the
    guardrails fail now; the approval (if any) is void and the fresh report is stored."""
    guards = (TABLE.c.claim_token == token,) if token else ()
    with session_scope(engine) as session:
        return transition(
            session,
            proposal_id,
            {S.awaiting_approval, S.approved, S.pr_failed},
            S.blocked,
            actor=actor,
            now=now,
            data={"failing_rules": failing, "reason": reason, "approval_void": True},
            values={
                "report_json": report_json,
                "blocked_rules": ",".join(failing),
                "reason": reason,
                "approved_by": None,
                "approved_at": None,
                "approved_sha256": None,
                "claim_token": None,
            },
            guards=guards,
        )
