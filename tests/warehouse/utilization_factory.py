"""Small synthetic utilization samples with the DESIGN.md columns, for tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

START = datetime(2026, 11, 1, tzinfo=UTC)
MI = 1024**2
GI = 1024**3


def series(
    pod: str,
    cpu: Sequence[float] | np.ndarray,
    mem: Sequence[float] | np.ndarray | float,
    *,
    workload: str = "api",
    container: str = "app",
    namespace: str = "shop",
    kind: str = "Deployment",
    cluster: str = "c1",
    start: datetime = START,
    step: int = 300,
    **const: Any,
) -> pd.DataFrame:
    """One pod's container: ``len(cpu)`` samples every ``step`` seconds from ``start``."""
    n = len(cpu)
    mem_arr = np.full(n, float(mem)) if np.isscalar(mem) else np.asarray(mem, dtype=float)
    frame = pd.DataFrame(
        {
            "timestamp": [start + timedelta(seconds=step * i) for i in range(n)],
            "cluster": cluster,
            "namespace": namespace,
            "workload_kind": kind,
            "workload": workload,
            "container": container,
            "pod": pod,
            "cpu_cores": np.asarray(cpu, dtype=float),
            "memory_bytes": mem_arr,
        }
    )
    for key, value in const.items():
        frame[key] = value
    return frame


def frame(*parts: pd.DataFrame) -> pd.DataFrame:
    df = pd.concat(parts, ignore_index=True)
    for col in ("container_type", "cpu_request", "cpu_limit", "memory_request", "memory_limit", "oom_killed"):
        if col not in df:
            df[col] = {"container_type": "regular", "oom_killed": False}.get(col, np.nan)
    df["container_type"] = df["container_type"].fillna("regular")
    df["oom_killed"] = df["oom_killed"].fillna(False).astype(bool)
    return df


def to_table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)
