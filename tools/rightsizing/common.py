"""What a preset returns per container, and the preset protocol the engine drives."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel

from tools.rightsizing.accumulate import CommonStats
from warehouse.utilization_series import SeriesChunk


@dataclass(frozen=True)
class ResourceProposal:
    """Request and limit for one resource (CPU cores or memory bytes); skipped when skip_reason."""

    request: Decimal | None
    limit: Decimal | None
    skip_reason: str | None = None

    @classmethod
    def skip(cls, reason: str) -> ResourceProposal:
        return cls(request=None, limit=None, skip_reason=reason)

    @property
    def skipped(self) -> bool:
        return self.skip_reason is not None


@dataclass(frozen=True)
class Proposal:
    cpu: ResourceProposal
    memory: ResourceProposal
    evidence: dict[str, Any] = field(default_factory=dict)


class PresetEngine(Protocol):
    """A preset: folds chunks in, then proposes values per container row."""

    name: str
    settings: BaseModel

    def add(self, chunk: SeriesChunk, cidx: np.ndarray, common: CommonStats) -> None: ...

    def propose(self, row: int, common: CommonStats, hpa: frozenset[str], n_containers: int) -> Proposal: ...
