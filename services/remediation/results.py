"""What the remediation service answers: scan summaries and approval outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

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


PrStep = Literal["approved", "opened", "updated", "pending", "void", "rejected"]
# Answers a retry may be given again: the decision is settled (a PR exists, or nothing will open).
FINAL_STEPS: frozenset[str] = frozenset({"opened", "updated", "void", "rejected"})


class ApprovalOutcome(BaseModel):
    """What a decision or a PR step did; ``pr_url`` is set once the forge has the branch / PR.

    ``step``: ``approved`` (decided, no PR yet), ``opened`` / ``updated`` (the PR exists),
    ``pending`` (another process holds the PR lease: not final, never cached), ``void`` (the base
    moved and the patch changed: approval void), ``rejected``."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    step: PrStep = "approved"
    state: ProposalState
    approved_by: str | None
    approved_at: datetime | None
    branch: str
    pr_url: str | None = None
    pr_number: int | None = None
    pr_created: bool = False
    new_proposals: list[str] = Field(default_factory=list, description="void: the re-validated proposals")
    message: str

    @property
    def final(self) -> bool:
        return self.step in FINAL_STEPS


ScanSummary.model_rebuild()


def total_delta(items: Sequence[ScanItem]) -> Decimal:
    return sum((i.monthly_cost_after - i.monthly_cost_now for i in items), Decimal(0))
