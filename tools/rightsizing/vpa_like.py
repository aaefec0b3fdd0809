"""Preset ``vpa-like``: the Kubernetes VPA recommender, reproduced over stored samples.

From kubernetes/autoscaler ``vertical-pod-autoscaler/pkg/recommender``:
  * ``util/histogram*.go``: exponential buckets growing 5% (CPU: first bucket 0.01 core, up to
    1000 cores; memory: first bucket 1e7 bytes, up to 1e12), a percentile answers the END of the
    bucket where the cumulative weight reaches ``p × total`` (the start of the last bucket).
  * ``util/decaying_histogram.go``: a sample's weight × 2^((t - reference) / half-life), 24h.
  * ``model/aggregate_container_state.go``: CPU samples weighted by max(CPU request, 0.1 core);
    memory: one peak per container per 24h interval (intervals start at the container's first
    sample, the peak is timestamped at the interval end), weight 1.
  * ``model/container.go``: an OOM kill adds max(used + 100Mi, used × 1.2) to that interval's
    peak, used = max(memory request, the interval's peak so far).
  * ``logic/recommender.go`` + ``estimator.go``: target P90, lower bound P50, upper bound P95,
    each + 15% margin; upper × (1 + 1/confidence), lower × (1 + 0.001/confidence)^-2 with
    confidence = min(days between first and last CPU sample, CPU samples / 1440); then a floor
    of 25m CPU and 250Mi (VPA's ``250 * 1024 * 1024``) per pod, shared by its containers.
    Amounts are integer millicores / bytes, truncated at each step as VPA's ResourceAmount is.
  * History: VPA's Prometheus history provider reads ``--history-length=8d``.
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
from warehouse.utilization_series import SeriesChunk

MAX_RESOURCE_AMOUNT = 10**14
EPSILON = 0.001 * 0.1  # VPA: minimal weight kept in a histogram bucket
MIN_SAMPLE_WEIGHT = 0.1
MI = 1024**2
OBSERVED_CPU_PERCENTILE = 95  # evidence.cpu_p95: the raw usage percentile, per pod


class VpaLikeSettings(BaseModel):
    """Settings of the vpa-like preset (VPA recommender flags and constants)."""

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


class ExpBuckets:
    """VPA's exponential histogram options."""

    def __init__(self, max_value: float, first: float, ratio: float) -> None:
        self.first, self.ratio = first, ratio
        self.n = int(math.ceil(math.log(max_value * (ratio - 1) / first + 1) / math.log(ratio))) + 1
        self.starts = np.array([self.start(b) for b in range(self.n)])

    def start(self, bucket: int) -> float:
        if bucket == 0:
            return 0.0
        return self.first * (self.ratio**bucket - 1) / (self.ratio - 1)

    def find(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = values * (self.ratio - 1) / self.first + 1
            raw = np.log(x) / math.log(self.ratio)
        # numpy's vectorised log may differ from libm's in the last bit; next to a bucket edge
        # that decides the bucket, so recompute those few with math.log as Go's math.Log does.
        near = np.flatnonzero(np.abs(raw - np.rint(raw)) < 1e-9)
        if len(near):
            uniq, inv = np.unique(x[near], return_inverse=True)
            raw[near] = np.array([math.log(v) / math.log(self.ratio) for v in uniq])[inv]
        idx = np.where(values < self.first, 0, np.floor(raw)).astype(np.int64)
        return np.minimum(idx, self.n - 1)


class MilliBuckets:
    """Bucket of each whole-millicore usage, precomputed: a table lookup instead of a log per sample."""

    def __init__(self, buckets: ExpBuckets, max_millis: int = 1_000_000) -> None:
        self.buckets = buckets
        self.max = max_millis
        self.table = buckets.find(np.arange(max_millis + 1) / 1000).astype(np.int64)

    def find(self, millis: np.ndarray) -> np.ndarray:
        index = millis.astype(np.int64)
        np.minimum(index, self.max, out=index)
        out = self.table[index]
        over = np.flatnonzero(millis > self.max)
        if len(over):  # above 1000 cores: rare, compute directly
            out[over] = self.buckets.find(millis[over] / 1000)
        return out


def histogram_percentile(weights: np.ndarray, p: float, buckets: ExpBuckets) -> float:
    """``histogram.Percentile``: end of the bucket where the running weight reaches p × total."""
    nonzero = np.flatnonzero(weights >= EPSILON)
    if len(nonzero) == 0:
        return 0.0
    lo, hi = int(nonzero[0]), int(nonzero[-1])
    threshold = p * float(weights.sum())
    running = np.cumsum(weights[lo:hi])
    reached = np.flatnonzero(running >= threshold)
    bucket = lo + int(reached[0]) if len(reached) else hi
    return float(buckets.starts[bucket + 1] if bucket < buckets.n - 1 else buckets.starts[bucket])


def histogram_percentiles(weights: np.ndarray, p: float, buckets: ExpBuckets) -> np.ndarray:
    """``histogram_percentile`` for every row of a (containers × buckets) array at once."""
    nonzero = weights >= EPSILON
    has = nonzero.any(axis=1)
    n = weights.shape[1]
    lo = np.argmax(nonzero, axis=1)
    hi = n - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    cum = np.cumsum(weights, axis=1)
    before = np.where(lo > 0, cum[np.arange(len(lo)), np.maximum(lo - 1, 0)], 0.0)
    threshold = p * weights.sum(axis=1)
    cols = np.arange(n)[None, :]
    reached = ((cum - before[:, None]) >= threshold[:, None]) & (cols >= lo[:, None]) & (cols < hi[:, None])
    bucket = np.where(reached.any(axis=1), np.argmax(reached, axis=1), hi)
    value = np.where(bucket < n - 1, buckets.starts[np.minimum(bucket + 1, n - 1)], buckets.starts[bucket])
    return np.where(has, value, 0.0)


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
        self.half_life = settings.half_life_hours * 3600
        self.interval = int(settings.memory_interval_hours * 3600)
        self.ref: int | None = None
        self._pct: dict[str, dict[str, np.ndarray]] | None = None
        self._rows = 0
        self.t = Growable(
            {
                "cpu_hist": (np.float64, 0.0, self.cpu_b.n),
                "mem_hist": (np.float64, 0.0, self.mem_b.n),
                "cpu_n": (np.int64, 0, 0),
                "cpu_first": (np.int64, np.iinfo(np.int64).max, 0),
                "cpu_last": (np.int64, np.iinfo(np.int64).min, 0),
                "mem_windows": (np.int64, 0, 0),
                "cpu_p95_observed": (np.float64, np.nan, 0),
            }
        )

    def _decay(self, ts: np.ndarray) -> np.ndarray:
        assert self.ref is not None
        return np.exp2((ts - self.ref) / self.half_life)

    def add(self, chunk: SeriesChunk, cidx: np.ndarray, common: CommonStats) -> None:
        self.t.ensure(len(common.index))
        self._pct = None
        if self.ref is None:  # VPA rounds its reference time to a multiple of the half-life
            hl = int(self.half_life)
            self.ref = int(round(int(chunk.ts[0]) / hl)) * hl
        row_of = np.repeat(cidx, chunk.lengths)
        # The observed evidence (highest per-pod p95, as krr-simple reports it): guardrails check
        # a proposal against it, so it must be the usage seen, not a histogram bucket's end.
        p95 = per_series_quantile(chunk.cpu, chunk.offsets, OBSERVED_CPU_PERCENTILE / 100)
        np.fmax.at(self.t["cpu_p95_observed"], cidx, p95)
        self._add_cpu(chunk, row_of, cidx)
        self._add_memory(chunk, cidx)

    def _accumulate(
        self, name: str, rows: np.ndarray, buckets: np.ndarray, n_buckets: int, weight: np.ndarray
    ) -> None:
        """Add weights into (row, bucket) cells; one bincount over the chunk's rows only."""
        if len(rows) == 0:
            return
        lo, hi = int(rows.min()), int(rows.max())
        local = (rows - lo) * n_buckets + buckets
        sums = np.bincount(local, weights=weight, minlength=(hi - lo + 1) * n_buckets)
        self.t[name][lo : hi + 1] += sums.reshape(hi - lo + 1, n_buckets)

    def _add_cpu(self, chunk: SeriesChunk, row_of: np.ndarray, cidx: np.ndarray) -> None:
        ts = chunk.ts
        valid = ~np.isnan(chunk.cpu) & (chunk.cpu >= 0)
        # VPA drops a CPU sample that is not after the previous one of the same container.
        dup = np.zeros(len(ts), dtype=bool)
        dup[1:] = ts[1:] == ts[:-1]
        dup[chunk.offsets[:-1]] = False
        valid &= ~dup
        everything = bool(valid.all())
        sel = slice(None) if everything else valid
        millis = chunk.cpu[sel] * np.float64(1000)  # float64 even for float32 samples
        np.floor(millis, out=millis)  # ResourceAmount: whole millicores
        weight = chunk.cpu_request[sel] * 1000.0
        np.floor(weight, out=weight)
        weight /= 1000.0
        np.fmax(weight, MIN_SAMPLE_WEIGHT, out=weight)  # an unset (NaN) request weighs 0.1 too
        weight *= self._decay(ts[sel])
        self._accumulate("cpu_hist", row_of[sel], self.cpu_millis.find(millis), self.cpu_b.n, weight)
        starts = chunk.offsets[:-1]
        big = np.iinfo(np.int64).max
        np.add.at(self.t["cpu_n"], cidx, np.add.reduceat(valid, starts))
        np.minimum.at(self.t["cpu_first"], cidx, np.minimum.reduceat(np.where(valid, ts, big), starts))
        np.maximum.at(self.t["cpu_last"], cidx, np.maximum.reduceat(np.where(valid, ts, -big), starts))

    def _add_memory(self, chunk: SeriesChunk, cidx: np.ndarray) -> None:
        s = self.settings
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
            seg_of = np.searchsorted(seg_start, oom_rows, side="right") - 1
            for pos, seg in zip(oom_rows.tolist(), seg_of.tolist(), strict=True):
                seen = vals[seg_start[seg] : pos + 1]
                running = math.floor(float(np.nanmax(seen))) if (~np.isnan(seen)).any() else 0.0
                request = chunk.memory_request[pos if idx is None else idx[pos]]
                used = max(0.0 if math.isnan(request) else math.floor(request), running)
                needed = max(used + math.floor(s.oom_min_bump_mib * MI), _scale(int(used), s.oom_bump_ratio))
                peaks[seg] = needed if math.isnan(peaks[seg]) else max(peaks[seg], needed)
        keep = ~np.isnan(peaks)
        seg_ser = seg_ser[keep]
        ends = first_of[seg_ser] + (window[seg_start][keep] + 1) * self.interval
        rows = cidx[seg_ser]
        self._accumulate("mem_hist", rows, self.mem_b.find(peaks[keep]), self.mem_b.n, self._decay(ends))
        np.add.at(self.t["mem_windows"], rows, 1)

    def propose(self, row: int, common: CommonStats, hpa: frozenset[str], n_containers: int) -> Proposal:
        s, t = self.settings, self.t
        n = int(t["cpu_n"][row])
        if n == 0:
            reason = "no CPU usage samples (VPA needs them for its confidence)"
            return Proposal(
                ResourceProposal.skip("cpu: " + reason), ResourceProposal.skip("memory: " + reason)
            )
        days = (int(t["cpu_last"][row]) - int(t["cpu_first"][row])) / 86400
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
            "cpu_histogram_p95": round(cpu["p_upper"], 6),
            "cpu_target_bucket": round(cpu["p_target"], 6),
            "cpu_target": str(Decimal(cpu["target"]) / 1000),
            "cpu_lower_bound": str(Decimal(cpu["lower"]) / 1000),
            "cpu_upper_bound": str(Decimal(cpu["upper"]) / 1000),
            "memory_target": mem["target"],
            "memory_lower_bound": mem["lower"],
            "memory_upper_bound": mem["upper"],
            "memory_peak": None if math.isnan(cur["mem_peak"][row]) else int(cur["mem_peak"][row]),
            "memory_intervals": int(t["mem_windows"][row]),
            "confidence": round(confidence, 4),
            "cpu_samples": n,
        }
        if "cpu" in hpa and not s.allow_hpa:
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
                    name: histogram_percentiles(self.t[f"{kind}_hist"][:rows], p, b) for name, p in ps.items()
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
            if name == "upper":
                amount = MAX_RESOURCE_AMOUNT if confidence <= 0 else _scale(amount, 1 + 1.0 / confidence)
            elif name == "lower":
                amount = 0 if confidence <= 0 else _scale(amount, (1 + 0.001 / confidence) ** -2)
            out[name] = max(amount, floor)
        return out


def _proportional(limit: float, request: float, target: int, unit: int) -> int | None:
    """VPA keeps limit/request: new limit = limit × target / request (integer, rounded down)."""
    if math.isnan(limit):
        return None
    lim = int(round(limit * unit))
    req = int(round(request * unit)) if not math.isnan(request) else lim  # unset request = limit
    if req <= 0:
        return target
    return lim * target // req
