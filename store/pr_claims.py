"""The lease on opening an approved proposal's pull request.

The process holding the claim talks to the forge; a process that crashed leaves a lease that
runs out, and the next approve or scan resumes. The forge itself finds an existing PR by its
branch, so a resumed run never opens a second one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine

from store.db import session_scope
from store.proposal_states import S
from store.proposal_tables import ProposalRow, utc

TABLE = ProposalRow.__table__  # type: ignore[attr-defined]


def claim_pr(engine: Engine, proposal_id: str, *, lease: timedelta, now: datetime) -> str | None:
    """Take the lease to open the PR of an approved proposal (or retry one whose PR failed); None
    when someone else holds it."""
    token = uuid.uuid4().hex
    stmt = (
        update(TABLE)
        .where(
            TABLE.c.id == proposal_id,
            TABLE.c.state.in_([S.approved.value, S.pr_failed.value]),
            or_(TABLE.c.claim_token.is_(None), TABLE.c.claimed_at < utc(now - lease)),
        )
        .values(claim_token=token, claimed_at=utc(now))
    )
    with session_scope(engine) as session:
        won = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    return token if won else None


def release_claim(engine: Engine, proposal_id: str, token: str) -> None:
    """Give the lease back after a failed forge call so the next attempt need not wait for it."""
    stmt = (
        update(TABLE).where(TABLE.c.id == proposal_id, TABLE.c.claim_token == token).values(claim_token=None)
    )
    with session_scope(engine) as session:
        session.execute(stmt)
