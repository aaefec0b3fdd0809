"""Kubernetes utilization samples (long format, DESIGN.md "Utilization samples") as Parquet.

One row per (5-minute sample, pod, container). Requests/limits columns carry the values that
are effective in the GitOps repo for that environment, so a right-sizing run can be checked
against the manifests. Behaviours per workload come from the catalogue:

- ``overprovisioned``: usage far below the requests;  ``rightsized``: p95 near the request;
- ``idle``: non-prod, near-zero CPU over the whole window;
- ``hpa``: replica count follows demand (pods come and go), per-pod usage near the HPA target;
- ``oom``: memory climbs to the limit, the sample at the limit has ``oom_killed = true``.
Init containers only appear in the first samples after a pod start; native sidecars run with
the pod. Deployment pods get new names on rollouts and scale-ups; StatefulSet pods keep theirs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evals.sampledata.catalog import Container, Workload, cpu_cores, memory_bytes, workloads

STEP_SECONDS = 300
SAMPLES_PER_DAY = 86400 // STEP_SECONDS
DEFAULT_DAYS = 15
_POD_ALPHABET = np.array(list("bcdfghjklmnpqrstvwxz2456789"))

SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("cluster", pa.string()),
        ("namespace", pa.string()),
        ("workload_kind", pa.string()),
        ("workload", pa.string()),
        ("container", pa.string()),
        ("pod", pa.string()),
        ("container_type", pa.string()),
        ("cpu_cores", pa.float64()),
        ("memory_bytes", pa.float64()),
        ("cpu_request", pa.float64()),
        ("cpu_limit", pa.float64()),
        ("memory_request", pa.float64()),
        ("memory_limit", pa.float64()),
        ("oom_killed", pa.bool_()),
    ]
)


def window_start(end: date, days: int = DEFAULT_DAYS) -> datetime:
    """First sample time: ``days`` whole UTC days ending with (and including) ``end``."""
    return datetime(end.year, end.month, end.day, tzinfo=UTC) - timedelta(days=days - 1)


def _demand(n: int, start: datetime, rng: np.random.Generator) -> np.ndarray:
    """Load shape in [~0.45, ~1.5]: diurnal peak at 14:00 UTC, weekends at 75%."""
    minutes = np.arange(n) * (STEP_SECONDS // 60)
    hours = (start.hour + minutes / 60.0) % 24
    day = (start.weekday() + (start.hour * 60 + minutes) // 1440) % 7
    diurnal = 1.0 + 0.45 * np.sin(2 * np.pi * (hours - 8.0) / 24.0)
    weekly = np.where(day >= 5, 0.75, 1.0)
    # slow random walk so days differ a little
    walk = np.cumsum(rng.normal(0.0, 0.004, n))
    return diurnal * weekly * (1.0 + walk - walk.mean())


def _pod_name(workload: Workload, rng: np.random.Generator, slot: int, rs_hash: str) -> str:
    if workload.kind == "StatefulSet":
        return f"{workload.name}-{slot}"
    return f"{workload.name}-{rs_hash}-{''.join(rng.choice(_POD_ALPHABET, 5))}"


def _rs_hash(rng: np.random.Generator) -> str:
    return "".join(rng.choice(_POD_ALPHABET, 10))


def _pods_over_time(w: Workload, demand: np.ndarray) -> np.ndarray:
    """Number of running pods at each sample (HPA follows demand, others fixed)."""
    hpa = w.service.hpa if w.env == "prod" else None
    if hpa is None or w.behaviour != "hpa":
        return np.full(demand.shape, w.replicas)
    wanted = np.ceil(w.replicas * demand / demand.mean() * 1.1)
    return np.clip(wanted, hpa.min_replicas, hpa.max_replicas).astype(int)


class _Rows:
    """Column buffers; numpy chunks are concatenated once at the end."""

    def __init__(self) -> None:
        self.idx: list[np.ndarray] = []
        self.cpu: list[np.ndarray] = []
        self.mem: list[np.ndarray] = []
        self.oom: list[np.ndarray] = []
        self.meta: list[tuple[int, tuple[object, ...]]] = []

    def add(self, idx: np.ndarray, cpu: np.ndarray, mem: np.ndarray, oom: np.ndarray, meta: tuple) -> None:
        self.idx.append(idx)
        self.cpu.append(cpu)
        self.mem.append(mem)
        self.oom.append(oom)
        self.meta.append((len(idx), meta))


def _memory_series(
    c: Container, w: Workload, n: int, rng: np.random.Generator, demand: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    req = memory_bytes(c.resources.memory_request) or 0.0
    lim = memory_bytes(c.resources.memory_limit) or req * 1.5
    if w.behaviour == "idle":
        base = 0.18 * req * (1 + rng.normal(0, 0.01, n))
        return base, np.zeros(n, bool)
    level = c.mem_use * lim
    if w.behaviour == "oom" and c.container_type == "regular":
        # a leak: grows from 55% of the limit and is killed when it reaches the limit
        growth = rng.uniform(0.0008, 0.0014) * lim
        mem = np.empty(n)
        oom = np.zeros(n, bool)
        value = lim * rng.uniform(0.55, 0.9)
        for i in range(n):  # sequential by nature (reset after a kill); n is only 4,320
            value += growth * (0.6 + 0.8 * rng.random())
            if value >= lim:
                mem[i], oom[i] = lim, True
                value = 0.55 * lim
            else:
                mem[i] = value
        return mem, oom
    mem = level * (0.97 + 0.05 * (demand - 1.0) + rng.normal(0, 0.01, n))
    return np.minimum(mem, 0.97 * lim), np.zeros(n, bool)


def _cpu_series(
    c: Container, w: Workload, n: int, rng: np.random.Generator, demand: np.ndarray
) -> np.ndarray:
    req = cpu_cores(c.resources.cpu_request) or 0.1
    if w.behaviour == "idle":
        return 0.001 + np.abs(rng.normal(0, 0.0008, n))
    use = c.cpu_use if w.env == "prod" else c.cpu_use * 0.5
    cpu = use * req * demand * (1 + rng.normal(0, 0.08, n))
    lim = cpu_cores(c.resources.cpu_limit)
    return np.clip(cpu, 0.001, lim if lim else None)


def _workload_rows(w: Workload, start: datetime, n: int, seed: int, number: int, rows: _Rows) -> None:
    rng = np.random.default_rng([seed, 1, number])
    demand = _demand(n, start, rng)
    if w.behaviour == "idle":
        demand = np.ones(n)
    pods = _pods_over_time(w, demand)
    max_pods = int(pods.max())
    # rollouts: every pod is replaced at these samples (new ReplicaSet hash for Deployments)
    restarts = w.service.restarts if w.env != "dev" else 0
    cuts = sorted(
        int(x) for x in rng.choice(np.arange(SAMPLES_PER_DAY, n - SAMPLES_PER_DAY), restarts, replace=False)
    )
    edges = [0, *cuts, n]
    per_pod_demand = demand * w.replicas / np.maximum(pods, 1) if w.behaviour == "hpa" else demand
    for seg in range(len(edges) - 1):
        rs_hash = _rs_hash(rng)
        for slot in range(max_pods):
            alive = pods[edges[seg] : edges[seg + 1]] > slot
            # each contiguous run of "alive" is one pod (scale-up creates a new pod name)
            padded = np.concatenate([[False], alive, [False]]).astype(int)
            starts = np.flatnonzero(np.diff(padded) == 1) + edges[seg]
            stops = np.flatnonzero(np.diff(padded) == -1) + edges[seg]
            for a, b in zip(starts, stops, strict=True):
                pod = _pod_name(w, rng, slot, rs_hash)
                fresh = a > 0  # started inside the window: its init containers ran
                for c in w.containers:
                    _container_rows(w, c, pod, a, b, fresh, rng, per_pod_demand, rows)


def _container_rows(
    w: Workload,
    c: Container,
    pod: str,
    a: int,
    b: int,
    fresh: bool,
    rng: np.random.Generator,
    demand: np.ndarray,
    rows: _Rows,
) -> None:
    res = c.resources
    meta = (
        w.cluster,
        w.namespace,
        w.kind,
        w.name,
        c.name,
        pod,
        c.container_type,
        cpu_cores(res.cpu_request),
        cpu_cores(res.cpu_limit),
        memory_bytes(res.memory_request),
        memory_bytes(res.memory_limit),
    )
    if c.container_type == "init":
        if not fresh:
            return
        b = min(a + 2, b)  # an init container runs for the first ~10 minutes of the pod only
        idx = np.arange(a, b)
        cpu = (cpu_cores(res.cpu_limit) or 0.2) * rng.uniform(0.5, 0.9, len(idx))
        mem = (memory_bytes(res.memory_limit) or 1e8) * rng.uniform(0.3, 0.6, len(idx))
        rows.add(idx, cpu, mem, np.zeros(len(idx), bool), meta)
        return
    n = b - a
    idx = np.arange(a, b)
    cpu = _cpu_series(c, w, n, rng, demand[a:b])
    mem, oom = _memory_series(c, w, n, rng, demand[a:b])
    rows.add(idx, cpu, mem, oom, meta)


def build_table(end: date, seed: int, days: int = DEFAULT_DAYS) -> pa.Table:
    """All catalogue workloads' samples as one Arrow table (sorted by series, then time)."""
    start = window_start(end, days)
    n = days * SAMPLES_PER_DAY
    rows = _Rows()
    for number, w in enumerate(workloads()):
        _workload_rows(w, start, n, seed, number, rows)
    lengths = np.array([m[0] for m in rows.meta])
    metas = [m[1] for m in rows.meta]
    idx = np.concatenate(rows.idx)
    start_us = int(start.timestamp()) * 1_000_000
    columns: dict[str, pa.Array] = {
        "timestamp": pa.array(
            start_us + idx.astype(np.int64) * STEP_SECONDS * 1_000_000, pa.timestamp("us", tz="UTC")
        )
    }
    names = ["cluster", "namespace", "workload_kind", "workload", "container", "pod", "container_type"]
    for j, name in enumerate(names):
        dictionary = pa.array([m[j] for m in metas], pa.string())
        columns[name] = dictionary.take(pa.array(np.repeat(np.arange(len(metas)), lengths)))
    columns["cpu_cores"] = pa.array(np.round(np.concatenate(rows.cpu), 6))
    columns["memory_bytes"] = pa.array(np.round(np.concatenate(rows.mem)))
    for j, name in enumerate(["cpu_request", "cpu_limit", "memory_request", "memory_limit"], start=7):
        per_series = pa.array([m[j] for m in metas], pa.float64())
        columns[name] = per_series.take(pa.array(np.repeat(np.arange(len(metas)), lengths)))
    columns["oom_killed"] = pa.array(np.concatenate(rows.oom))
    return pa.table(columns, schema=SCHEMA)


def write_utilization(out_path: Path, end: date, seed: int, days: int = DEFAULT_DAYS) -> int:
    """Write the demo samples to ``out_path`` (Parquet, zstd); returns the row count."""
    table = build_table(end, seed, days)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out_path, compression="zstd", row_group_size=256_000)
    return table.num_rows
