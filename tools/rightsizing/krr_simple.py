"""Preset ``krr-simple``: Robusta KRR's default ``simple`` strategy, reproduced.

KRR (robusta-dev/krr, ``strategies/simple.py`` and ``core/runner.py``):
  CPU request = highest per-pod p95 of the usage rate (PromQL ``quantile_over_time`` per pod,
  then the max over pods — not one pooled p95), CPU limit unset;
  memory request = limit = highest working-set peak × (1 + 15%); with OOM kills (KRR's
  ``--use_oomkill_data``) max(peak × 1.15, memory limit at the OOM kill × 1.25);
  a resource with fewer than 100 samples (all pods together) gets no recommendation;
  an HPA scaling on that resource skips it unless ``allow_hpa``;
  values round up to 1m CPU / 1Mi memory and never go below 10m / 100Mi.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.rightsizing.accumulate import CommonStats, Growable, per_series_quantile
from tools.rightsizing.common import Proposal, ResourceProposal
from warehouse.utilization_series import SeriesChunk

MI = 1024**2


class KrrSimpleSettings(BaseModel):
    """Settings of the krr-simple preset (KRR's option names and defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    history_days: int = Field(14, ge=1, le=90, description="days of history to use (KRR: 336 hours)")
    cpu_percentile: float = Field(95, gt=0, le=100, description="per-pod CPU usage percentile")
    memory_buffer_percentage: float = Field(15, gt=0, le=500, description="% added to the memory peak")
    points_required: int = Field(100, ge=1, description="samples needed (all pods together) per resource")
    allow_hpa: bool = Field(False, description="recommend a resource even when an HPA scales on it")
    use_oomkill_data: bool = Field(True, description="bump memory above the limit that was OOM-killed")
    oom_memory_buffer_percentage: float = Field(
        25, ge=0, le=500, description="% added to an OOM-killed limit"
    )
    cpu_min_millicores: int = Field(10, ge=0, description="floor of the CPU recommendation, millicores")
    memory_min_mib: int = Field(100, ge=0, description="floor of the memory recommendation, MiB")


def cpu_cores_krr(value: float, settings: KrrSimpleSettings) -> Decimal:
    """Round up to 1m, then the 10m floor; exact Decimal cores."""
    milli = max(math.ceil(value * 1000), settings.cpu_min_millicores)
    return Decimal(milli) / 1000


def memory_bytes_krr(value: float, settings: KrrSimpleSettings) -> int:
    """Round up to 1Mi, then the 100Mi floor."""
    return max(math.ceil(value / MI), settings.memory_min_mib) * MI


def memory_target(peak: float, oom_limit: float, settings: KrrSimpleSettings) -> float:
    """KRR's memory proposal before rounding: max(peak × 1.15, OOM-killed limit × 1.25)."""
    value = peak * (1 + settings.memory_buffer_percentage / 100)
    if settings.use_oomkill_data and not math.isnan(oom_limit) and oom_limit > 0:
        value = max(value, oom_limit * (1 + settings.oom_memory_buffer_percentage / 100))
    return value


class KrrSimple:
    """Accumulates the highest per-pod CPU percentile; memory peak and OOMs come from CommonStats."""

    name = "krr-simple"

    def __init__(self, settings: KrrSimpleSettings) -> None:
        self.settings = settings
        self.t = Growable({"cpu_pctl": (np.float64, np.nan, 0)})

    def add(self, chunk: SeriesChunk, cidx: np.ndarray, common: CommonStats) -> None:
        self.t.ensure(len(common.index))
        p = per_series_quantile(chunk.cpu, chunk.offsets, self.settings.cpu_percentile / 100)
        np.fmax.at(self.t["cpu_pctl"], cidx, p)

    def propose(self, row: int, common: CommonStats, hpa: frozenset[str], n_containers: int) -> Proposal:
        s, t = self.settings, common.t
        cpu_p = float(self.t["cpu_pctl"][row])
        peak = float(t["mem_peak"][row])
        oom_limit = float(t["oom_limit"][row])
        evidence: dict[str, Any] = {
            "cpu_p95": None if math.isnan(cpu_p) else round(cpu_p, 6),
            "cpu_percentile": s.cpu_percentile,
            "memory_peak": None if math.isnan(peak) else int(peak),
            "oom_killed_limit": None if math.isnan(oom_limit) else int(oom_limit),
        }
        cpu = self._gate("cpu", int(t["n_cpu"][row]), hpa)
        if cpu is None:
            cpu = ResourceProposal(request=cpu_cores_krr(cpu_p, s), limit=None)
        mem = self._gate("memory", int(t["n_mem"][row]), hpa)
        if mem is None:
            value = memory_bytes_krr(memory_target(peak, oom_limit, s), s)
            mem = ResourceProposal(request=Decimal(value), limit=Decimal(value))
        return Proposal(cpu=cpu, memory=mem, evidence=evidence)

    def _gate(self, resource: str, samples: int, hpa: frozenset[str]) -> ResourceProposal | None:
        if samples < self.settings.points_required:
            return ResourceProposal.skip(
                f"{resource}: not enough data ({samples} < {self.settings.points_required} samples)"
            )
        if resource in hpa and not self.settings.allow_hpa:
            return ResourceProposal.skip(f"{resource}: HPA scales on {resource} (allow_hpa is off)")
        return None
