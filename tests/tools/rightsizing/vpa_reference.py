"""A scalar, line-by-line port of the VPA recommender (kubernetes/autoscaler main, late 2026), as an
oracle for ``vpa-like``: ``util/histogram.go``, ``util/histogram_options.go``,
``util/decaying_histogram.go``, ``model/container.go``, ``model/aggregate_container_state.go``,
``logic/estimator.go`` and ``logic/recommender.go``. It shares no code with ``tools/rightsizing``.

Times are Python ints of nanoseconds since Go's zero time (0001-01-01 UTC), like ``time.Time``.
Samples are fed as VPA's history bootstrap feeds them: pod after pod, each pod's rows in time
order; at an OOM row ``RecordOOM`` runs before the row's own memory sample. ``zero_quirk=False``
turns off VPA's "first sample of 0 bytes freezes the interval's peak at 0" (vpa-like's choice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

ZERO_TO_UNIX_NS = 62_135_596_800 * 10**9
NS = 10**9
MIN_SAMPLE_WEIGHT = 0.1
EPSILON = 0.001 * MIN_SAMPLE_WEIGHT
MAX_RESOURCE_AMOUNT = 10**14
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def amount(value: float) -> int:
    """``resourceAmountFromFloat``."""
    if value > MAX_RESOURCE_AMOUNT:
        return MAX_RESOURCE_AMOUNT
    if math.isnan(value):  # Go's int64(NaN) on amd64 is the smallest int64; every use maxes it with a floor
        return INT64_MIN
    return int(max(value, 0.0))


def scale_resource(value: int, factor: float) -> int:
    return amount(float(value) * factor)


class ExponentialOptions:
    def __init__(self, max_value: float, first: float, ratio: float) -> None:
        self.first, self.ratio = first, ratio
        self.num = int(math.ceil(math.log(max_value * (ratio - 1) / first + 1) / math.log(ratio))) + 1

    def find(self, value: float) -> int:
        if value < self.first:
            return 0
        bucket = int(math.log(value * (self.ratio - 1) / self.first + 1) / math.log(self.ratio))
        return min(bucket, self.num - 1)

    def start(self, bucket: int) -> float:
        return 0.0 if bucket == 0 else self.first * (math.pow(self.ratio, bucket) - 1) / (self.ratio - 1)


class DecayingHistogram:
    def __init__(self, options: ExponentialOptions, half_life_ns: int) -> None:
        self.o = options
        self.w = [0.0] * options.num
        self.total = 0.0
        self.min, self.max = options.num - 1, 0
        self.half_life = half_life_ns
        self.ref = 0  # time.Time{}

    def _round(self, t: int) -> int:  # time.Round: halves up
        r = t % self.half_life
        return t - r if r + r < self.half_life else t + self.half_life - r

    def _update_min_max(self) -> None:
        last = self.o.num - 1
        while self.w[self.min] < EPSILON and self.min < last:
            self.min += 1
        while self.w[self.max] < EPSILON and self.max > 0:
            self.max -= 1

    def _shift(self, t: int) -> None:
        new = self._round(t)
        sub = max(INT64_MIN, min(INT64_MAX, self.ref - new))  # time.Sub saturates
        exponent = math.floor(float(sub) / float(self.half_life) + 0.5)
        factor = math.ldexp(1.0, max(exponent, -5000))
        for b in range(self.min, self.max + 1):
            self.w[b] *= factor
        self.total *= factor
        self._update_min_max()
        self.ref = new

    def _decay(self, t: int) -> float:
        if t > self.ref + self.half_life * 100:
            self._shift(t)
        return math.exp2(float(t - self.ref) / float(self.half_life))

    def add(self, value: float, weight: float, t: int) -> None:
        weight *= self._decay(t)
        b = self.o.find(value)
        self.w[b] += weight
        self.total += weight
        if b < self.min and self.w[b] >= EPSILON:
            self.min = b
        if b > self.max and self.w[b] >= EPSILON:
            self.max = b

    def subtract(self, value: float, weight: float, t: int) -> None:
        weight *= self._decay(t)
        b = self.o.find(value)
        self.total = 0.0 if self.total - weight < EPSILON else self.total - weight
        self.w[b] = 0.0 if self.w[b] - weight < EPSILON else self.w[b] - weight
        self._update_min_max()

    def percentile(self, p: float) -> float:
        if self.w[self.min] < EPSILON:
            return 0.0
        partial, threshold, b = 0.0, p * self.total, self.min
        while b < self.max:
            partial += self.w[b]
            if partial >= threshold:
                break
            b += 1
        return self.o.start(b + 1) if b < self.o.num - 1 else self.o.start(b)


@dataclass
class Aggregate:
    cpu: DecayingHistogram
    memory: DecayingHistogram
    first: int = 0
    last: int = 0
    count: int = 0

    def add_cpu(self, millicores: int, t: int) -> None:
        self.cpu.add(millicores / 1000.0, MIN_SAMPLE_WEIGHT, t)
        self.last = max(self.last, t)
        self.first = t if self.first == 0 or t < self.first else self.first
        self.count += 1


@dataclass
class Container:
    """``ContainerState``: one pod's container."""

    agg: Aggregate
    interval: int
    oom_ratio: float = 1.2
    oom_min_bump: float = 100 * 1024 * 1024
    zero_quirk: bool = True
    last_cpu: int = 0
    memory_peak: int = 0
    oom_peak: int = 0
    window_end: int = 0
    last_memory: int = 0
    history: list[str] = field(default_factory=list)

    def add_cpu(self, millicores: int, t: int) -> None:
        if millicores < 0 or not t > self.last_cpu:
            return
        self.agg.add_cpu(millicores, t)
        self.last_cpu = t

    def add_memory(self, usage: int, t: int, is_oom: bool = False) -> bool:
        if usage < 0 or (not is_oom and t < self.last_memory):
            return False
        self.last_memory = t
        if self.window_end == 0:
            self.window_end = t
        add_new = False
        if t < self.window_end:
            old = max(self.memory_peak, self.oom_peak)
            if (old != 0 or not self.zero_quirk) and usage > old:
                self.agg.memory.subtract(float(old), 1.0, self.window_end)
                add_new = True
        else:
            self.window_end += (t - self.window_end) // self.interval * self.interval + self.interval
            self.memory_peak = self.oom_peak = 0
            add_new = True
        if add_new:
            self.agg.memory.add(float(usage), 1.0, self.window_end)
            if is_oom:
                self.oom_peak = usage
            else:
                self.memory_peak = usage
        return True

    def record_oom(self, t: int, requested: int) -> None:
        if self.last_memory != 0 and t < self.last_memory - self.interval:
            return
        used = max(requested, self.memory_peak)
        needed = max(used + amount(self.oom_min_bump), scale_resource(used, self.oom_ratio))
        self.add_memory(needed, t, is_oom=True)


