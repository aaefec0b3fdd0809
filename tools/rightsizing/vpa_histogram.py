"""The VPA recommender's histograms: exponential buckets, percentiles and the decay clock.

From kubernetes/autoscaler ``vertical-pod-autoscaler/pkg/recommender/util`` (main branch):
``histogram_options.go`` (exponential buckets), ``histogram.go`` (``Percentile``: the END of the
bucket where the running weight reaches p × total; buckets below ``epsilon`` do not bound it) and
``decaying_histogram.go`` (weights × 2^((t - reference) / half-life), the reference moved forward
with an exact power-of-two rescaling before the exponent passes 100). Vectorised over containers.
"""

from __future__ import annotations

import math

import numpy as np

from tools.rightsizing.accumulate import Growable

EPSILON = 0.001 * 0.1  # VPA: minimal weight kept in a histogram bucket
MAX_DECAY_EXPONENT = 100  # decaying_histogram.go: the reference moves before 2^100
ZERO_TIME_NS = 62_135_596_800 * 10**9  # Go's time.Time{} (0001-01-01 UTC) before the Unix epoch
NO_REF = np.iinfo(np.int64).min  # a histogram whose reference is still Go's zero time
NS = 10**9
MAX_SHIFT = 1100  # 2^-MAX_SHIFT is 0.0 in float64: a larger move leaves nothing to keep


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


def histogram_percentile(
    weights: np.ndarray, p: float, buckets: ExpBuckets, total: float | None = None
) -> float:
    """``histogram.Percentile``: end of the bucket where the running weight reaches p × total.

    ``total`` is VPA's ``totalWeight`` (summed in sample order); by default the buckets' sum.
    """
    nonzero = np.flatnonzero(weights >= EPSILON)
    if len(nonzero) == 0:
        return 0.0
    lo, hi = int(nonzero[0]), int(nonzero[-1])
    threshold = p * float(weights.sum() if total is None else total)
    running = np.cumsum(weights[lo:hi])
    reached = np.flatnonzero(running >= threshold)
    bucket = lo + int(reached[0]) if len(reached) else hi
    return float(buckets.starts[bucket + 1] if bucket < buckets.n - 1 else buckets.starts[bucket])


def histogram_percentiles(
    weights: np.ndarray, p: float, buckets: ExpBuckets, totals: np.ndarray | None = None
) -> np.ndarray:
    """``histogram_percentile`` for every row of a (containers × buckets) array at once."""
    nonzero = weights >= EPSILON
    has = nonzero.any(axis=1)
    n = weights.shape[1]
    lo = np.argmax(nonzero, axis=1)
    hi = n - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    cum = np.cumsum(weights, axis=1)
    before = np.where(lo > 0, cum[np.arange(len(lo)), np.maximum(lo - 1, 0)], 0.0)
    threshold = p * (weights.sum(axis=1) if totals is None else totals)
    cols = np.arange(n)[None, :]
    reached = ((cum - before[:, None]) >= threshold[:, None]) & (cols >= lo[:, None]) & (cols < hi[:, None])
    bucket = np.where(reached.any(axis=1), np.argmax(reached, axis=1), hi)
    value = np.where(bucket < n - 1, buckets.starts[np.minimum(bucket + 1, n - 1)], buckets.starts[bucket])
    return np.where(has, value, 0.0)


