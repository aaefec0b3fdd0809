"""Prometheus ingest: a REAL Prometheus over backfilled samples, plus chunking and error paths."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import numpy as np
import pytest
from prometheus_standin import running_prometheus
from utilization_factory import MI, frame, series, to_table

from domain.errors import ExternalError
from tools.rightsizing import UnitPrices, recommend
from warehouse.prometheus import PrometheusSettings, fetch_samples, ingest_prometheus, pod_batches
from warehouse.utilization import sample_count
from warehouse.utilization_series import chunks_from_table, chunks_from_warehouse

PRICES = UnitPrices(usd_per_vcpu_hour="0.031611", usd_per_gib_hour="0.004237", source="config", detail="test")
STEP = 300


def _samples(end: datetime) -> object:
    """2 days of samples. CPU in 1/1024-core steps so Prometheus' rate() returns them exactly."""
    rng = np.random.default_rng(3)
    n = 2 * 288
    start = end - timedelta(seconds=STEP * (n - 1))

    def cpu(scale: int) -> np.ndarray:
        return rng.integers(1, scale, n) / 1024

    def mem(base: int) -> np.ndarray:
        return (base * MI + rng.integers(0, 64 * MI, n)).astype(float)

    oom = np.zeros(n, dtype=bool)
    oom[400] = True
    common = {"start": start, "step": STEP}
    return frame(
        series(
            "api-7f9c-a",
            cpu(600),
            mem(300),
            container="app",
            cpu_request=1.0,
            cpu_limit=2.0,
            memory_request=float(1024 * MI),
            memory_limit=float(2048 * MI),
            **common,
        ),
        series(
            "api-7f9c-a",
            cpu(60),
            mem(40),
            container="envoy",
            container_type="sidecar",
            cpu_request=0.1,
            memory_request=float(128 * MI),
            **common,
        ),
        series(
            "api-7f9c-b",
            cpu(500),
            mem(280),
            container="app",
            cpu_request=1.0,
            cpu_limit=2.0,
            memory_request=float(1024 * MI),
            memory_limit=float(2048 * MI),
            **common,
        ),
        series(
            "db-0",
            cpu(900),
            mem(700),
            workload="db",
            kind="StatefulSet",
            container="postgres",
            cpu_request=2.0,
            memory_request=float(2048 * MI),
            memory_limit=float(768 * MI),
            oom_killed=oom,
            **common,
        ),
    )


def _comparable(result) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r.to_json_dict() for r in result.recommendations]


