"""Benchmark-scale utilization samples: N containers × D days of 5-minute samples, streamed.

Same columns as the demo file (``utilization.SCHEMA``; cpu_cores / memory_bytes are float32
here). Containers are written in blocks, one Parquet row group per block, so memory stays
bounded (20,000 containers × 14 days ≈ 80.6 M rows in < 2 GB RSS).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evals.sampledata.catalog import CLUSTER_BY_ENV, DEFAULT_END, ENVS, TEAM_NAMES
from evals.sampledata.utilization import SAMPLES_PER_DAY, STEP_SECONDS, window_start

BLOCK_CONTAINERS = 500
_CPU_REQUESTS = np.array([0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0])
_MEM_REQUESTS = np.array([128, 256, 512, 1024, 2048, 4096, 8192], dtype=np.float64) * 1024**2

BULK_SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("cluster", pa.string()),
        ("namespace", pa.string()),
        ("workload_kind", pa.string()),
        ("workload", pa.string()),
        ("container", pa.string()),
        ("pod", pa.string()),
        ("container_type", pa.string()),
        ("cpu_cores", pa.float32()),
        ("memory_bytes", pa.float32()),
        ("cpu_request", pa.float64()),
        ("cpu_limit", pa.float64()),
        ("memory_request", pa.float64()),
        ("memory_limit", pa.float64()),
        ("oom_killed", pa.bool_()),
    ]
)


def _identity(ids: np.ndarray) -> dict[str, list[str]]:
    """Names for container ids: 2 containers per pod, 2 pods per workload."""
    out: dict[str, list[str]] = {
        k: []
        for k in ("cluster", "namespace", "workload_kind", "workload", "container", "pod", "container_type")
    }
    for i in ids.tolist():
        w, rest = divmod(i, 4)
        pod_slot, c = divmod(rest, 2)
        team = TEAM_NAMES[w % len(TEAM_NAMES)]
        env = ENVS[(w // len(TEAM_NAMES)) % len(ENVS)]
        kind = "StatefulSet" if w % 5 == 0 else "Deployment"
        name = f"svc-{w:05d}"
        out["cluster"].append(CLUSTER_BY_ENV[env])
        out["namespace"].append(f"{team}-{env}")
        out["workload_kind"].append(kind)
        out["workload"].append(name)
        out["container"].append(name if c == 0 else "envoy")
        out["pod"].append(
            f"{name}-{pod_slot}" if kind == "StatefulSet" else f"{name}-7d9f8c6b5-{pod_slot:05d}"
        )
        out["container_type"].append("regular" if c == 0 else "sidecar")
    return out


def generate_utilization_bulk(
    containers: int, days: int, out_path: Path, seed: int, end: date = DEFAULT_END
) -> int:
    """Write ``containers`` × ``days`` × 288 samples to ``out_path``; returns the row count."""
    if containers < 1 or days < 1:
        raise ValueError("containers and days must be ≥ 1")
    rng = np.random.default_rng([seed, 6])
    start = window_start(end, days)
    n = days * SAMPLES_PER_DAY
    offsets = np.arange(n, dtype=np.int64) * STEP_SECONDS * 1_000_000
    times = int(start.timestamp()) * 1_000_000 + offsets
    minutes = np.arange(n) * (STEP_SECONDS // 60)
    hours = (minutes / 60.0) % 24
    weekday = ((start.weekday() + minutes // 1440) % 7) < 5
    demand = ((1.0 + 0.45 * np.sin(2 * np.pi * (hours - 8.0) / 24.0)) * np.where(weekday, 1.0, 0.75)).astype(
        np.float32
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    with pq.ParquetWriter(out_path, BULK_SCHEMA, compression="zstd") as writer:
        for first in range(0, containers, BLOCK_CONTAINERS):
            ids = np.arange(first, min(containers, first + BLOCK_CONTAINERS))
            k = len(ids)
            cpu_req = rng.choice(_CPU_REQUESTS, k)
            mem_req = rng.choice(_MEM_REQUESTS, k)
            cpu_lim = np.where(rng.random(k) < 0.5, cpu_req * 2, np.nan)
            mem_lim = mem_req * rng.choice([1.0, 1.5, 2.0], k)
            cpu_use = rng.uniform(0.02, 0.9, k).astype(np.float32)
            mem_use = rng.uniform(0.15, 0.85, k).astype(np.float32)
            noise = rng.standard_normal((k, n), dtype=np.float32)
            cpu = (cpu_req.astype(np.float32) * cpu_use)[:, None] * demand[None, :] * (1 + 0.1 * noise)
            np.maximum(cpu, 0.0005, out=cpu)
            noise = rng.standard_normal((k, n), dtype=np.float32)
            mem = (mem_lim.astype(np.float32) * mem_use)[:, None] * (1 + 0.02 * noise)
            np.minimum(mem, mem_lim.astype(np.float32)[:, None], out=mem)
            # a few containers hit their memory limit once: OOM-killed at that sample
            oom = np.zeros((k, n), dtype=bool)
            hit = np.flatnonzero(rng.random(k) < 0.01)
            at = rng.integers(0, n, len(hit))
            oom[hit, at] = True
            mem[hit, at] = mem_lim[hit]
            rep = pa.array(np.repeat(np.arange(k), n))
            names = _identity(ids)
            columns = {"timestamp": pa.array(np.tile(times, k), pa.timestamp("us", tz="UTC"))}
            for col, values in names.items():
                columns[col] = pa.array(values, pa.string()).take(rep)
            columns["cpu_cores"] = pa.array(cpu.ravel())
            columns["memory_bytes"] = pa.array(mem.ravel())
            for col, values in (
                ("cpu_request", cpu_req),
                ("cpu_limit", cpu_lim),
                ("memory_request", mem_req),
                ("memory_limit", mem_lim),
            ):
                columns[col] = pa.array(values, pa.float64(), from_pandas=True).take(rep)
            columns["oom_killed"] = pa.array(oom.ravel())
            writer.write_table(pa.table(columns, schema=BULK_SCHEMA))
            total += k * n
    return total
