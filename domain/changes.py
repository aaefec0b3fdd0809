"""Planned changes to the GitOps repository and the guardrail verdicts on them.

``playbooks/`` turns a ``Finding`` into a ``PlannedChange``; ``guardrails/`` judges it into a
``GuardrailReport``; ``store/`` keeps both with the proposal; ``gitops/`` turns an approved
change into a branch and a pull request.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from domain.findings import Finding
from domain.money import Money


class FileChange(BaseModel):
    """One file of the repository, before and after the patch (paths relative to the repo root)."""

    model_config = ConfigDict(frozen=True)

    path: str
    before: str
    after: str
    changed_fields: list[str] = Field(
        default_factory=list,
        description="YAML paths the patch set, e.g. spec.template.spec.containers[api].resources.requests.cpu",
    )


class PlannedChange(BaseModel):
    """A concrete edit of the GitOps repo that would implement one or more findings."""

    model_config = ConfigDict(frozen=True)

    playbook: str
    target_slug: str = Field(description="deterministic slug; the branch is costpilot/<playbook>/<slug>")
    title: str
    findings: list[Finding]
    files: list[FileChange]
    diff: str = Field(description="unified diff of all files")
    allowed_fields: list[str] = Field(
        default_factory=list, description="field patterns the playbook may change"
    )
    monthly_cost_now: Money = Decimal(0)
    monthly_cost_after: Money = Decimal(0)
    cost_increase_reason: str | None = None
    base_sha: str | None = Field(None, description="commit of the GitOps repo the patch was made on")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def patch_sha256(self) -> str:
        """What an approval binds to: the exact bytes of the diff."""
        return hashlib.sha256(self.diff.encode()).hexdigest()

    @property
    def branch(self) -> str:
        return f"costpilot/{self.playbook}/{self.target_slug}"

    @property
    def monthly_delta(self) -> Decimal:
        return self.monthly_cost_after - self.monthly_cost_now


class Verdict(StrEnum):
    passed = "pass"
    warn = "warn"
    fail = "fail"


class GuardrailResult(BaseModel):
    """One validator's verdict on one change."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    verdict: Verdict
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class GuardrailReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    patch_sha256: str
    results: list[GuardrailResult]

    @property
    def passed(self) -> bool:
        return all(r.verdict is not Verdict.fail for r in self.results)

    @property
    def failures(self) -> list[GuardrailResult]:
        return [r for r in self.results if r.verdict is Verdict.fail]