def test_real_prometheus_gives_the_same_recommendations_as_parquet(
    tmp_path: Path, run_cli, workspace: Path
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    end = datetime.fromtimestamp(int(now.timestamp()) // STEP * STEP - 3600, UTC)
    df = _samples(end)
    table = to_table(df)
    warehouse = tmp_path / "direct" / "warehouse.duckdb"
    with running_prometheus(df, tmp_path, step=STEP) as url:
        # Small pod batches and 12h windows: the ingest must stitch many bounded queries together.
        settings = PrometheusSettings(url=url, step_seconds=STEP, pod_batch=1, window_hours=12, cluster="c1")
        result = ingest_prometheus(warehouse, settings, end - timedelta(days=3), now)
        # The CLI, with its defaults (50 pods and 24h per query), into the test workspace.
        cli = run_cli("ingest", "prometheus", "--url", url, "--days", "3", "--json")
        assert cli.code == 0, cli.err
        assert cli.json()["ingest"]["rows_loaded"] == table.num_rows
        assert cli.json()["pods"] == 3
        again = run_cli("ingest", "prometheus", "--url", url, "--days", "3")
        assert again.code == 0, again.err
        # Same fetch again: the same file (already ingested) or its samples already stored.
        assert "already ingested" in again.out or f"loaded 0, rejected {table.num_rows}" in again.out
        assert sample_count(workspace / "warehouse.duckdb") == table.num_rows
    assert result.pods == 3 and result.series == 4
    assert result.ingest.rows_loaded == table.num_rows and result.ingest.rows_rejected == 0
    assert result.queries > 6 * 3 * 5  # 6 metrics × 3 pods × ≥ 5 windows, plus discovery
    for preset in ("krr-simple", "vpa-like"):
        from_prom = recommend(lambda _s: chunks_from_warehouse(warehouse), preset, PRICES)
        from_file = recommend(lambda s: chunks_from_table(table, sort_in_memory=s), preset, PRICES)
        assert _comparable(from_prom) == _comparable(from_file), preset
    db = next(r for r in from_file.recommendations if r.workload == "db")
    assert db.evidence["oom_kills"] == 1 and db.kind == "StatefulSet"
    envoy = next(r for r in from_file.recommendations if r.container == "envoy")
    assert envoy.container_type == "sidecar"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _window() -> tuple[datetime, datetime]:
    end = datetime(2026, 11, 20, tzinfo=UTC)
    return end - timedelta(days=1), end


def test_prometheus_down_is_a_clear_external_error() -> None:
    settings = PrometheusSettings(url=f"http://127.0.0.1:{_free_port()}", retries=1, backoff_seconds=0)
    with pytest.raises(ExternalError, match=r"Prometheus at http://127\.0\.0\.1:\d+ is not reachable"):
        fetch_samples(settings, *_window())


def _failing_memory_series(status: int, body: dict | str, calls: list[str]):  # type: ignore[no-untyped-def]
    """Discovery of memory series fails with ``status``; every other call answers empty."""

    def handler(request: httpx.Request) -> httpx.Response:
        match = parse_qs(request.content.decode()).get("match[]", [""])[0]
        if match.startswith("container_memory"):
            calls.append(match)
            if isinstance(body, dict):
                return httpx.Response(status, json=body)
            return httpx.Response(status, text=body)
        return httpx.Response(200, json={"status": "success", "data": []})

    return httpx.MockTransport(handler)


def test_4xx_is_not_retried_and_names_the_status() -> None:
    calls: list[str] = []
    transport = _failing_memory_series(400, {"status": "error", "error": "parse error at char 7"}, calls)
    settings = PrometheusSettings(url="http://prom.test", retries=3, backoff_seconds=0, concurrency=1)
    with pytest.raises(ExternalError, match="answered HTTP 400 on /api/v1/series: parse error at char 7"):
        fetch_samples(settings, *_window(), transport=transport)
    assert len(calls) == 1


def test_5xx_is_retried_with_backoff_then_fails() -> None:
    calls: list[str] = []
    transport = _failing_memory_series(503, "overloaded", calls)
    settings = PrometheusSettings(url="http://prom.test", retries=2, backoff_seconds=0, concurrency=1)
    with pytest.raises(
        ExternalError, match=r"answered HTTP 503 on /api/v1/series: overloaded \(after 3 attempts\)"
    ):
        fetch_samples(settings, *_window(), transport=transport)
    assert len(calls) == 3


def test_a_retry_that_succeeds_is_invisible() -> None:
    failed: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        match = parse_qs(request.content.decode()).get("match[]", [""])[0]
        if match.startswith("container_memory") and not failed:
            failed.append(1)
            return httpx.Response(503, text="busy")
        if request.url.path == "/api/v1/series":
            return httpx.Response(200, json={"status": "success", "data": []})
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": []}})

    settings = PrometheusSettings(url="http://prom.test", retries=1, backoff_seconds=0)
    table, queries, pods = fetch_samples(settings, *_window(), transport=httpx.MockTransport(handler))
    # 24h + 1 step = 2 windows × 4 discovery calls, plus the one retried call
    assert (table.num_rows, pods, queries) == (0, 0, 9)


def test_a_1000_pod_cluster_never_sends_an_oversized_query() -> None:
    pods = [f"worker-{i:04d}-5d8f7c9b6d-{i:05x}" for i in range(1000)]
    bodies: list[dict[str, list[str]]] = []
    in_flight = {"now": 0, "max": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        try:
            form = parse_qs(request.content.decode())
            assert len(str(request.url)) < 200  # the query travels in the POST body, never the URL
            if request.url.path == "/api/v1/series":
                match = form["match[]"][0]
                data = (
                    [{"namespace": "batch", "pod": p, "container": "main"} for p in pods]
                    if match.startswith("container_memory")
                    else []
                )
                return httpx.Response(200, json={"status": "success", "data": data})
            bodies.append(form)
            return httpx.Response(
                200, json={"status": "success", "data": {"resultType": "matrix", "result": []}}
            )
        finally:
            in_flight["now"] -= 1

    settings = PrometheusSettings(
        url="http://prom.test", pod_batch=100, max_selector_chars=2000, concurrency=4
    )
    table, queries, found = fetch_samples(settings, *_window(), transport=httpx.MockTransport(handler))
    assert found == 1000 and table.num_rows == 0
    assert in_flight["max"] <= 4
    seen: set[str] = set()
    for form in bodies:
        query = form["query"][0]
        assert len(query) < 2600
        names = query.split('pod=~"')[1].split('"')[0].split("|")
        assert len(names) <= 100
        seen.update(n.replace("\\", "") for n in names)
        assert int(form["end"][0]) - int(form["start"][0]) <= 24 * 3600
    assert seen == set(pods)
    assert queries == len(bodies) + 2 * 4  # + discovery: 4 series calls per window (2 windows)


def test_pod_batches_respect_both_bounds() -> None:
    settings = PrometheusSettings(url="http://x", pod_batch=3, max_selector_chars=100)
    batches = pod_batches([f"p{i}" * 10 for i in range(7)], settings)
    assert all(len(b) <= 3 for b in batches)
    assert all(sum(len(p) + 1 for p in b) <= 100 for b in batches)
    assert [p for b in batches for p in b] == [f"p{i}" * 10 for i in range(7)]


def test_result_json_round_trip(tmp_path: Path) -> None:
    # An empty Prometheus (no samples in the window) is an error that says so, not an empty load.
    def handler(request: httpx.Request) -> httpx.Response:
        data = [] if request.url.path == "/api/v1/series" else {"resultType": "matrix", "result": []}
        return httpx.Response(200, json={"status": "success", "data": data})

    settings = PrometheusSettings(url="http://prom.test")
    with pytest.raises(ExternalError, match="has no container_memory_working_set_bytes"):
        ingest_prometheus(tmp_path / "w.duckdb", settings, *_window(), transport=httpx.MockTransport(handler))
    assert json.loads(settings.model_dump_json())["pod_batch"] == 50


@pytest.mark.parametrize("url", ["notaurl", "ftp://prometheus:9090", "http://"])
def test_a_malformed_url_is_bad_input_not_a_server_to_retry(run_cli, workspace, url: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("ingest", "prometheus", "--url", url)
    assert result.code == 2
    assert (
        result.err
        == f"costpilot: error: --url {url!r}: not an http(s) URL with a host, e.g. http://prometheus:9090\n"
    )
