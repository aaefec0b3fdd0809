"""Preset ``vpa-like``: the Kubernetes VPA recommender, reproduced over stored samples.

From kubernetes/autoscaler ``vertical-pod-autoscaler/pkg/recommender`` (main branch):
  * ``util/histogram*.go``: exponential buckets growing 5% (CPU: first bucket 0.01 core, up to
    1000 cores; memory: first bucket 1e7 bytes, up to 1e12), a percentile answers the END of the
    bucket where the cumulative weight reaches ``p × total`` (the start of the last bucket).
  * ``util/decaying_histogram.go``: a sample's weight × 2^((t - reference) / half-life), 24h; the
    reference moves forward (weights rescaled by a power of two) when the exponent would pass 100.
  * ``model/aggregate_container_state.go``: every CPU sample weighs ``minSampleWeight`` 0.1;
    memory: one peak per container per 24h interval (intervals start at the container's first
    sample, the peak is timestamped at the interval end), weight 1.
  * ``model/container.go``: an OOM kill is recorded before the sample of its row and adds
    max(used + 100Mi, used × 1.2) as a peak, used = max(memory request, the memory peak VPA holds
    at that moment) — the previous interval's peak when the kill opens a new interval.
  * ``logic/recommender.go`` + ``estimator.go``: target P90, lower bound P50, upper bound P95,
    each + 15% margin; upper × (1 + 1/confidence), lower × (1 + 0.001/confidence)^-2 with
    confidence = min(days between first and last CPU sample, CPU samples / 1440); then a floor
    of 25m CPU and 250Mi (VPA's ``250 * 1024 * 1024``) per pod, shared by its containers.
    Amounts are integer millicores / bytes, truncated at each step as VPA's ResourceAmount is.
  * History: VPA's Prometheus history provider reads ``--history-length=8d``; samples are fed as
    its bootstrap feeds them, pod after pod, each pod's container in time order.
Limits keep their ratio to the request (VPA's default ``RequestsAndLimits``).

Evidence: ``cpu_p95`` is the OBSERVED usage (highest per-pod p95 of the raw samples, as
krr-simple reports it), which guardrails compare a proposal against; the histogram's answers
(bucket ends) are ``cpu_target_bucket`` (P90, the target before margin) and ``cpu_histogram_p95``.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.rightsizing.accumulate import CommonStats, Growable, per_series_quantile
from tools.rightsizing.common import Proposal, ResourceProposal
from tools.rightsizing.vpa_histogram import (
    NO_REF,
    DecayClock,
    ExpBuckets,
    MilliBuckets,
    histogram_percentiles,
)
from warehouse.utilization_series import SeriesChunk

VPA_LIKE_DIFFERENCES = (
    "vpa-like departs from the VPA recommender on purpose in two places: it recommends native "
    "sidecars (VPA's real-time feeder drops every init container, native sidecars included, while "
    "its Prometheus bootstrap keeps them), and a memory interval whose first sample is 0 bytes "
    "still takes the interval's later peak (VPA keeps 0 for that interval, which yields the floor "
    "for a busy container)."
)
MAX_RESOURCE_AMOUNT = 10**14
MIN_SAMPLE_WEIGHT = 0.1  # VPA's weight of every CPU sample (request weighting went in 2025)
MI = 1024**2
OBSERVED_CPU_PERCENTILE = 95  # evidence.cpu_p95: the raw usage percentile, per pod


class VpaLikeSettings(BaseModel):
    """Settings of the vpa-like preset (VPA recommender flags and constants).

    Kept differences from VPA: native sidecars are recommended (VPA's real-time feeder drops them
    with the init containers); a memory interval whose first sample is 0 bytes still takes its
    later peak (VPA keeps 0 for the whole interval).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    history_days: int = Field(8, ge=1, le=90, description="days of history (VPA --history-length)")
    half_life_hours: float = Field(24, gt=0, le=24 * 30, description="decay half-life of both histograms")
    bucket_growth: float = Field(0.05, gt=0, le=1, description="each bucket this much wider than the last")
    target_percentile: float = Field(0.9, gt=0, le=1, description="target = this percentile + margin")
    lower_percentile: float = Field(0.5, gt=0, le=1, description="lower bound percentile")
    upper_percentile: float = Field(0.95, gt=0, le=1, description="upper bound percentile")
    safety_margin_fraction: float = Field(0.15, ge=0, le=5, description="--recommendation-margin-fraction")
    pod_min_cpu_millicores: float = Field(25, ge=0, description="--pod-recommendation-min-cpu-millicores")
    pod_min_memory_mb: float = Field(250, ge=0, description="--pod-recommendation-min-memory-mb (×1024²)")
    oom_bump_ratio: float = Field(1.2, ge=1, le=10, description="memory × this after an OOM kill")
    oom_min_bump_mib: float = Field(100, ge=0, description="at least this much more memory after an OOM kill")
    memory_interval_hours: float = Field(24, gt=0, le=24 * 7, description="one memory peak per interval")
    allow_hpa: bool = Field(False, description="recommend a resource even when an HPA scales on it")


