"""``costpilot ingest focus``: FOCUS 1.0–1.2 exports (CSV, CSV.gz, Parquet) into ``cost_facts``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from domain.errors import FileRejected
from warehouse.config import WarehouseConfig
from warehouse.connection import connect_duckdb
from warehouse.facts import EXTRA_COLUMNS, focus_by_lower, required_columns
from warehouse.files import file_sha256, sniff_format
from warehouse.ingest_models import IngestReport, IngestResult
from warehouse.loader import SourceSpec, load_source
from warehouse.sql import ident, literal

NULL_STRINGS = ["NULL", "null", ""]


def _extra_name(header: str) -> str:
    """A non-FOCUS column keeps its data as ``x_<snake_case>``."""
    if header.lower().startswith("x_"):
        header = header[2:]
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header)
    snake = re.sub(r"[^0-9a-zA-Z]+", "_", snake).strip("_").lower()
    return "x_" + (snake or "column")


def _read_sql(path: Path, fmt: str) -> str:
    if fmt == "parquet":
        return f"read_parquet({literal(str(path))}, file_row_number = true)"
    return (
        f"read_csv({literal(str(path))}, all_varchar = true, header = true, nullstr = {NULL_STRINGS!r}, "
        "store_rejects = true, rejects_table = '__csv_reject_errors', rejects_scan = '__csv_reject_scans', "
        "max_line_size = 10000000)"
    )


def inspect_focus_file(con: duckdb.DuckDBPyConnection, path: Path) -> SourceSpec:
    """Map a file's header onto FOCUS; reject the whole file when it cannot be FOCUS."""
    fmt = sniff_format(path, ("csv", "parquet"))
    read = _read_sql(path, fmt)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {read}").fetchall()
    except duckdb.Error as exc:
        raise FileRejected(
            str(path), f"cannot be read as {fmt.upper()}: {str(exc).splitlines()[0]}"
        ) from None
    known = focus_by_lower()
    reserved = {c.lower() for c in EXTRA_COLUMNS}
    renames: list[str] = []
    columns: list[str] = []
    extras: list[str] = []
    seen: dict[str, str] = {}
    source_types: dict[str, str] = {}
    for name, source_type, *_ in described:
        if fmt == "parquet" and name == "file_row_number":
            continue
        focus = known.get(name.strip().lower())
        target = focus.name if focus else _extra_name(name)
        if target.lower() in reserved:
            target = _extra_name("src_" + name)
        if target.lower() in seen:
            raise FileRejected(
                str(path), f"columns {seen[target.lower()]!r} and {name!r} both map to {target}"
            )
        seen[target.lower()] = name
        renames.append(f"{ident(name)} AS {ident(target)}")
        source_types[target] = str(source_type)
        columns.append(target)
        if not focus:
            extras.append(target)
    missing = [c for c in required_columns() if c not in columns]
    if missing:
        raise FileRejected(str(path), f"not a FOCUS export: missing mandatory column(s) {', '.join(missing)}")
    row = "file_row_number + 1" if fmt == "parquet" else "row_number() OVER ()"
    from_sql = f"(SELECT {row} AS __row, {', '.join(renames)} FROM {read})"
    return SourceSpec(
        path=path,
        sha256=file_sha256(path),
        kind="focus",
        from_sql=from_sql,
        columns=columns,
        extra_columns=extras,
        source_types=source_types,
    )


def _structural_rejects(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    """Lines the CSV reader could not split into the header's columns (DuckDB reject store)."""
    try:
        # One error per missing column of a short line: report each line once.
        rows = con.execute(
            "SELECT line, any_value(error_type), any_value(error_message) FROM __csv_reject_errors "
            "GROUP BY line ORDER BY line"
        ).fetchall()
    except duckdb.CatalogException:
        return []  # the reader found nothing to reject
    con.execute("DROP TABLE IF EXISTS __csv_reject_errors")
    con.execute("DROP TABLE IF EXISTS __csv_reject_scans")
    return [(int(line), f"line {line}: {str(etype).lower()} ({msg})") for line, etype, msg in rows]


def _latest_batch(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute(
        "SELECT batch_id FROM ingests WHERE kind = 'focus' ORDER BY ingested_at DESC LIMIT 1"
    ).fetchall()
    return row[0][0] if row else None


def ingest_focus_files(
    warehouse_path: Path,
    paths: Sequence[Path],
    config: WarehouseConfig,
    rejected_dir: Path,
    on_file: Callable[[IngestResult], None] | None = None,
    append: bool = False,
) -> IngestReport:
    """Ingest FOCUS files one by one (each all-or-nothing). Files given together form one export
    batch; with ``append`` they join the previous FOCUS ingest's batch (more part files of the
    same export, ingested in a later run), so they add to it instead of replacing it."""
    results: list[IngestResult] = []
    con = connect_duckdb(warehouse_path)
    batch_id = (_latest_batch(con) if append else None) or uuid.uuid4().hex
    try:
        for path in paths:
            spec = inspect_focus_file(con, Path(path))
            if "read_csv" in spec.from_sql:
                spec.collect_rejects = _structural_rejects
            result = load_source(con, spec, config, rejected_dir, batch_id=batch_id)
            results.append(result)
            if on_file:
                on_file(result)
    finally:
        con.close()
    return IngestReport(files=results)
