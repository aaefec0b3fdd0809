"""Utilization samples: file ingest (Parquet / CSV) into the DuckDB table ``utilization_samples``.

Storage choice: a table in the workspace's one DuckDB warehouse file, not loose Parquet files.
One file holds cost facts and samples (prices per vCPU-hour join against the same file), each
file loads in one transaction (all or nothing), re-ingest is keyed by the file's SHA-256 in the
shared ``ingests`` table, and rows are stored sorted by series and time so the right-sizing
reader streams whole series in order (``warehouse.utilization_series``). The same reader also
streams Parquet files directly, which is what the scale benchmark measures.

Every row read is loaded or written to ``<workspace>/rejected/<file>.<sha>.rejected.csv`` with
(source, row, reason). A file unusable as a whole raises ``FileRejected``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from domain.errors import FileRejected
from warehouse.connection import connect_duckdb, connect_reader, load_transaction, table_exists
from warehouse.facts import INGESTS_TABLE
from warehouse.files import file_sha256, sniff_format
from warehouse.ingest_models import IngestReport, IngestResult, IngestStatus
from warehouse.sql import ident, literal

SAMPLES_TABLE = "utilization_samples"
KEY_COLUMNS: tuple[str, ...] = ("cluster", "namespace", "workload_kind", "workload", "container", "pod")
REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", *KEY_COLUMNS, "cpu_cores", "memory_bytes")
NUMERIC_OPTIONAL: tuple[str, ...] = ("cpu_request", "cpu_limit", "memory_request", "memory_limit")
OPTIONAL_COLUMNS: tuple[str, ...] = ("container_type", *NUMERIC_OPTIONAL, "oom_killed")
CONTAINER_TYPES: tuple[str, ...] = ("regular", "sidecar", "init")
NULL_STRINGS = ["", "NULL", "null", "NaN", "nan", "None"]

CREATE_SAMPLES_SQL = f"""
CREATE TABLE IF NOT EXISTS {SAMPLES_TABLE} (
  timestamp TIMESTAMP NOT NULL,
  cluster VARCHAR NOT NULL,
  namespace VARCHAR NOT NULL,
  workload_kind VARCHAR NOT NULL,
  workload VARCHAR NOT NULL,
  container VARCHAR NOT NULL,
  pod VARCHAR NOT NULL,
  container_type VARCHAR NOT NULL,
  cpu_cores DOUBLE,
  memory_bytes DOUBLE,
  cpu_request DOUBLE,
  cpu_limit DOUBLE,
  memory_request DOUBLE,
  memory_limit DOUBLE,
  oom_killed BOOLEAN NOT NULL,
  source_sha256 VARCHAR NOT NULL,
  source_row BIGINT NOT NULL
)
"""


def open_samples(warehouse_path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A warehouse connection with ``utilization_samples`` created (unless read-only)."""
    con = connect_duckdb(warehouse_path, read_only=read_only)
    if not read_only:
        con.execute(CREATE_SAMPLES_SQL)
    return con


def _read_sql(path: Path, fmt: str) -> str:
    if fmt == "parquet":
        return f"read_parquet({literal(str(path))}, file_row_number = true)"
    return (
        f"read_csv({literal(str(path))}, all_varchar = true, header = true, nullstr = {NULL_STRINGS!r}, "
        "parallel = false, store_rejects = true)"
    )


def _source(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, list[str]]:
    """(FROM item with ``__row`` and canonical lower-case column names, present columns)."""
    fmt = sniff_format(path, ("csv", "parquet"))
    read = _read_sql(path, fmt)
    try:
        header = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {read}").fetchall()]
    except duckdb.Error as exc:
        raise FileRejected(
            str(path), f"cannot be read as {fmt.upper()}: {str(exc).splitlines()[0]}"
        ) from None
    by_lower: dict[str, str] = {}
    for name in header:
        if fmt == "parquet" and name == "file_row_number":
            continue
        by_lower.setdefault(name.strip().lower(), name)
    missing = [c for c in REQUIRED_COLUMNS if c not in by_lower]
    if missing:
        raise FileRejected(str(path), f"not a utilization file: missing column(s) {', '.join(missing)}")
    present = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in by_lower]
    row = "file_row_number + 1" if fmt == "parquet" else "row_number() OVER ()"
    renames = ", ".join(f"{ident(by_lower[c])} AS {c}" for c in present)
    return f"(SELECT {row} AS __row, {renames} FROM {read})", present


