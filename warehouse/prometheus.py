"""Utilization samples from Prometheus over HTTP, with KRR's metrics, in bounded chunks.

Metrics (as KRR queries them): ``rate(container_cpu_usage_seconds_total[step])`` and
``container_memory_working_set_bytes`` (max by namespace, pod, container);
``kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}`` (+ restarts) for OOM
kills; kube-state-metrics ``kube_pod_container_resource_requests|limits`` for current values;
``kube_pod_owner`` / ``kube_replicaset_owner`` for the workload; ``kube_pod_init_container_info``
for init containers and native sidecars (``restart_policy="Always"``).

Why chunks: KRR users hit HTTP 431 (a pod regex of a big cluster in the URL) and OOM-killed
Prometheus servers (one query over all pods × 14 days). Here every query goes as a POST form
body, covers at most ``pod_batch`` pods of one namespace (and ``max_selector_chars`` of regex)
and one time window of at most ``window_hours``, with at most ``concurrency`` in flight,
retries with exponential backoff for 429/5xx/timeouts, and a one-line ExternalError otherwise.

The fetched samples are written to a Parquet file in the workspace and loaded through the file
ingest, so the same validation, de-duplication and rejected-rows file apply.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.errors import ExternalError, InputError
from warehouse.ingest_models import IngestResult
from warehouse.utilization import ingest_utilization_file, open_samples

PodKey = tuple[str, str]  # namespace, pod
SeriesId = tuple[str, str, str]  # namespace, pod, container


class PrometheusSettings(BaseModel):
    """How to talk to Prometheus; the bounds keep every single query small."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="base URL, e.g. http://prometheus:9090")
    step_seconds: int = Field(300, ge=15, le=3600, description="sample step (and rate window), seconds")
    window_hours: int = Field(24, ge=1, le=24 * 14, description="longest time range of one query")
    pod_batch: int = Field(50, ge=1, le=500, description="most pods in one query")
    max_selector_chars: int = Field(2000, ge=100, le=20000, description="longest pod regex in one query")
    concurrency: int = Field(4, ge=1, le=32, description="queries in flight at once")
    retries: int = Field(3, ge=0, le=10, description="retries of a query on 429/5xx/timeouts")
    backoff_seconds: float = Field(0.5, ge=0, le=60, description="first retry delay, doubled each time")
    timeout_seconds: float = Field(60, gt=0, le=600, description="HTTP timeout of one query")
    cluster: str = Field("default", description="cluster name when series carry no `cluster` label")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        # A malformed URL is bad input (exit 2 at once), not a server to retry.
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"--url {url!r}: not an http(s) URL with a host, e.g. http://prometheus:9090")
        return url.strip()


class PrometheusIngestResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    start: datetime
    end: datetime
    queries: int
    series: int
    pods: int
    file: str
    ingest: IngestResult

    def summary_line(self) -> str:
        return (
            f"{self.url}: {self.queries} queries, {self.pods} pods, {self.series} container series; "
            + self.ingest.summary_line()
        )


class _Client:
    """POST queries with bounded concurrency, retries and one-line errors."""

    def __init__(self, settings: PrometheusSettings, transport: httpx.AsyncBaseTransport | None) -> None:
        self.s = settings
        self.base = settings.url.rstrip("/")
        self.sem = asyncio.Semaphore(settings.concurrency)
        self.http = httpx.AsyncClient(timeout=settings.timeout_seconds, transport=transport)
        self.queries = 0

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, path: str, form: dict[str, Any]) -> Any:
        delay = self.s.backoff_seconds
        for attempt in range(self.s.retries + 1):
            async with self.sem:
                self.queries += 1
                try:
                    resp = await self.http.post(self.base + path, data=form)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    problem = f"Prometheus at {self.base} is not reachable ({type(exc).__name__})"
                    retry = True
                except httpx.TimeoutException:
                    problem, retry = f"Prometheus at {self.base} timed out on {path}", True
                except httpx.HTTPError as exc:
                    problem, retry = f"Prometheus at {self.base}: {type(exc).__name__}: {exc}", True
                else:
                    if resp.status_code == 200:
                        body = resp.json()
                        if body.get("status") != "success":
                            raise ExternalError(
                                f"Prometheus at {self.base} refused {path}: {body.get('error')}"
                            )
                        return body["data"]
                    problem = f"Prometheus at {self.base} answered HTTP {resp.status_code} on {path}"
                    detail = _error_text(resp)
                    if detail:
                        problem += f": {detail}"
                    retry = resp.status_code == 429 or resp.status_code >= 500
            if not retry or attempt == self.s.retries:
                raise ExternalError(problem + (f" (after {attempt + 1} attempts)" if attempt else ""))
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _error_text(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("error", ""))[:200]
    except ValueError:
        return resp.text.strip().splitlines()[0][:200] if resp.text.strip() else ""


