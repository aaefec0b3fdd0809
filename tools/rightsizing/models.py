"""Result models of right-sizing: one Recommendation per workload container, and the run result.

Units: CPU in cores (exact Decimal, serialised as a decimal string), memory in bytes (int),
money in USD per month (Decimal string). ``None`` means "not set" for a current value and
"leave unset" for a recommended CPU limit (KRR recommends no CPU limit).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.findings import Finding, FindingKind, Severity
from domain.money import Money, decimal_str
from domain.provenance import Provenance

RESOURCE_KEYS: tuple[str, ...] = ("cpu_request", "cpu_limit", "memory_request", "memory_limit")


class PriceSource(StrEnum):
    bill = "bill"
    config = "config"


class UnitPrices(BaseModel):
    """USD per vCPU-hour and per GiB-hour, and where they came from."""

    model_config = ConfigDict(frozen=True)

    usd_per_vcpu_hour: Money
    usd_per_gib_hour: Money
    source: PriceSource
    detail: str = Field(description="how the prices were derived (query scope or setting name)")


class Resources(BaseModel):
    """Requests and limits of one container; CPU cores as decimal strings, memory bytes as ints."""

    model_config = ConfigDict(frozen=True)

    cpu_request: Money | None = None
    cpu_limit: Money | None = None
    memory_request: int | None = None
    memory_limit: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpu_request": decimal_str(self.cpu_request) if self.cpu_request is not None else None,
            "cpu_limit": decimal_str(self.cpu_limit) if self.cpu_limit is not None else None,
            "memory_request": self.memory_request,
            "memory_limit": self.memory_limit,
        }


def proposed_values(current: Resources, recommended: Resources, skipped: list[str]) -> dict[str, Any]:
    """The four values to write; a skipped resource ("cpu" / "memory") keeps its current values."""
    cur, rec = current.as_dict(), recommended.as_dict()
    return {key: cur[key] if key.split("_")[0] in skipped else rec[key] for key in RESOURCE_KEYS}


class Recommendation(BaseModel):
    """A preset's recommendation for one container of one workload (all its pods together)."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    namespace: str
    kind: str
    workload: str
    container: str
    container_type: str = "regular"
    current: Resources
    recommended: Resources
    evidence: dict[str, Any] = Field(description="samples, days, cpu_p95, memory_peak, oom_kills, …")
    monthly_cost_now: Money = Decimal(0)
    monthly_cost_after: Money = Decimal(0)
    monthly_savings: Money = Decimal(0)
    severity: Severity = Severity.info
    skip_reason: str | None = Field(None, description="why (part of) the container has no recommendation")
    provenance: Provenance | None = Field(None, exclude=True)

    @property
    def proposed(self) -> dict[str, Any]:
        """Values to write: a skipped resource keeps its current value."""
        return proposed_values(self.current, self.recommended, self.evidence.get("skipped_resources", []))

    @property
    def actionable(self) -> bool:
        """True when at least one value would change."""
        return self.proposed != self.current.as_dict()

    def to_finding(self) -> Finding:
        """The detector-neutral Finding the remediation playbooks consume (kind ``rightsize``)."""
        return Finding(
            kind=FindingKind.rightsize,
            target={
                "cluster": self.cluster,
                "namespace": self.namespace,
                "kind": self.kind,
                "workload": self.workload,
                "container": self.container,
            },
            title=f"Right-size {self.kind}/{self.workload} container {self.container} in {self.namespace}",
            current=self.current.as_dict(),
            proposed=self.proposed,
            evidence=dict(self.evidence),
            monthly_cost_now=self.monthly_cost_now,
            monthly_cost_after=self.monthly_cost_after,
            severity=self.severity,
            provenance=self.provenance,
        )

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "namespace": self.namespace,
            "kind": self.kind,
            "workload": self.workload,
            "container": self.container,
            "current": self.current.as_dict(),
            "recommended": self.recommended.as_dict(),
            "evidence": self.evidence,
            "monthly_savings": decimal_str(self.monthly_savings),
            "severity": self.severity.value,
            "skip_reason": self.skip_reason,
        }


class RightsizeResult(BaseModel):
    """Every container's recommendation for one preset, with prices and provenance."""

    model_config = ConfigDict(frozen=True)

    preset: str
    settings: dict[str, Any]
    recommendations: list[Recommendation]
    prices: UnitPrices
    samples_read: int
    window_start: str | None = None
    window_end: str | None = None
    init_containers_excluded: int = 0
    provenance: Provenance

    @property
    def total_monthly_savings(self) -> Decimal:
        return sum((r.monthly_savings for r in self.recommendations if r.actionable), Decimal(0))

    def findings(self) -> list[Finding]:
        """Findings for the containers where something would change."""
        return [r.to_finding() for r in self.recommendations if r.actionable]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "recommendations": [r.to_json_dict() for r in self.recommendations],
            "total_monthly_savings": decimal_str(self.total_monthly_savings),
            "settings": self.settings,
            "prices": self.prices.model_dump(mode="json"),
            "samples_read": self.samples_read,
            "window": {"start": self.window_start, "end": self.window_end},
            "init_containers_excluded": self.init_containers_excluded,
            "provenance": self.provenance.model_dump(mode="json"),
        }