def _text(col: str) -> str:
    return f"NULLIF(TRIM(CAST({col} AS VARCHAR)), '')"


def _stage_sql(from_sql: str, present: list[str]) -> str:
    """Typed columns plus ``__reason`` (NULL when the row is valid), computed in SQL."""
    sel: list[str] = ["__row"]
    why: list[str] = []
    ts_text = _text("timestamp")
    # Timestamps are UTC: a zone suffix is honoured, a naive value is taken as UTC.
    ts = f"TRY_CAST(TRY_CAST({ts_text} AS TIMESTAMPTZ) AS TIMESTAMP)"
    sel.append(f"{ts} AS timestamp")
    why.append(
        f"CASE WHEN {ts_text} IS NULL THEN 'missing timestamp' WHEN {ts} IS NULL "
        f"THEN 'timestamp: not a timestamp (' || {ts_text} || ')' END"
    )
    for key in KEY_COLUMNS:
        sel.append(f"{_text(key)} AS {key}")
        why.append(f"CASE WHEN {_text(key)} IS NULL THEN 'missing {key}' END")
    ctype = f"lower({_text('container_type')})" if "container_type" in present else "NULL"
    sel.append(f"COALESCE({ctype}, 'regular') AS container_type")
    if "container_type" in present:
        allowed = ", ".join(literal(t) for t in CONTAINER_TYPES)
        why.append(
            f"CASE WHEN {ctype} IS NOT NULL AND {ctype} NOT IN ({allowed}) "
            f"THEN 'container_type: ' || {_text('container_type')} || ' is not regular, sidecar or init' END"
        )
    for col in ("cpu_cores", "memory_bytes", *NUMERIC_OPTIONAL):
        if col not in present:
            sel.append(f"CAST(NULL AS DOUBLE) AS {col}")
            continue
        value = f"TRY_CAST({_text(col)} AS DOUBLE)"
        sel.append(f"{value} AS {col}")
        why.append(
            f"CASE WHEN {_text(col)} IS NOT NULL AND ({value} IS NULL OR isnan({value}) OR isinf({value})) "
            f"THEN '{col}: not a number (' || {_text(col)} || ')' "
            f"WHEN {value} < 0 THEN '{col}: negative (' || {_text(col)} || ')' END"
        )
    why.append(
        "CASE WHEN "
        + _text("cpu_cores")
        + " IS NULL AND "
        + _text("memory_bytes")
        + " IS NULL THEN 'no cpu_cores and no memory_bytes' END"
    )
    if "oom_killed" in present:
        oom = f"TRY_CAST({_text('oom_killed')} AS BOOLEAN)"
        sel.append(f"COALESCE({oom}, false) AS oom_killed")
        why.append(
            f"CASE WHEN {_text('oom_killed')} IS NOT NULL AND {oom} IS NULL "
            f"THEN 'oom_killed: not true/false (' || {_text('oom_killed')} || ')' END"
        )
    else:
        sel.append("false AS oom_killed")
    reason = f"NULLIF(concat_ws('; ', {', '.join(why)}), '')"
    return f"SELECT {', '.join(sel)}, {reason} AS __reason FROM {from_sql}"


_SERIES = "cluster, namespace, workload_kind, workload, container, pod"