def _windows(start: datetime, end: datetime, settings: PrometheusSettings) -> list[tuple[int, int]]:
    """Aligned [from, to] evaluation ranges; each at most window_hours and 10,000 points."""
    step = settings.step_seconds
    lo = int(start.timestamp()) // step * step
    hi = int(end.timestamp()) // step * step
    width = min(settings.window_hours * 3600, 10_000 * step) // step * step
    out, t = [], lo
    while t <= hi:
        out.append((t, min(t + width - step, hi)))
        t += width
    return out


def _regex_escape(value: str) -> str:
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", value).replace('"', '\\"')


def pod_batches(pods: list[str], settings: PrometheusSettings) -> list[list[str]]:
    """Split pods so no query names more than pod_batch pods or max_selector_chars of regex."""
    batches: list[list[str]] = []
    cur: list[str] = []
    size = 0
    for pod in pods:
        piece = len(_regex_escape(pod)) + 1
        if cur and (len(cur) >= settings.pod_batch or size + piece > settings.max_selector_chars):
            batches.append(cur)
            cur, size = [], 0
        cur.append(pod)
        size += piece
    if cur:
        batches.append(cur)
    return batches


_CONTAINER = 'container!="", container!="POD"'


def _queries(ns: str, pods: list[str], step: int) -> dict[str, str]:
    sel = f'namespace="{ns}", pod=~"{"|".join(_regex_escape(p) for p in pods)}"'
    by = "by (namespace, pod, container)"
    return {
        "cpu": f"max {by} (rate(container_cpu_usage_seconds_total{{{sel}, {_CONTAINER}}}[{step}s]))",
        # max_over_time over one step (minus 1s): the peak inside each step, and no stale repeat
        # of the last sample one step after a pod is gone (the lookback window would give one).
        "memory": f"max {by} (max_over_time(container_memory_working_set_bytes{{{sel}, {_CONTAINER}}}[{step - 1}s]))",
        "requests": f'max {by[:-1]}, resource) (kube_pod_container_resource_requests{{{sel}, resource=~"cpu|memory"}})',
        "limits": f'max {by[:-1]}, resource) (kube_pod_container_resource_limits{{{sel}, resource=~"cpu|memory"}})',
        "oom": f'max {by} (kube_pod_container_status_last_terminated_reason{{{sel}, reason="OOMKilled"}})',
        "restarts": f"max {by} (kube_pod_container_status_restarts_total{{{sel}}})",
    }


async def _series_labels(client: _Client, match: str, start: int, end: int) -> list[dict[str, str]]:
    return await client.call("/api/v1/series", {"match[]": match, "start": start, "end": end})


