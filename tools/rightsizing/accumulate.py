"""Per-container statistics every preset needs, accumulated chunk by chunk (vectorised).

A *container* is one container name of one workload (all its pods together); a *series* is
one pod's container. Chunks arrive from ``warehouse.utilization_series``; the table grows as
new containers appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warehouse.utilization_series import SeriesChunk

ContainerKey = tuple[str, str, str, str, str]  # cluster, namespace, kind, workload, container
_CURRENT = ("cpu_request", "cpu_limit", "memory_request", "memory_limit")


class Growable:
    """Named 1-D (or 2-D, rows = containers) arrays that grow by doubling."""

    def __init__(self, specs: dict[str, tuple[np.dtype | type, float | int | bool, int]]) -> None:
        self._specs = specs  # name -> (dtype, fill value, width; 0 = 1-D)
        self.capacity = 64
        self.arrays: dict[str, np.ndarray] = {n: self._new(n, self.capacity) for n in specs}

    def _new(self, name: str, rows: int) -> np.ndarray:
        dtype, fill, width = self._specs[name]
        shape = (rows, width) if width else (rows,)
        return np.full(shape, fill, dtype=dtype)

    def ensure(self, rows: int) -> None:
        if rows <= self.capacity:
            return
        cap = self.capacity
        while cap < rows:
            cap *= 2
        for name, old in self.arrays.items():
            new = self._new(name, cap)
            new[: self.capacity] = old
            self.arrays[name] = new
        self.capacity = cap

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]


@dataclass
class ContainerIndex:
    """Container key → row, plus the per-series mapping of each chunk."""

    rows: dict[ContainerKey, int] = field(default_factory=dict)
    keys: list[ContainerKey] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def map_chunk(self, chunk: SeriesChunk) -> np.ndarray:
        out = np.empty(len(chunk.keys), dtype=np.int64)
        for i, key in enumerate(chunk.keys):
            ckey: ContainerKey = key[:5]  # type: ignore[assignment]
            row = self.rows.get(ckey)
            if row is None:
                row = len(self.keys)
                self.rows[ckey] = row
                self.keys.append(ckey)
                self.types.append(key[6])
            out[i] = row
        return out

    def __len__(self) -> int:
        return len(self.keys)


class CommonStats:
    """Counts, time span, replicas, memory peak, current values and OOM kills per container."""

    def __init__(self) -> None:
        self.index = ContainerIndex()
        self.t = Growable(
            {
                "n_rows": (np.int64, 0, 0),
                "n_cpu": (np.int64, 0, 0),
                "n_mem": (np.int64, 0, 0),
                "first": (np.int64, np.iinfo(np.int64).max, 0),
                "last": (np.int64, np.iinfo(np.int64).min, 0),
                "pods": (np.int64, 0, 0),
                "pod_seconds": (np.float64, 0.0, 0),
                "mem_peak": (np.float64, np.nan, 0),
                "current_ts": (np.int64, np.iinfo(np.int64).min, 0),
                **{c: (np.float64, np.nan, 0) for c in _CURRENT},
                "oom_kills": (np.int64, 0, 0),
                "oom_limit": (np.float64, np.nan, 0),
            }
        )
        self.samples_read = 0

    def add(self, chunk: SeriesChunk) -> np.ndarray:
        """Fold one chunk in; returns the container row of each series (for the preset)."""
        cidx = self.index.map_chunk(chunk)
        self.t.ensure(len(self.index))
        t = self.t
        starts, ends = chunk.offsets[:-1], chunk.offsets[1:] - 1
        lengths = chunk.lengths
        self.samples_read += chunk.rows
        np.add.at(t["n_rows"], cidx, lengths)
        np.add.at(t["n_cpu"], cidx, np.add.reduceat(~np.isnan(chunk.cpu), starts))
        np.add.at(t["n_mem"], cidx, np.add.reduceat(~np.isnan(chunk.mem), starts))
        first, last = chunk.ts[starts], chunk.ts[ends]
        np.minimum.at(t["first"], cidx, first)
        np.maximum.at(t["last"], cidx, last)
        np.add.at(t["pods"], cidx, 1)
        # A series of n samples covers n sampling steps: (last - first) * n / (n - 1) seconds.
        span = (last - first).astype(np.float64)
        covered = np.where(lengths > 1, span * lengths / np.maximum(lengths - 1, 1), 0.0)
        np.add.at(t["pod_seconds"], cidx, covered)
        peaks = np.fmax.reduceat(chunk.mem, starts)
        np.fmax.at(t["mem_peak"], cidx, peaks)
        # Current requests/limits: the values at the most recent sample of the container.
        for s in range(len(cidx)):
            row = cidx[s]
            if last[s] >= t["current_ts"][row]:
                t["current_ts"][row] = last[s]
                for col in _CURRENT:
                    t[col][row] = getattr(chunk, col)[ends[s]]
        oom_rows = np.flatnonzero(chunk.oom)
        if len(oom_rows):
            series = np.searchsorted(chunk.offsets, oom_rows, side="right") - 1
            np.add.at(t["oom_kills"], cidx[series], 1)
            np.fmax.at(t["oom_limit"], cidx[series], chunk.memory_limit[oom_rows])
        return cidx

    def replicas(self, row: int) -> float:
        """Average pods running at once over the container's observed span."""
        t = self.t
        if t["n_rows"][row] == 0:
            return 0.0
        pods = int(t["pods"][row])
        span = float(t["last"][row] - t["first"][row])
        step = span / max(int(t["n_rows"][row]) / max(pods, 1) - 1, 1) if span > 0 else 0.0
        denom = span + step
        return float(t["pod_seconds"][row] / denom) if denom > 0 else float(pods)


def per_series_quantile(values: np.ndarray, offsets: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolated quantile of each series, NaN skipped (pandas' groupby quantile rule).

    Series of equal length are stacked into one 2-D block and cut with one ``np.partition``
    (the compute floor); ``value[i] + (value[i+1] - value[i]) * frac`` as pandas computes it.
    """
    nan = np.isnan(values)
    if nan.any():
        keep = ~nan
        counts = (
            np.add.reduceat(keep.astype(np.int64), offsets[:-1]) if len(values) else np.zeros(0, np.int64)
        )
        counts[np.diff(offsets) == 0] = 0
        values = values[keep]
        offsets = np.concatenate(([0], np.cumsum(counts)))
    lengths = np.diff(offsets)
    out = np.full(len(lengths), np.nan)
    for length in np.unique(lengths):
        n = int(length)
        if n == 0:
            continue
        sel = np.flatnonzero(lengths == n)
        if len(sel) == len(lengths):
            block = values[: n * len(sel)].reshape(len(sel), n)
        else:
            block = values[offsets[sel][:, None] + np.arange(n)]
        float_idx = q * (n - 1)
        i = int(float_idx)
        frac = float_idx % 1
        # Partition in the stored dtype (float32 stays float32: same order), interpolate in float64.
        if frac == 0.0 or i + 1 >= n:
            out[sel] = np.partition(block, i, axis=1)[:, i]
        else:
            part = np.partition(block, (i, i + 1), axis=1)
            low, high = part[:, i].astype(np.float64), part[:, i + 1].astype(np.float64)
            out[sel] = low + (high - low) * frac
    return out