def _mark_duplicates(con: duckdb.DuckDBPyConnection, stage: str) -> None:
    """Second and later samples of one series at one instant, and samples already stored."""
    con.execute(f"""
        UPDATE {stage} SET __reason = 'duplicate sample: row ' || d.first_row || ' has the same pod, container and timestamp'
        FROM (SELECT __row AS r, min(__row) OVER (PARTITION BY {_SERIES}, timestamp) AS first_row
              FROM {stage} WHERE __reason IS NULL) d
        WHERE {stage}.__row = d.r AND d.first_row <> d.r""")
    con.execute(f"""
        UPDATE {stage} SET __reason = 'duplicate sample: already stored from another file'
        FROM {SAMPLES_TABLE} s
        WHERE {stage}.__reason IS NULL AND s.timestamp = {stage}.timestamp
          AND s.pod = {stage}.pod AND s.container = {stage}.container AND s.namespace = {stage}.namespace
          AND s.cluster = {stage}.cluster AND s.workload = {stage}.workload
          AND s.workload_kind = {stage}.workload_kind""")


def _already(con: duckdb.DuckDBPyConnection, sha: str) -> bool:
    return con.execute(f"SELECT 1 FROM {INGESTS_TABLE} WHERE sha256 = ?", [sha]).fetchone() is not None


def _structural_rejects(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    try:
        rows = con.execute(
            "SELECT line, error_type, error_message FROM reject_errors ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        return []
    con.execute("DELETE FROM reject_errors")
    con.execute("DELETE FROM reject_scans")
    return [(int(line), f"line {line}: {str(etype).lower()} ({msg})") for line, etype, msg in rows]


def ingest_utilization_file(
    con: duckdb.DuckDBPyConnection, path: Path, rejected_dir: Path, batch_id: str
) -> IngestResult:
    """Validate and load one file in one transaction; rejected rows go to a CSV with reasons."""
    from_sql, present = _source(con, path)
    sha = file_sha256(path)
    if _already(con, sha):
        return IngestResult(
            path=str(path),
            kind="utilization",
            sha256=sha,
            status=IngestStatus.already_ingested,
            rows_read=0,
            rows_loaded=0,
            rows_rejected=0,
        )
    structural: list[tuple[int, str]] = []
    if "read_csv" in from_sql:
        con.execute(f"SELECT count(*) FROM {from_sql}").fetchone()
        structural = _structural_rejects(con)
    rejected_dir.mkdir(parents=True, exist_ok=True)
    rejected_path = rejected_dir / f"{path.name}.{sha[:12]}.rejected.csv"
    tmp = rejected_path.with_suffix(".tmp")
    stage = "__util_stage"
    with load_transaction(con, path, tmp):
        con.execute(f"CREATE TEMP TABLE {stage} AS {_stage_sql(from_sql, present)}")
        (parsed,) = con.execute(f"SELECT count(*) FROM {stage}").fetchone()  # type: ignore[misc]
        if parsed + len(structural) == 0:
            raise FileRejected(str(path), "no data rows")
        _mark_duplicates(con, stage)
        # Sorted by series and time: the right-sizing reader streams whole series in order.
        con.execute(f"""
            INSERT INTO {SAMPLES_TABLE}
            SELECT timestamp, {_SERIES}, container_type, cpu_cores, memory_bytes, cpu_request, cpu_limit,
                   memory_request, memory_limit, oom_killed, {literal(sha)}, __row
            FROM {stage} WHERE __reason IS NULL ORDER BY {_SERIES}, timestamp""")
        (loaded,) = con.execute(f"SELECT count(*) FROM {stage} WHERE __reason IS NULL").fetchone()  # type: ignore[misc]
        rejected = parsed - loaded + len(structural)
        if rejected:
            con.execute("CREATE TEMP TABLE __util_rej (source VARCHAR, row BIGINT, reason VARCHAR)")
            con.execute(
                f"INSERT INTO __util_rej SELECT {literal(str(path))}, __row, __reason FROM {stage} "
                "WHERE __reason IS NOT NULL"
            )
            if structural:
                con.executemany(
                    "INSERT INTO __util_rej VALUES (?, ?, ?)", [(str(path), r, why) for r, why in structural]
                )
            con.execute(
                f"COPY (SELECT * FROM __util_rej ORDER BY row) TO {literal(str(tmp))} (HEADER, DELIMITER ',')"
            )
            con.execute("DROP TABLE __util_rej")
        con.execute(
            f"INSERT INTO {INGESTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                sha,
                "utilization",
                str(path),
                datetime.now(UTC).replace(tzinfo=None),
                parsed + len(structural),
                loaded,
                rejected,
                str(rejected_path) if rejected else None,
                batch_id,
            ],
        )
        con.execute(f"DROP TABLE {stage}")
    if rejected:
        tmp.replace(rejected_path)
    return IngestResult(
        path=str(path),
        kind="utilization",
        sha256=sha,
        status=IngestStatus.loaded,
        rows_read=parsed + len(structural),
        rows_loaded=loaded,
        rows_rejected=rejected,
        rejected_file=str(rejected_path) if rejected else None,
    )


def ingest_utilization_files(
    warehouse_path: Path,
    paths: Sequence[Path],
    rejected_dir: Path,
    on_file: Callable[[IngestResult], None] | None = None,
) -> IngestReport:
    """Ingest utilization files one by one, each all-or-nothing; a rejected file stops the run."""
    batch_id = uuid.uuid4().hex
    results: list[IngestResult] = []
    con = open_samples(warehouse_path)
    try:
        for path in paths:
            result = ingest_utilization_file(con, Path(path), rejected_dir, batch_id)
            results.append(result)
            if on_file:
                on_file(result)
    finally:
        con.close()
    return IngestReport(files=results)


def sample_count(warehouse_path: Path) -> int:
    """Rows stored in ``utilization_samples`` (0 when there is no warehouse yet)."""
    if not warehouse_path.exists():
        return 0
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, SAMPLES_TABLE):
            return 0
        (count,) = con.execute(f"SELECT count(*) FROM {SAMPLES_TABLE}").fetchone()  # type: ignore[misc]
        return int(count)
    finally:
        con.close()