async def _discover(
    client: _Client, windows: list[tuple[int, int]]
) -> tuple[dict[PodKey, set[str]], dict[PodKey, tuple[str, str]], dict[SeriesId, str], dict[PodKey, str]]:
    """Pods and containers with memory samples; their owners, container types and cluster."""
    pods: dict[PodKey, set[str]] = defaultdict(set)
    cluster: dict[PodKey, str] = {}
    owners: dict[PodKey, tuple[str, str]] = {}
    rs_owner: dict[tuple[str, str], tuple[str, str]] = {}
    types: dict[SeriesId, str] = {}
    for lo, hi in windows:
        found, pod_owner, rs, init = await asyncio.gather(
            _series_labels(client, f"container_memory_working_set_bytes{{{_CONTAINER}}}", lo, hi),
            _series_labels(client, "kube_pod_owner", lo, hi),
            _series_labels(client, "kube_replicaset_owner", lo, hi),
            _series_labels(client, "kube_pod_init_container_info", lo, hi),
        )
        for s in found:
            if s.get("namespace") and s.get("pod"):
                key = (s["namespace"], s["pod"])
                pods[key].add(s["container"])
                if s.get("cluster"):
                    cluster[key] = s["cluster"]
        for s in pod_owner:
            if s.get("owner_kind") and s.get("owner_name") and s.get("owner_kind") != "<none>":
                owners[(s.get("namespace", ""), s.get("pod", ""))] = (s["owner_kind"], s["owner_name"])
        for s in rs:
            if s.get("owner_kind") and s.get("owner_name") and s.get("owner_kind") != "<none>":
                rs_owner[(s.get("namespace", ""), s.get("replicaset", ""))] = (
                    s["owner_kind"],
                    s["owner_name"],
                )
        for s in init:
            sid = (s.get("namespace", ""), s.get("pod", ""), s.get("container", ""))
            types[sid] = "sidecar" if s.get("restart_policy") == "Always" else "init"
    for key, (kind, name) in list(owners.items()):
        if kind == "ReplicaSet" and (key[0], name) in rs_owner:
            owners[key] = rs_owner[(key[0], name)]
    return pods, owners, types, cluster


def _matrix(data: dict[str, Any]) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
    out = []
    for item in data.get("result", []):
        values = item.get("values", [])
        ts = np.array([int(float(v[0])) for v in values], dtype=np.int64)
        vals = np.array([float(v[1]) for v in values], dtype=np.float64)
        out.append((item["metric"], ts, vals))
    return out


async def _fetch(client: _Client, ns: str, pods: list[str], lo: int, hi: int, step: int) -> dict[str, Any]:
    names = list(_queries(ns, pods, step).items())
    results = await asyncio.gather(
        *(
            client.call("/api/v1/query_range", {"query": q, "start": lo, "end": hi, "step": step})
            for _, q in names
        )
    )
    return {name: _matrix(data) for (name, _), data in zip(names, results, strict=True)}


