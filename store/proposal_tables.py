"""The ``proposals`` table, the frozen ``Proposal`` callers see, and reading proposals back.

The schema itself is owned by the migrations (``store/migrations``); a column added here needs a
revision there (``tests/store/test_migrations.py`` compares the two).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from domain.changes import GuardrailReport, PlannedChange
from domain.errors import InputError
from store.proposal_states import ProposalState


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
    merged_at: datetime | None = None
    closed_at: datetime | None = None


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
    merged_at: datetime | None = None
    closed_at: datetime | None = None


def utc(value: datetime) -> datetime:
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
        merged_at=row.merged_at,
        closed_at=row.closed_at,
    )


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