@dataclass
class Row:
    """One sample row of one pod's container: UTC seconds, cores, bytes (NaN = missing)."""

    ts: int
    cpu: float
    mem: float
    oom: bool = False
    memory_request: float = math.nan


def recommend(
    pods: list[list[Row]],
    containers_in_pod: int = 1,
    half_life_hours: float = 24.0,
    interval_hours: float = 24.0,
    zero_quirk: bool = True,
) -> dict[str, int]:
    """VPA's target / lower / upper (millicores, bytes) for one container name over its pods."""
    half_life = round(half_life_hours * 3600 * NS)
    agg = Aggregate(
        DecayingHistogram(ExponentialOptions(1000.0, 0.01, 1.05), half_life),
        DecayingHistogram(ExponentialOptions(1e12, 1e7, 1.05), half_life),
    )
    interval = int(interval_hours * 3600) * NS
    for rows in pods:
        c = Container(agg, interval, zero_quirk=zero_quirk)
        for r in rows:
            t = r.ts * NS + ZERO_TO_UNIX_NS
            if r.oom:
                c.record_oom(t, 0 if math.isnan(r.memory_request) else int(r.memory_request))
            if not math.isnan(r.cpu):
                c.add_cpu(amount(r.cpu * 1000.0), t)
            if not math.isnan(r.mem):
                c.add_memory(amount(r.mem), t)
    days = float(agg.last - agg.first) / float(24 * 3600 * NS)
    confidence = min(days, agg.count / (24 * 60.0))
    fraction = 1.0 / containers_in_pod
    floors = {
        "cpu": scale_resource(amount(25 * 0.001 * 1000.0), fraction),
        "memory": scale_resource(amount(250 * 1024 * 1024), fraction),
    }
    out: dict[str, int] = {}
    for res, hist, unit in (("cpu", agg.cpu, 1000.0), ("memory", agg.memory, 1.0)):
        for name, p in (("target", 0.9), ("lower", 0.5), ("upper", 0.95)):
            base = amount(hist.percentile(p) * unit)
            value = base + scale_resource(base, 0.15)
            if name == "upper":
                value = scale_resource(value, math.inf if confidence == 0 else 1.0 + 1.0 / confidence)
            elif name == "lower":
                value = scale_resource(value, 0.0 if confidence == 0 else (1.0 + 0.001 / confidence) ** -2)
            out[f"{res}_{name}"] = max(value, floors[res])
    return out
