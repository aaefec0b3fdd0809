"""Findings: what a detector saw, in a shape every playbook can consume.

A detector in ``tools/`` (right-sizing, idle, cheaper model, untagged spend) returns its own
detailed result models; each converts to ``Finding`` so that ``playbooks/`` and ``guardrails/``
need to know only this one type.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.money import Money
from domain.provenance import Provenance


class Severity(StrEnum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class FindingKind(StrEnum):
    """Detector names; each playbook declares the kind it consumes."""

    rightsize = "rightsize"
    idle = "idle"
    cheaper_model = "cheaper-model"
    untagged = "untagged"


class Finding(BaseModel):
    """One actionable observation about one target.

    ``target`` identifies the thing to change, by kind:
      rightsize / idle: cluster, namespace, kind (Deployment…), workload, container (rightsize only)
      cheaper-model:    feature, model
      untagged:         namespace, kind, workload (resources missing cost tags)
    ``current`` / ``proposed`` hold the values in canonical units: CPU in cores (decimal
    string), memory in bytes (int), replicas (int), model (str).
    """

    model_config = ConfigDict(frozen=True)

    kind: FindingKind
    target: dict[str, str]
    title: str
    current: dict[str, Any] = Field(default_factory=dict)
    proposed: dict[str, Any] = Field(default_factory=dict)
    evidence: dict[str, Any] = Field(default_factory=dict, description="numbers that justify it")
    monthly_cost_now: Money = Decimal(0)
    monthly_cost_after: Money = Decimal(0)
    severity: Severity = Severity.low
    provenance: Provenance | None = None

    @property
    def monthly_savings(self) -> Decimal:
        return self.monthly_cost_now - self.monthly_cost_after

    @property
    def id(self) -> str:
        """Stable id: the same target and proposal give the same id across scans."""
        key = json.dumps(
            {"kind": self.kind.value, "target": self.target, "proposed": self.proposed},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]
