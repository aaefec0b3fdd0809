"""Request and result of ``costpilot review`` (the cost and policy review of a GitOps change)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.changes import GuardrailReport
from domain.money import Money
from services.requests import ReviewRequest

__all__ = [
    "ModelDelta",
    "ModelPriceEvidence",
    "PriceEvidence",
    "ReviewRequest",
    "ReviewResult",
    "WorkloadDelta",
]


class WorkloadDelta(BaseModel):
    """One workload's monthly cost before and after the change."""

    model_config = ConfigDict(frozen=True)

    workload: str = Field(description="namespace/Kind/name")
    change: Literal["added", "removed", "modified"]
    details: list[str] = Field(description="what changed that costs: replicas, requests, GPUs")
    monthly_before: Money
    monthly_after: Money
    monthly_delta: Money
    pods_before: str | None = Field(None, description="where the pod count came from, before")
    pods_after: str | None = None
    gpus_unpriced: bool = False
    files: list[str] = Field(default_factory=list, description="files that define the workload")


class ModelDelta(BaseModel):
    """One LLM feature routed to another model, priced from its observed token volumes."""

    model_config = ConfigDict(frozen=True)

    feature: str
    model_before: str | None
    model_after: str | None
    monthly_before: Money
    monthly_after: Money
    monthly_delta: Money
    requests: int
    tokens: dict[str, int]
    priced: bool = Field(description="False when a model has no price or the feature no volumes")
    note: str | None = None


class ModelPriceEvidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    usd_per_million_input: Money | None
    usd_per_million_output: Money | None
    source: str | None


class PriceEvidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    usd_per_vcpu_hour: Money
    usd_per_gib_hour: Money
    usd_per_gpu_hour: Money | None
    node_source: str = Field(description="bill | config")
    node_detail: str
    gpu_source: str | None
    hours_per_month: int = 730
    token_window: str | None = Field(None, description="days of token volumes behind model deltas")
    models: list[ModelPriceEvidence] = Field(default_factory=list)


class ReviewResult(BaseModel):
    """Cost delta, policy and guardrail verdicts of one change to the GitOps repository."""

    model_config = ConfigDict(frozen=True)

    base: str
    head: str
    base_commit: str
    head_commit: str
    changed_files: list[str]
    workloads: list[WorkloadDelta]
    models: list[ModelDelta]
    monthly_before: Money
    monthly_after: Money
    monthly_delta: Money
    verdict: Literal["pass", "warn", "block"]
    report: GuardrailReport
    prices: PriceEvidence
    notes: list[str] = Field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"
