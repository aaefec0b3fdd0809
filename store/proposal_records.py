"""Recording validated changes as proposals: new, unchanged, re-validated, or superseding.

Ids are derived from branch, patch and generation, so two scans racing on the same change collide
on the primary key instead of duplicating it; the loser re-reads and finds the winner's proposal.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from domain.changes import GuardrailReport, PlannedChange
from store import audit
from store.db import session_scope
from store.proposal_states import LIVE_STATES, REFUSED_STATES, ProposalState, S
from store.proposal_tables import Proposal, ProposalRow, get, utc
from store.proposal_transitions import supersede_in, transition


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
    after a rejection or after its PR was closed unmerged (``REFUSED_STATES``).
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
        current = next((r for r in same if r.state in LIVE_STATES | REFUSED_STATES), None)
        current_id = current.id if current is not None else None
    if current_id is not None:
        return _revalidate(engine, current_id, report, now)

    new_id = _proposal_id(change.branch, sha, generations)
    failing = failing_rules(report)
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
                created_at=utc(now),
                updated_at=utc(now),
                expires_at=utc(now + ttl),
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
    superseded = [
        other_id
        for other_id, state in others
        if supersede_in(
            session, other_id, ProposalState(state), by=new_id, actor="costpilot", now=now, reason=reason
        )
    ]
    return sorted(superseded)


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
    failing = failing_rules(report)
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


def failing_rules(report: GuardrailReport) -> list[str]:
    """Each failing rule id once, in report order (a rule may fail for several fields)."""
    return list(dict.fromkeys(r.rule_id for r in report.failures))
