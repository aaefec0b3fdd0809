"""What happened to a proposal's pull request: opened (or updated) by costpilot, then merged or
closed unmerged as the forge reports it (``pr_opened → merged | closed``), each move audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from store.db import session_scope
from store.proposal_states import S
from store.proposal_tables import ProposalRow, utc
from store.proposal_transitions import TABLE, transition


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
    """approved | pr_failed → pr_opened for the claim holder, with the PR record (and its rendered
    body), in one transaction."""
    with session_scope(engine) as session:
        won = transition(
            session,
            proposal_id,
            {S.approved, S.pr_failed},
            S.pr_opened,
            actor=actor,
            now=now,
            data={"forge": forge, "url": url, "number": number, "commit": commit_sha, "created": created},
            values={"pr_url": url, "pr_number": number, "claim_token": None, "reason": None},
            guards=(TABLE.c.claim_token == token,),
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
                    at=utc(now),
                    body=body,
                )
            )
    return won


def mark_merged(engine: Engine, proposal_id: str, *, actor: str, now: datetime, detail: str = "") -> bool:
    """pr_opened → merged (the forge merged the PR at or before ``now``; realised savings count
    from ``merged_at``). False when the proposal is in any other state (already merged or closed,
    superseded, never opened), so a repeated status check changes nothing."""
    return _finish(engine, proposal_id, S.merged, "merged_at", actor=actor, now=now, detail=detail)


def mark_closed(engine: Engine, proposal_id: str, *, actor: str, now: datetime, detail: str = "") -> bool:
    """pr_opened → closed (the PR was closed unmerged, or its branch deleted); the same patch is
    then not proposed again. False when the proposal is not ``pr_opened``."""
    return _finish(engine, proposal_id, S.closed, "closed_at", actor=actor, now=now, detail=detail)


def _finish(
    engine: Engine, proposal_id: str, to: S, column: str, *, actor: str, now: datetime, detail: str
) -> bool:
    with session_scope(engine) as session:
        row = session.get(ProposalRow, proposal_id)
        data = {"url": row.pr_url if row else None, **({"detail": detail} if detail else {})}
        return transition(
            session,
            proposal_id,
            {S.pr_opened},
            to,
            actor=actor,
            now=now,
            data=data,
            values={column: utc(now)},
        )


def pull_requests(engine: Engine, proposal_id: str) -> list[PullRequestRecord]:
    """Every PR record of one proposal, oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(PullRequestRecord)
            .where(PullRequestRecord.proposal_id == proposal_id)
            .order_by(PullRequestRecord.id)  # type: ignore[arg-type]
        ).all()
        return [PullRequestRecord.model_validate(r.model_dump()) for r in rows]