def _rows(
    fetched: list[dict[str, Any]],
    owners: dict[PodKey, tuple[str, str]],
    types: dict[SeriesId, str],
    clusters: dict[PodKey, str],
    settings: PrometheusSettings,
) -> pa.Table:
    """One row per (series, timestamp) where CPU or memory was observed."""
    values: dict[SeriesId, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for part in fetched:
        for metric_name in ("cpu", "memory", "oom", "restarts"):
            for labels, ts, vals in part[metric_name]:
                sid = (labels.get("namespace", ""), labels.get("pod", ""), labels.get("container", ""))
                values[sid][metric_name].update(zip(ts.tolist(), vals.tolist(), strict=True))
        for kind in ("requests", "limits"):
            for labels, ts, vals in part[kind]:
                sid = (labels.get("namespace", ""), labels.get("pod", ""), labels.get("container", ""))
                col = f"{labels.get('resource')}_{kind[:-1]}"  # cpu_request, memory_limit, ...
                values[sid][col].update(zip(ts.tolist(), vals.tolist(), strict=True))
    cols: dict[str, list[Any]] = defaultdict(list)
    for sid in sorted(values):
        series = values[sid]
        ns, pod, container = sid
        stamps = sorted(set(series["cpu"]) | set(series["memory"]))
        if not stamps:
            continue
        kind, workload = owners.get((ns, pod), ("Pod", pod))
        oom_at = _oom_events(series["oom"], series["restarts"], settings.step_seconds)
        for t in stamps:
            cols["timestamp"].append(datetime.fromtimestamp(t, UTC))
            cols["cluster"].append(clusters.get((ns, pod), settings.cluster))
            cols["namespace"].append(ns)
            cols["workload_kind"].append(kind)
            cols["workload"].append(workload)
            cols["container"].append(container)
            cols["pod"].append(pod)
            cols["container_type"].append(types.get(sid, "regular"))
            cols["cpu_cores"].append(series["cpu"].get(t))
            cols["memory_bytes"].append(series["memory"].get(t))
            for col in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
                cols[col].append(series[col].get(t) if col in series else None)
            cols["oom_killed"].append(t in oom_at)
    schema = pa.schema(
        [
            ("timestamp", pa.timestamp("s", tz="UTC")),
            *(
                (c, pa.string())
                for c in (
                    "cluster",
                    "namespace",
                    "workload_kind",
                    "workload",
                    "container",
                    "pod",
                    "container_type",
                )
            ),
            *(
                (c, pa.float64())
                for c in (
                    "cpu_cores",
                    "memory_bytes",
                    "cpu_request",
                    "cpu_limit",
                    "memory_request",
                    "memory_limit",
                )
            ),
            ("oom_killed", pa.bool_()),
        ]
    )
    return pa.table({f.name: cols.get(f.name, []) for f in schema}, schema=schema)


def _oom_events(reason: dict[int, float], restarts: dict[int, float], step: int) -> set[int]:
    """Instants where a container was OOM-killed: the reason turns OOMKilled, or restarts while it is."""
    events: set[int] = set()
    for t in sorted(reason):
        if reason[t] != 1:
            continue
        before = reason.get(t - step)
        restarted = t in restarts and (t - step) in restarts and restarts[t] > restarts[t - step]
        if before != 1 or restarted:
            events.add(t)
    return events


async def _collect(
    settings: PrometheusSettings, start: datetime, end: datetime, transport: httpx.AsyncBaseTransport | None
) -> tuple[pa.Table, int, int]:
    client = _Client(settings, transport)
    try:
        windows = _windows(start, end, settings)
        pods, owners, types, clusters = await _discover(client, windows)
        by_ns: dict[str, list[str]] = defaultdict(list)
        for ns, pod in sorted(pods):
            by_ns[ns].append(pod)
        jobs = [
            _fetch(client, ns, batch, lo, hi, settings.step_seconds)
            for ns, ns_pods in by_ns.items()
            for batch in pod_batches(ns_pods, settings)
            for lo, hi in windows
        ]
        fetched = await asyncio.gather(*jobs)
        table = _rows(list(fetched), owners, types, clusters, settings)
        return table, client.queries, len(pods)
    finally:
        await client.close()


def fetch_samples(
    settings: PrometheusSettings,
    start: datetime,
    end: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[pa.Table, int, int]:
    """(samples table in the utilization file layout, queries sent, pods found)."""
    return asyncio.run(_collect(settings, start, end, transport))


def ingest_prometheus(
    warehouse_path: Path,
    settings: PrometheusSettings,
    start: datetime,
    end: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    rejected_dir: Path | None = None,
) -> PrometheusIngestResult:
    """Fetch [start, end] from Prometheus and load it like a utilization file."""
    table, queries, pods = fetch_samples(settings, start, end, transport)
    if table.num_rows == 0:
        raise ExternalError(
            f"Prometheus at {settings.url} has no container_memory_working_set_bytes / "
            f"container_cpu_usage_seconds_total samples between {start:%Y-%m-%d %H:%M} and "
            f"{end:%Y-%m-%d %H:%M} UTC"
        )
    folder = warehouse_path.parent / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"prometheus-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.parquet"
    pq.write_table(table, out)
    con = open_samples(warehouse_path)
    try:
        result = ingest_utilization_file(
            con, out, warehouse_path.parent / "rejected", batch_id=f"prometheus-{end:%s}"
        )
    finally:
        con.close()
    series = len(
        {
            (r["namespace"], r["pod"], r["container"])
            for r in table.select(["namespace", "pod", "container"]).to_pylist()
        }
    )
    return PrometheusIngestResult(
        url=settings.url,
        start=start,
        end=end,
        queries=queries,
        series=series,
        pods=pods,
        file=str(out),
        ingest=result,
    )
