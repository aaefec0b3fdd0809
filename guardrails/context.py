"""What a validator may know besides the change itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.findings import Finding, FindingKind
from gitops.repo import GitOpsRepo
from guardrails.policy import Policy

LastChange = Callable[[str], datetime | None] | Mapping[str, datetime]
Usage = Callable[[str], Mapping[str, Any] | None] | Mapping[str, Mapping[str, Any]]


class ValidationContext(BaseModel):
    """Inputs of ``guardrails.validate`` besides the change.

    ``last_change`` answers "when was this workload last changed by costpilot?" for a key made
    by ``workload_key`` / ``finding_key`` (a dict, or a callable the store supplies).
    ``evidence`` adds to or overrides a finding's evidence, keyed by ``Finding.id``.
    ``rules`` limits the run to these rule ids plus the mandatory ones (None: every rule).
    ``index`` is the repository model (``gitops.repo.GitOpsRepo``); loaded on first use when not
    given (pass one to validate many changes against the same checkout).
    ``usage`` is the observed usage of every container the data has, keyed by ``container_key``
    (evidence keys as in a finding: ``cpu_p95`` cores, ``memory_peak`` bytes, ``days``,
    ``samples``): a change to a file that other environments also render is checked against
    each one's own usage (None: no usage known beyond the findings').
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    policy: Policy
    now: datetime
    repo: Path
    evidence: dict[str, dict[str, Any]] = Field(default_factory=dict)
    last_change: LastChange | None = None
    rules: list[str] | None = None
    index: GitOpsRepo | None = None
    usage: Usage | None = None

    @field_validator("now")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        return value.astimezone(UTC)

    def repo_index(self) -> GitOpsRepo:
        """The repository model, loaded once."""
        if self.index is None:
            object.__setattr__(self, "index", GitOpsRepo.load(self.repo))
        assert self.index is not None
        return self.index

    def last_changed(self, key: str) -> datetime | None:
        if self.last_change is None:
            return None
        if isinstance(self.last_change, Mapping):
            return self.last_change.get(key)
        return self.last_change(key)

    def evidence_of(self, finding: Finding) -> dict[str, Any]:
        return {**finding.evidence, **self.evidence.get(finding.id, {})}

    def usage_of(self, namespace: str | None, kind: str, name: str, container: str) -> dict[str, Any] | None:
        """Observed usage of one container as deployed in ``namespace``, or None."""
        if self.usage is None:
            return None
        key = container_key(namespace, kind, name, container)
        found = self.usage.get(key) if isinstance(self.usage, Mapping) else self.usage(key)
        return dict(found) if found is not None else None


def workload_key(namespace: str | None, kind: str, name: str) -> str:
    """``namespace/Kind/name``: the key of cooldowns and blast radius."""
    return f"{namespace or '-'}/{kind}/{name}"


def container_key(namespace: str | None, kind: str, name: str, container: str) -> str:
    """``namespace/Kind/name/container``: the key of ``ValidationContext.usage``."""
    return f"{workload_key(namespace, kind, name)}/{container}"


def finding_key(finding: Finding) -> str:
    """The workload (or LLM feature) a finding is about, as a cooldown key."""
    t = finding.target
    if finding.kind is FindingKind.cheaper_model:
        return f"feature/{t.get('feature', '?')}"
    return workload_key(t.get("namespace"), t.get("kind", "Deployment"), t.get("workload", "?"))
