"""Utilization file ingest: every row loaded or rejected with a reason, files all-or-nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from utilization_factory import MI, frame, series, to_table

from domain.errors import FileRejected
from warehouse.ingest_models import IngestStatus
from warehouse.utilization import SAMPLES_TABLE, ingest_utilization_files, sample_count
from warehouse.utilization_series import chunks_from_parquet, chunks_from_warehouse


def _parquet(tmp_path: Path, name: str = "u.parquet", pods: str = "ab", n: int = 120) -> Path:
    df = frame(*[series(f"api-{p}", np.full(n, 0.25), 300 * MI, cpu_request=1.0) for p in pods])
    path = tmp_path / name
    pq.write_table(to_table(df), path)
    return path


def test_parquet_loads_and_reingest_is_a_noop(tmp_path: Path) -> None:
    wh, rej = tmp_path / "ws" / "warehouse.duckdb", tmp_path / "ws" / "rejected"
    path = _parquet(tmp_path)
    first = ingest_utilization_files(wh, [path], rej).files[0]
    assert (first.status, first.rows_read, first.rows_loaded, first.rows_rejected) == (
        IngestStatus.loaded,
        240,
        240,
        0,
    )
    again = ingest_utilization_files(wh, [path], rej).files[0]
    assert again.status == IngestStatus.already_ingested
    assert again.summary_line().endswith("nothing changed")
    assert sample_count(wh) == 240


def test_bad_rows_go_to_the_rejected_file_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    header = [
        "timestamp",
        "cluster",
        "namespace",
        "workload_kind",
        "workload",
        "container",
        "pod",
        "cpu_cores",
        "memory_bytes",
        "container_type",
        "oom_killed",
    ]
    rows = [
        [
            "2026-11-01T00:00:00Z",
            "c1",
            "shop",
            "Deployment",
            "api",
            "app",
            "api-a",
            "0.2",
            "1000",
            "regular",
            "false",
        ],
        ["2026-11-01T00:05:00Z", "c1", "shop", "Deployment", "api", "app", "api-a", "-1", "1000", "", ""],
        ["yesterday", "c1", "shop", "Deployment", "api", "app", "api-a", "0.2", "1000", "", ""],
        ["2026-11-01T00:10:00Z", "c1", "", "Deployment", "api", "app", "api-a", "0.2", "1000", "", ""],
        ["2026-11-01T00:15:00Z", "c1", "shop", "Deployment", "api", "app", "api-a", "abc", "", "", ""],
        [
            "2026-11-01T00:20:00Z",
            "c1",
            "shop",
            "Deployment",
            "api",
            "app",
            "api-a",
            "0.1",
            "10",
            "ephemeral",
            "maybe",
        ],
        ["2026-11-01T00:00:00+00:00", "c1", "shop", "Deployment", "api", "app", "api-a", "0.3", "1", "", ""],
        ["2026-11-01T00:25:00Z", "c1", "shop", "Deployment", "api", "app", "api-a", "", "", "", ""],
    ]
    with path.open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(header)
        w.writerows(rows)
    result = ingest_utilization_files(tmp_path / "w.duckdb", [path], tmp_path / "rej").files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (8, 1, 7)
    with open(result.rejected_file or "", newline="") as handle:
        rejected = {int(r["row"]): r for r in csv.DictReader(handle)}
    assert all(r["source"] == str(path) for r in rejected.values())
    assert rejected[2]["reason"] == "cpu_cores: negative (-1)"
    assert rejected[3]["reason"] == "timestamp: not a timestamp (yesterday)"
    assert rejected[4]["reason"] == "missing namespace"
    assert rejected[5]["reason"] == "cpu_cores: not a number (abc)"
    assert rejected[6]["reason"] == (
        "container_type: ephemeral is not regular, sidecar or init; oom_killed: not true/false (maybe)"
    )
    assert rejected[7]["reason"] == "duplicate sample: row 1 has the same pod, container and timestamp"
    assert rejected[8]["reason"] == "no cpu_cores and no memory_bytes"


def test_a_sample_already_stored_from_another_file_is_rejected(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    ingest_utilization_files(wh, [_parquet(tmp_path, "a.parquet", pods="a")], tmp_path / "rej")
    overlap = ingest_utilization_files(
        wh, [_parquet(tmp_path, "b.parquet", pods="ab")], tmp_path / "rej"
    ).files[0]
    assert (overlap.rows_loaded, overlap.rows_rejected) == (120, 120)
    assert sample_count(wh) == 240


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            "timestamp,cluster,namespace\n2026-11-01,c,n\n",
            r"not a utilization file: missing column\(s\) workload_kind, workload, container, pod, cpu_cores",
        ),
        (None, "empty file"),
    ],
)
def test_unusable_files_are_rejected_whole(tmp_path: Path, content: str | None, reason: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content or "")
    with pytest.raises(FileRejected, match=reason):
        ingest_utilization_files(tmp_path / "w.duckdb", [path], tmp_path / "rej")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert con.execute(f"SELECT count(*) FROM {SAMPLES_TABLE}").fetchone() == (0,)
    con.close()


def test_header_only_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(
        "timestamp,cluster,namespace,workload_kind,workload,container,pod,cpu_cores,memory_bytes\n"
    )
    with pytest.raises(FileRejected, match="no data rows"):
        ingest_utilization_files(tmp_path / "w.duckdb", [path], tmp_path / "rej")


def test_warehouse_and_parquet_stream_the_same_series(tmp_path: Path) -> None:
    path = _parquet(tmp_path)
    wh = tmp_path / "w.duckdb"
    ingest_utilization_files(wh, [path], tmp_path / "rej")
    a = list(chunks_from_parquet(path))
    b = list(chunks_from_warehouse(wh))
    assert [k for c in a for k in c.keys] == [k for c in b for k in c.keys]
    assert np.array_equal(np.concatenate([c.cpu for c in a]), np.concatenate([c.cpu for c in b]))
    assert np.array_equal(np.concatenate([c.ts for c in a]), np.concatenate([c.ts for c in b]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.integers(1, 50), order=st.permutations(list(range(6))))
def test_chunking_never_splits_or_mixes_series(batch: int, order: list[int]) -> None:
    from warehouse.utilization_series import iter_chunks

    parts = [
        series(f"p{i}", np.arange(i + 1, i + 8) / 100, 100 * MI, container=f"c{i % 2}") for i in range(6)
    ]
    table = to_table(frame(*[parts[i] for i in order]))
    chunks = list(iter_chunks(table.to_batches(batch)))
    keys = [k for c in chunks for k in c.keys]
    assert len(keys) == len(set(keys)) == 6
    lengths = [int(n) for c in chunks for n in c.lengths]
    assert lengths == [7] * 6


def test_a_parquet_file_not_grouped_by_series_gives_the_same_result(tmp_path: Path) -> None:
    from tools.rightsizing import UnitPrices, recommend

    prices = UnitPrices(usd_per_vcpu_hour="0.03", usd_per_gib_hour="0.004", source="config", detail="test")
    rng = np.random.default_rng(5)
    parts = [series(f"api-{p}", rng.uniform(0, 1, 150), rng.uniform(1e8, 3e8, 150)) for p in "abc"]
    df = frame(*parts)
    grouped, interleaved = tmp_path / "grouped.parquet", tmp_path / "interleaved.parquet"
    pq.write_table(to_table(df), grouped)
    pq.write_table(to_table(df.sort_values(["timestamp", "pod"])), interleaved, row_group_size=100)
    for preset in ("krr-simple", "vpa-like"):
        a = recommend(lambda s: chunks_from_parquet(grouped, sort_in_memory=s), preset, prices)
        b = recommend(lambda s: chunks_from_parquet(interleaved, sort_in_memory=s), preset, prices)
        assert [r.to_json_dict() for r in a.recommendations] == [r.to_json_dict() for r in b.recommendations]
        assert b.samples_read == 450
