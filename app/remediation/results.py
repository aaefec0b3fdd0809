"""What the remediation service answers: scan summaries and approval outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.money import Money
from store.proposals import ProposalState, RecordOutcome


class ScanItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    playbook: str
    branch: str
    environment: str
    state: ProposalState
    outcome: RecordOutcome
    blocked_rules: list[str]
    monthly_cost_now: Money
    monthly_cost_after: Money
    superseded: list[str] = Field(default_factory=list)


class ScanSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: int
    proposals: list[ScanItem]
    expired: list[str]
    resumed: list[ApprovalOutcome]
    notes: list[str] = Field(default_factory=list, description="detectors skipped and why")

    @property
    def blocked(self) -> list[ScanItem]:
        return [p for p in self.proposals if p.state is ProposalState.blocked]

    @property
    def awaiting(self) -> list[ScanItem]:
        return [p for p in self.proposals if p.state is ProposalState.awaiting_approval]


class ApprovalOutcome(BaseModel):
    """What an approval did; ``pr_url`` is set once the forge has the branch / PR."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    state: ProposalState
    approved_by: str | None
    approved_at: datetime | None
    branch: str
    pr_url: str | None = None
    pr_number: int | None = None
    pr_created: bool = False
    message: str


ScanSummary.model_rebuild()


def total_delta(items: Sequence[ScanItem]) -> Decimal:
    return sum((i.monthly_cost_after - i.monthly_cost_now for i in items), Decimal(0))
