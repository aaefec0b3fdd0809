"""A REAL Prometheus (Debian package ``prometheus``) serving given utilization samples.

The samples are written as OpenMetrics the way cAdvisor and kube-state-metrics expose them
(CPU as a cumulative ``container_cpu_usage_seconds_total`` counter), backfilled with
``promtool tsdb create-blocks-from openmetrics`` and served by ``prometheus`` on a free
loopback port. Readiness comes from the server's own "ready" log line, then ``/-/ready``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd

MISSING = (
    "the Debian package `prometheus` is not installed (no `prometheus` / `promtool` on PATH); "
    "install it with `apt-get install -y prometheus` — this test needs a real Prometheus"
)


def require_binaries() -> None:
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        raise RuntimeError(MISSING)


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def _epoch(stamps: pd.Series) -> list[int]:
    return [int(t.timestamp()) for t in stamps]


def write_openmetrics(samples: pd.DataFrame, path: Path, step: int) -> None:
    """Samples (DESIGN.md columns) → OpenMetrics text, families grouped, series in time order."""
    df = samples.sort_values(["namespace", "pod", "container", "timestamp"])
    fam: dict[str, list[str]] = defaultdict(list)
    types = {
        "container_cpu_usage_seconds": "counter",
        "container_memory_working_set_bytes": "gauge",
        "kube_pod_container_resource_requests": "gauge",
        "kube_pod_container_resource_limits": "gauge",
        "kube_pod_container_status_last_terminated_reason": "gauge",
        "kube_pod_owner": "gauge",
        "kube_replicaset_owner": "gauge",
        "kube_pod_init_container_info": "gauge",
    }
    owners_done: set[tuple[str, str]] = set()
    rs_series: dict[str, set[int]] = defaultdict(set)  # one series per ReplicaSet, shared by its pods
    for (ns, pod, container), g in df.groupby(["namespace", "pod", "container"], sort=True):
        first = g.iloc[0]
        ids = {"cluster": first["cluster"], "namespace": ns, "pod": pod, "container": container}
        lab = _labels(**ids)
        secs = _epoch(g["timestamp"])
        # Counter: 0 one step before the first sample, then + usage × step at each sample.
        total = 0.0
        fam["container_cpu_usage_seconds"].append(
            f"container_cpu_usage_seconds_total{lab} 0 {secs[0] - step}"
        )
        for t, cpu in zip(secs, g["cpu_cores"].tolist(), strict=True):
            total += cpu * step
            fam["container_cpu_usage_seconds"].append(f"container_cpu_usage_seconds_total{lab} {total!r} {t}")
        for t, mem in zip(secs, g["memory_bytes"].tolist(), strict=True):
            fam["container_memory_working_set_bytes"].append(
                f"container_memory_working_set_bytes{lab} {int(mem)} {t}"
            )
        for col, metric, resource, unit in (
            ("cpu_request", "kube_pod_container_resource_requests", "cpu", "core"),
            ("memory_request", "kube_pod_container_resource_requests", "memory", "byte"),
            ("cpu_limit", "kube_pod_container_resource_limits", "cpu", "core"),
            ("memory_limit", "kube_pod_container_resource_limits", "memory", "byte"),
        ):
            if col not in g or g[col].isna().all():
                continue
            rl = _labels(**ids, resource=resource, unit=unit)
            for t, v in zip(secs, g[col].tolist(), strict=True):
                if pd.notna(v):
                    fam[metric].append(f"{metric}{rl} {v!r} {t}")
        if "oom_killed" in g and g["oom_killed"].any():
            ol = _labels(**ids, reason="OOMKilled")
            killed = False
            for t, oom in zip(secs, g["oom_killed"].tolist(), strict=True):
                killed = killed or bool(oom)
                if killed:
                    fam["kube_pod_container_status_last_terminated_reason"].append(
                        f"kube_pod_container_status_last_terminated_reason{ol} 1 {t}"
                    )
        ctype = first.get("container_type", "regular")
        if ctype in ("init", "sidecar"):
            il = _labels(**ids, restart_policy="Always" if ctype == "sidecar" else "Never")
            for t in secs:
                fam["kube_pod_init_container_info"].append(f"kube_pod_init_container_info{il} 1 {t}")
        if (ns, pod) not in owners_done:
            owners_done.add((ns, pod))
            rs = f"{first['workload']}-rs"
            kind = first["workload_kind"]
            owner_kind, owner_name = ("ReplicaSet", rs) if kind == "Deployment" else (kind, first["workload"])
            pl = _labels(namespace=ns, pod=pod, owner_kind=owner_kind, owner_name=owner_name)
            pod_secs = _epoch(df[(df["namespace"] == ns) & (df["pod"] == pod)]["timestamp"])
            for t in sorted(set(pod_secs)):
                fam["kube_pod_owner"].append(f"kube_pod_owner{pl} 1 {t}")
            if kind == "Deployment":
                rl = _labels(
                    namespace=ns, replicaset=rs, owner_kind="Deployment", owner_name=first["workload"]
                )
                rs_series[rl].update(pod_secs)
    for rl, stamps in rs_series.items():
        fam["kube_replicaset_owner"].extend(f"kube_replicaset_owner{rl} 1 {t}" for t in sorted(stamps))
    lines: list[str] = []
    for name, kind in types.items():
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(fam.get(name, []))
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_prometheus(samples: pd.DataFrame, workdir: Path, step: int = 300) -> Iterator[str]:
    """Backfill the samples and serve them; yields the base URL."""
    require_binaries()
    om = workdir / "samples.om"
    data = workdir / "tsdb"
    write_openmetrics(samples, om, step)
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(om), str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = _free_port()
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=100y",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = threading.Event()
    log: list[str] = []

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if "Server is ready to receive web requests" in line:
                ready.set()
        ready.set()  # the process ended

    threading.Thread(target=watch, daemon=True).start()
    try:
        if not ready.wait(60) or proc.poll() is not None:
            raise RuntimeError("prometheus did not start:\n" + "".join(log[-20:]))
        url = f"http://127.0.0.1:{port}"
        httpx.get(f"{url}/-/ready", timeout=10).raise_for_status()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