class DecayClock:
    """``decayingHistogram``'s reference time, one per container histogram (int64 ns in ``ref``).

    A sample weighs 2^((t - reference) / half-life). The reference starts at Go's zero time, so the
    first sample moves it; whenever a sample lands more than 100 half-lives after it, it moves to
    that sample, rounded to a multiple of the half-life since Go's zero time (``time.Round``:
    halves up), and the stored weights are scaled by 2^-(move / half-life). A power of two is
    exact, so the weights equal VPA's for any half-life and never overflow.
    """

    def __init__(self, half_life_hours: float, table: Growable, ref: str, hist: str, total: str) -> None:
        self.hl = max(1, round(half_life_hours * 3600 * NS))  # a Go Duration: whole nanoseconds
        self.zero_mod = ZERO_TIME_NS % self.hl
        self.ahead = MAX_DECAY_EXPONENT * self.hl
        self.table, self.ref, self.hist, self.total = table, ref, hist, total

    def _round(self, ns: np.ndarray) -> np.ndarray:
        r = (ns % self.hl + self.zero_mod) % self.hl
        return ns - r + np.where(2 * r >= self.hl, self.hl, 0)

    def factors(self, rows: np.ndarray, ts: np.ndarray, heads: np.ndarray) -> np.ndarray:
        """Each sample's decay factor against its container's reference after these samples.

        ``rows``: container row per sample; ``ts``: int64 UTC seconds; ``heads``: first index of
        each series (non-empty, contiguous, in time order). Stored weights are rescaled in place.
        """
        ref = self.table[self.ref]
        crow = rows[heads]
        ends = np.append(heads[1:], len(ts))
        new = ref[crow] == NO_REF
        if new.any():  # the first sample moves the reference off Go's zero time (empty histogram)
            first, at = np.unique(crow[new], return_index=True)
            ref[first] = self._round(ts[heads[new][at]] * NS)
        start = ref[crow]
        if not (ts[ends - 1] * NS > start + self.ahead).any():  # the common case: no move
            return self._steady(rows, ts, heads, ends, start)
        ns = ts * NS
        hot = ns[ends - 1] > start + self.ahead
        before = ref.copy()
        at_add = self._chain(ref, ns, ts, heads, ends, crow, np.isin(crow, crow[hot]))
        moved = np.flatnonzero(ref != before)
        scale = np.ldexp(1.0, -np.minimum((ref[moved] - before[moved]) // self.hl, MAX_SHIFT))
        self.table[self.hist][moved] *= scale[:, None]
        self.table[self.total][moved] *= scale
        shift = np.minimum((ref[rows] - at_add) // self.hl, MAX_SHIFT)
        return np.exp2((ns - at_add) / float(self.hl)) * np.ldexp(1.0, -shift)

    def _steady(
        self, rows: np.ndarray, ts: np.ndarray, heads: np.ndarray, ends: np.ndarray, start: np.ndarray
    ) -> np.ndarray:
        """2^((t - reference) / half-life) with no reference move, as few passes as possible."""
        far = np.abs(np.concatenate((ts[heads] * NS - start, ts[ends - 1] * NS - start))).max()
        if self.hl % NS or far >= 2**53:  # Go divides float64(ns); seconds would round otherwise
            return np.exp2((ts * NS - self.table[self.ref][rows]) / float(self.hl))
        # Exact integers (< 2^53) divided: the quotient in seconds equals Go's in nanoseconds.
        ref_s = start // NS
        same = bool((ref_s == ref_s[0]).all())
        out = np.empty(len(ts))
        np.subtract(ts, ref_s[0] if same else np.repeat(ref_s, ends - heads), out=out, dtype=np.float64)
        out /= float(self.hl // NS)
        return np.exp2(out, out=out)

    def _chain(
        self,
        ref: np.ndarray,
        ns: np.ndarray,
        ts: np.ndarray,
        heads: np.ndarray,
        ends: np.ndarray,
        crow: np.ndarray,
        hot: np.ndarray,
    ) -> np.ndarray:
        """Walk the reference moves of the ``hot`` series; returns each sample's reference when added.

        A container's series go one after another (each starts from the reference the previous one
        left), so rank k of every container is walked together, one vectorised step per move.
        """
        at_add = ref[np.repeat(crow, ends - heads)]
        order = np.flatnonzero(hot)
        order = order[np.argsort(crow[order], kind="stable")]
        rank = np.arange(len(order)) - np.searchsorted(crow[order], crow[order])
        base, span = int(ts.min()), int(ts.max() - ts.min()) + 2
        key = np.repeat(np.arange(len(heads)), ends - heads) * span + (ts - base)  # sorted overall
        mark = np.full(len(ts), -1)
        value = np.zeros(len(ts), dtype=np.int64)
        for k in range(int(rank.max()) + 1):
            series = order[rank == k]
            cur = ref[crow[series]]
            mark[heads[series]], value[heads[series]] = heads[series], cur
            live = np.arange(len(series))
            while len(live):
                # ts (s) × 1e9 > limit (ns) ⇔ ts > floor(limit / 1e9): the first sample past the limit
                limit = np.clip((cur[live] + self.ahead) // NS - base, -1, span - 1)
                at = np.searchsorted(key, series[live] * span + limit, side="right")
                keep = at < ends[series[live]]
                live, at = live[keep], at[keep]
                cur[live] = self._round(ns[at])
                mark[at], value[at] = at, cur[live]
            ref[crow[series]] = cur
        samples = np.repeat(hot, ends - heads)
        at_add[samples] = value[np.maximum.accumulate(mark)[samples]]
        return at_add