def _scale(amount: int, factor: float) -> int:
    """``ScaleResource``: float multiply, truncated, clamped to [0, 1e14]."""
    value = amount * factor
    if math.isnan(value) or value < 0:
        return 0
    return MAX_RESOURCE_AMOUNT if value > MAX_RESOURCE_AMOUNT else int(value)


class VpaLike:
    """Decaying CPU-usage and memory-peak histograms per container."""

    name = "vpa-like"

    def __init__(self, settings: VpaLikeSettings) -> None:
        self.settings = settings
        ratio = 1 + settings.bucket_growth
        self.cpu_b = ExpBuckets(1000.0, 0.01, ratio)
        self.cpu_millis = MilliBuckets(self.cpu_b)
        self.mem_b = ExpBuckets(1e12, 1e7, ratio)
        self.interval = int(settings.memory_interval_hours * 3600)
        self._pct: dict[str, dict[str, np.ndarray]] | None = None
        self._rows = 0
        self.t = Growable(
            {
                "cpu_hist": (np.float64, 0.0, self.cpu_b.n),
                "mem_hist": (np.float64, 0.0, self.mem_b.n),
                "cpu_total": (np.float64, 0.0, 0),  # VPA's totalWeight, summed in sample order
                "mem_total": (np.float64, 0.0, 0),
                "cpu_ref": (np.int64, NO_REF, 0),
                "mem_ref": (np.int64, NO_REF, 0),
                "cpu_n": (np.int64, 0, 0),
                "cpu_first": (np.int64, np.iinfo(np.int64).max, 0),
                "cpu_last": (np.int64, np.iinfo(np.int64).min, 0),
                "mem_windows": (np.int64, 0, 0),
                "cpu_p95_observed": (np.float64, np.nan, 0),
            }
        )
        self.cpu_clock = DecayClock(settings.half_life_hours, self.t, "cpu_ref", "cpu_hist", "cpu_total")
        self.mem_clock = DecayClock(settings.half_life_hours, self.t, "mem_ref", "mem_hist", "mem_total")

    def add(self, chunk: SeriesChunk, cidx: np.ndarray, common: CommonStats) -> None:
        self.t.ensure(len(common.index))
        self._pct = None
        row_of = np.repeat(cidx, chunk.lengths)
        # The observed evidence (highest per-pod p95, as krr-simple reports it): guardrails check
        # a proposal against it, so it must be the usage seen, not a histogram bucket's end.
        p95 = per_series_quantile(chunk.cpu, chunk.offsets, OBSERVED_CPU_PERCENTILE / 100)
        np.fmax.at(self.t["cpu_p95_observed"], cidx, p95)
        self._add_cpu(chunk, row_of, cidx)
        self._add_memory(chunk, cidx)

    def _accumulate(
        self, kind: str, rows: np.ndarray, buckets: np.ndarray, n_buckets: int, weight: np.ndarray
    ) -> None:
        """Add weights into (row, bucket) cells and row totals; bincounts over the chunk's rows only.

        bincount adds in sample order, as VPA's AddSample does, so a tie at p × total falls alike.
        """
        if len(rows) == 0:
            return
        lo, hi = int(rows.min()), int(rows.max())
        local = rows - lo
        self.t[f"{kind}_total"][lo : hi + 1] += np.bincount(local, weights=weight, minlength=hi - lo + 1)
        local *= n_buckets
        local += buckets
        sums = np.bincount(local, weights=weight, minlength=(hi - lo + 1) * n_buckets)
        self.t[f"{kind}_hist"][lo : hi + 1] += sums.reshape(hi - lo + 1, n_buckets)

    def _add_cpu(self, chunk: SeriesChunk, row_of: np.ndarray, cidx: np.ndarray) -> None:
        ts = chunk.ts
        valid = ~np.isnan(chunk.cpu) & (chunk.cpu >= 0)
        # VPA drops a CPU sample that is not after the last one it took from the pod's container.
        if bool(valid.all()):
            dup = np.zeros(len(ts), dtype=bool)
            dup[1:] = ts[1:] == ts[:-1]
            dup[chunk.offsets[:-1]] = False
            valid &= ~dup
        else:
            took = np.flatnonzero(valid)
            pod = np.searchsorted(chunk.offsets, took, side="right")
            again = (ts[took][1:] == ts[took][:-1]) & (pod[1:] == pod[:-1])
            valid[took[1:][again]] = False
        starts = chunk.offsets[:-1]
        counts = np.add.reduceat(valid, starts)
        if bool(valid.all()):
            sel: slice | np.ndarray = slice(None)
            heads = starts
        else:
            sel = valid
            heads = (np.cumsum(counts) - counts)[counts > 0]
        if len(heads):
            millis = chunk.cpu[sel] * np.float64(1000)  # float64 even for float32 samples
            np.floor(millis, out=millis)  # ResourceAmount: whole millicores
            weight = self.cpu_clock.factors(row_of[sel], ts[sel], heads)
            weight *= MIN_SAMPLE_WEIGHT
            self._accumulate("cpu", row_of[sel], self.cpu_millis.find(millis), self.cpu_b.n, weight)
        big = np.iinfo(np.int64).max
        np.add.at(self.t["cpu_n"], cidx, counts)
        np.minimum.at(self.t["cpu_first"], cidx, np.minimum.reduceat(np.where(valid, ts, big), starts))
        np.maximum.at(self.t["cpu_last"], cidx, np.maximum.reduceat(np.where(valid, ts, -big), starts))

    def _add_memory(self, chunk: SeriesChunk, cidx: np.ndarray) -> None:
        mem = chunk.mem
        bad = np.isnan(mem) | (mem < 0)
        if bad.any():  # keep rows with a usable sample or an OOM kill
            mem = np.where(bad, np.nan, mem.astype(np.float64))
            idx: np.ndarray | None = np.flatnonzero(~bad | chunk.oom)
            if len(idx) == 0:
                return
            series = np.repeat(np.arange(len(cidx)), chunk.lengths)[idx]
            ts, vals = chunk.ts[idx], mem[idx]
            head = np.flatnonzero(np.concatenate(([True], series[1:] != series[:-1])))
        else:  # the common case: every row usable, no copies
            idx, ts, vals = None, chunk.ts, mem
            head = chunk.offsets[:-1]
            series = None
        # Rows are in series order and time order: a series' first usable row opens its windows.
        first_of = np.full(len(cidx), np.iinfo(np.int64).max)
        head_series = np.arange(len(cidx)) if series is None else series[head]
        first_of[head_series] = ts[head]
        lengths = np.diff(np.append(head, len(ts)))
        window = (ts - np.repeat(first_of[head_series], lengths)) // self.interval
        change = np.empty(len(ts), dtype=bool)
        change[0] = True
        np.not_equal(window[1:], window[:-1], out=change[1:])
        change[head] = True
        seg_start = np.flatnonzero(change)
        peaks = np.floor(np.fmax.reduceat(vals, seg_start).astype(np.float64))  # whole bytes
        seg_ser = head_series[np.searchsorted(head, seg_start, side="right") - 1]
        oom_rows = np.flatnonzero(chunk.oom if idx is None else chunk.oom[idx])
        if len(oom_rows):  # rare: an OOM kill bumps its interval's peak
            requests = chunk.memory_request[oom_rows if idx is None else idx[oom_rows]]
            self._oom_peaks(peaks, vals, seg_start, seg_ser, oom_rows, requests)
        keep = ~np.isnan(peaks)
        seg_ser = seg_ser[keep]
        ends = first_of[seg_ser] + (window[seg_start][keep] + 1) * self.interval
        rows = cidx[seg_ser]
        if len(rows):
            heads = np.flatnonzero(np.concatenate(([True], seg_ser[1:] != seg_ser[:-1])))
            weight = self.mem_clock.factors(rows, ends, heads)
            self._accumulate("mem", rows, self.mem_b.find(peaks[keep]), self.mem_b.n, weight)
        np.add.at(self.t["mem_windows"], rows, 1)

    def _oom_peaks(
        self,
        peaks: np.ndarray,
        vals: np.ndarray,
        seg_start: np.ndarray,
        seg_ser: np.ndarray,
        oom_rows: np.ndarray,
        requests: np.ndarray,
    ) -> None:
        """``RecordOOM`` before each kill row's own sample, with the memory peak VPA holds then.

        VPA tracks ``memoryPeak`` (usage samples) and ``oomPeak`` per interval; a sample or a bump
        replaces the interval's peak only when above both. A kill that opens an interval is bumped
        from the peak of the pod's previous interval, before the window moves.
        """
        s = self.settings
        min_bump = math.floor(s.oom_min_bump_mib * MI)
        seg_end = np.append(seg_start[1:], len(vals))
        seg_of = np.searchsorted(seg_start, oom_rows, side="right") - 1
        held: dict[int, float] = {}  # interval → memoryPeak at its end, for intervals with kills

        def top(a: int, b: int) -> float:  # highest usage sample in rows [a, b), 0 if none
            part = vals[a:b]
            return math.floor(float(np.nanmax(part))) if (~np.isnan(part)).any() else 0.0

        request_at = dict(zip(oom_rows.tolist(), requests.tolist(), strict=True))

        def needed(row: int, peak: float) -> float:  # max(used + 100Mi, used × 1.2)
            req = request_at[row]
            used = max(0.0 if math.isnan(req) else math.floor(req), peak)
            return float(max(used + min_bump, _scale(int(used), s.oom_bump_ratio)))

        for seg in np.unique(seg_of).tolist():
            kills = oom_rows[seg_of == seg].tolist()
            pos = int(seg_start[seg])
            mem_peak = oom_peak = 0.0
            if kills[0] == pos:  # the kill opens the interval: bumped from the previous one's peak
                prev = seg - 1
                before = 0.0
                if prev >= 0 and seg_ser[prev] == seg_ser[seg]:
                    before = held.get(prev, 0.0 if math.isnan(peaks[prev]) else float(peaks[prev]))
                oom_peak = needed(kills.pop(0), before)
            for kill in kills:
                sample = top(pos, kill)
                if sample > max(mem_peak, oom_peak):
                    mem_peak = sample
                oom_peak = max(oom_peak, needed(kill, mem_peak))  # only max(mem, oom) is compared
                pos = kill
            sample = top(pos, int(seg_end[seg]))
            if sample > max(mem_peak, oom_peak):
                mem_peak = sample
            held[seg] = mem_peak
            peaks[seg] = max(mem_peak, oom_peak)

    def propose(self, row: int, common: CommonStats, hpa: frozenset[str], n_containers: int) -> Proposal:
        s, t = self.settings, self.t
        n = int(t["cpu_n"][row])
        # VPA's confidence counts CPU samples only: none gives 0 (upper bound 1e14, lower 0 → floor),
        # and VPA still recommends memory.
        days = (int(t["cpu_last"][row]) - int(t["cpu_first"][row])) / 86400 if n else 0.0
        confidence = min(days, n / (60 * 24))
        fraction = 1.0 / max(n_containers, 1)
        cpu_min = _scale(int(s.pod_min_cpu_millicores * 0.001 * 1000), fraction)
        mem_min = _scale(int(s.pod_min_memory_mb * 1024 * 1024), fraction)
        self._rows = max(self._rows, len(common.index))
        cpu = self._estimate("cpu", row, 1000.0, confidence, cpu_min)
        mem = self._estimate("mem", row, 1.0, confidence, mem_min)
        cur = common.t
        observed = float(t["cpu_p95_observed"][row])
        evidence: dict[str, Any] = {
            "cpu_p95": None if math.isnan(observed) else round(observed, 6),
            "cpu_percentile": OBSERVED_CPU_PERCENTILE,
            # The decayed histogram's upper-bound percentile (the END of its 5% bucket, cores).
            "cpu_histogram_p95": round(cpu["p_upper"], 6) if n else None,
            "cpu_target_bucket": round(cpu["p_target"], 6) if n else None,
            **{f"cpu_{k}": str(Decimal(cpu[v]) / 1000) if n else None for k, v in _BOUNDS.items()},
            **{f"memory_{k}": mem[v] for k, v in _BOUNDS.items()},
            "memory_peak": None if math.isnan(cur["mem_peak"][row]) else int(cur["mem_peak"][row]),
            "memory_intervals": int(t["mem_windows"][row]),
            "confidence": round(confidence, 4),
            "cpu_samples": n,
        }
        if n == 0:
            cpu_p = ResourceProposal.skip("cpu: no CPU usage samples")
        elif "cpu" in hpa and not s.allow_hpa:
            cpu_p = ResourceProposal.skip("cpu: HPA scales on cpu (allow_hpa is off)")
        else:
            target = Decimal(cpu["target"]) / 1000
            limit = _proportional(cur["cpu_limit"][row], cur["cpu_request"][row], cpu["target"], 1000)
            cpu_p = ResourceProposal(target, None if limit is None else Decimal(limit) / 1000)
        if "memory" in hpa and not s.allow_hpa:
            mem_p = ResourceProposal.skip("memory: HPA scales on memory (allow_hpa is off)")
        elif t["mem_windows"][row] == 0:
            mem_p = ResourceProposal.skip("memory: no memory samples")
        else:
            limit = _proportional(cur["memory_limit"][row], cur["memory_request"][row], mem["target"], 1)
            mem_p = ResourceProposal(Decimal(mem["target"]), None if limit is None else Decimal(limit))
        return Proposal(cpu=cpu_p, memory=mem_p, evidence=evidence)

    def _percentiles(self) -> dict[str, dict[str, np.ndarray]]:
        """Target/lower/upper percentiles of every container's histograms, computed once."""
        if self._pct is None:
            s, rows = self.settings, self._rows
            ps = {"target": s.target_percentile, "lower": s.lower_percentile, "upper": s.upper_percentile}
            self._pct = {
                kind: {
                    name: histogram_percentiles(
                        self.t[f"{kind}_hist"][:rows], p, b, self.t[f"{kind}_total"][:rows]
                    )
                    for name, p in ps.items()
                }
                for kind, b in (("cpu", self.cpu_b), ("mem", self.mem_b))
            }
        return self._pct

    def _estimate(self, kind: str, row: int, unit: float, confidence: float, floor: int) -> dict[str, Any]:
        s = self.settings
        pct = self._percentiles()[kind]
        out: dict[str, Any] = {"p_upper": float(pct["upper"][row]), "p_target": float(pct["target"][row])}
        for name in ("target", "lower", "upper"):
            amount = _scale(1, float(pct[name][row]) * unit)
            amount = amount + _scale(amount, s.safety_margin_fraction)
            # (1 + m / confidence)^e; no history is +Inf: upper 1e14 (0 × Inf is NaN → 0), lower 0.
            if name == "upper":
                amount = _scale(amount, 1 + 1.0 / confidence if confidence > 0 else math.inf)
            elif name == "lower":
                amount = 0 if confidence <= 0 else _scale(amount, (1 + 0.001 / confidence) ** -2)
            out[name] = max(amount, floor)
        return out


_BOUNDS = {"target": "target", "lower_bound": "lower", "upper_bound": "upper"}


def _proportional(limit: float, request: float, target: int, unit: int) -> int | None:
    """VPA keeps limit/request: new limit = limit × target / request (integer, rounded down)."""
    if math.isnan(limit):
        return None
    lim = int(round(limit * unit))
    req = int(round(request * unit)) if not math.isnan(request) else lim  # unset request = limit
    if req <= 0:
        return target
    return lim * target // req