def container_usage(warehouse_path: Path, since: datetime, until: datetime) -> list[dict[str, object]]:
    """Per workload container over [since, until): samples, CPU p95/max (cores), memory peak
    (bytes), average replicas, latest requests, first/last sample. Init containers left out."""
    if not warehouse_path.exists():
        return []
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, SAMPLES_TABLE):
            return []
        cur = con.execute(
            f"""SELECT cluster, namespace, workload_kind AS kind, workload, container,
                   count(*) AS samples, quantile_cont(cpu_cores, 0.95) AS cpu_p95, max(cpu_cores) AS cpu_max,
                   max(memory_bytes) AS memory_peak, count(*) / count(DISTINCT timestamp) AS replicas,
                   arg_max(cpu_request, timestamp) AS cpu_request,
                   arg_max(memory_request, timestamp) AS memory_request,
                   min(timestamp) AS first, max(timestamp) AS last
               FROM {SAMPLES_TABLE}
               WHERE timestamp >= ? AND timestamp < ? AND container_type <> 'init'
               GROUP BY ALL ORDER BY cluster, namespace, kind, workload, container""",
            [since.replace(tzinfo=None), until.replace(tzinfo=None)],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def sample_namespaces(warehouse_path: Path, since: datetime, until: datetime) -> list[str]:
    """Namespaces with samples in [since, until), sorted (to tell a mistyped namespace apart)."""
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, SAMPLES_TABLE):
            return []
        rows = con.execute(
            f"SELECT DISTINCT namespace FROM {SAMPLES_TABLE} WHERE timestamp >= ? AND timestamp < ? ORDER BY 1",
            [since.replace(tzinfo=None), until.replace(tzinfo=None)],
        ).fetchall()
        return [str(r[0]) for r in rows]
    finally:
        con.close()
