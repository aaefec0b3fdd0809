"""``costpilot ingest focus``: FOCUS 1.0–1.2 exports (CSV, CSV.gz, Parquet) into ``cost_facts``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from domain.errors import InputError
from warehouse.config import WarehouseConfig
from warehouse.facts import EXTRA_COLUMNS, FACT_TABLE, INGESTS_TABLE, focus_by_lower, required_columns
from warehouse.files import (
    duplicate_columns,
    file_sha256,
    header_matches,
    raw_csv_header,
    rejected,
    shown,
    sniff_format,
)
from warehouse.ingest_models import IngestReport, IngestResult, Replacement
from warehouse.loader import SourceSpec, StagedFile, load_batch
from warehouse.sql import ident, literal
from warehouse.targets import Query, open_ingest_target

NULL_STRINGS = ["NULL", "null", ""]
# A restatement may shrink a (billing account, billing period) by at most this share of its rows
# unless allow_shrink: a 10-row partial export must not silently replace 3,321 rows.
DEFAULT_MAX_SHRINK = Decimal("0.5")


def _extra_name(header: str) -> str:
    """A non-FOCUS column keeps its data as ``x_<snake_case>``."""
    if header.lower().startswith("x_"):
        header = header[2:]
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header)
    snake = re.sub(r"[^0-9a-zA-Z]+", "_", snake).strip("_").lower()
    return "x_" + (snake or "column")


def _csv_options(reject_tables: str) -> str:
    return (
        f"all_varchar = true, header = true, nullstr = {NULL_STRINGS!r}, store_rejects = true, "
        f"rejects_table = '{reject_tables}_errors', rejects_scan = '{reject_tables}_scans', "
        "max_line_size = 10000000"
    )


def _read_sql(path: Path, fmt: str, reject_tables: str) -> str:
    if fmt == "parquet":
        return f"read_parquet({literal(str(path))}, file_row_number = true)"
    return f"read_csv({literal(str(path))}, {_csv_options(reject_tables)})"


def _raw_header(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, reject_tables: str) -> list[str] | None:
    """The column names as written in the file (DuckDB renames a repeated one to name_1)."""
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowException, OSError, ValueError):  # DuckDB read it: fall back on its names
            return None
    try:
        row = con.execute(
            f"SELECT Delimiter, Quote, Escape FROM sniff_csv({literal(str(path))}, {_csv_options(reject_tables)})"
        ).fetchone()
    except duckdb.Error:
        return None
    return raw_csv_header(path, *row) if row else None


def _duplicates_in(names: list[str], raw: list[str] | None) -> str | None:
    """Duplicate column names, from the header as written when it could be split as DuckDB
    split it, else from DuckDB's renames (a repeated name comes back as name_1, name_2 …)."""
    if raw is not None and header_matches(raw, names):
        return duplicate_columns(raw)
    seen: set[str] = set()
    originals = []
    for name in names:
        match = re.fullmatch(r"(.+)_\d+", name)
        base = match.group(1) if match and match.group(1).strip().lower() in seen else name
        originals.append(base)
        seen.add(base.strip().lower())
    return duplicate_columns(originals)


def inspect_focus_file(con: duckdb.DuckDBPyConnection, path: Path) -> SourceSpec:
    """Map a file's header onto FOCUS; reject the whole file when it cannot be FOCUS."""
    fmt = sniff_format(path, ("csv", "parquet"))
    sha = file_sha256(path)
    reject_tables = f"__csv_reject_{sha[:16]}"
    read = _read_sql(path, fmt, reject_tables)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {read}").fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise rejected(path, f"cannot be read as {fmt.upper()}: {shown(first, 200)}") from None
    names = [str(d[0]) for d in described if not (fmt == "parquet" and d[0] == "file_row_number")]
    duplicates = _duplicates_in(names, None)
    if duplicates:  # DuckDB's names hint at a repeated one: ask the header as written (costs a sniff)
        duplicates = _duplicates_in(names, _raw_header(con, path, fmt, reject_tables))
    if duplicates:
        raise rejected(path, duplicates)
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
            raise rejected(
                path, f"columns {shown(seen[target.lower()])!r} and {shown(name)!r} both map to {target}"
            )
        seen[target.lower()] = name
        renames.append(f"{ident(name)} AS {ident(target)}")
        source_types[target] = str(source_type)
        columns.append(target)
        if not focus:
            extras.append(target)
    missing = [c for c in required_columns() if c not in columns]
    if missing:
        raise rejected(path, f"not a FOCUS export: missing mandatory column(s) {', '.join(missing)}")
    row = "file_row_number + 1" if fmt == "parquet" else "row_number() OVER ()"
    return SourceSpec(
        path=path,
        sha256=sha,
        kind="focus",
        from_sql=f"(SELECT {row} AS __row, {', '.join(renames)} FROM {read})",
        columns=columns,
        extra_columns=extras,
        source_types=source_types,
        collect_rejects=_structural_rejects(reject_tables) if fmt == "csv" else None,
    )


def _structural_rejects(tables: str) -> Callable[[duckdb.DuckDBPyConnection], list[tuple[int, str]]]:
    """Lines the CSV reader could not split into the header's columns (DuckDB reject store)."""

    def collect(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
        try:
            # One error per missing column of a short line: report each line once.
            rows = con.execute(
                f"SELECT line, any_value(error_type), any_value(error_message) FROM {tables}_errors "
                "GROUP BY line ORDER BY line"
            ).fetchall()
        except duckdb.CatalogException:
            return []  # the reader found nothing to reject
        con.execute(f"DROP TABLE IF EXISTS {tables}_errors")
        con.execute(f"DROP TABLE IF EXISTS {tables}_scans")
        return [
            (int(line), f"line {line}: {str(etype).lower()} ({shown(msg, 200)})") for line, etype, msg in rows
        ]

    return collect


def _latest_batch(query: Query) -> str | None:
    rows = query(
        f"SELECT batch_id FROM {INGESTS_TABLE} WHERE kind = 'focus' ORDER BY ingested_at DESC LIMIT 1", []
    )
    return rows[0][0] if rows else None


# The restatement SQL runs on the warehouse itself (DuckDB or PostgreSQL): portable SQL, quoted
# identifiers, ``?`` placeholders.
def _keys(shas: list[str]) -> str:
    """A CTE of the (billing account, billing period) keys the files ``shas`` hold."""
    return (
        f'WITH k AS (SELECT DISTINCT "BillingAccountId" AS acct, "BillingPeriodStart" AS period '
        f"FROM {FACT_TABLE} WHERE x_source_sha256 IN ({', '.join('?' * len(shas))}))"
    )


_OLDER = f"""
    FROM {FACT_TABLE} f JOIN k ON f."BillingAccountId" = k.acct AND f."BillingPeriodStart" = k.period
    JOIN {INGESTS_TABLE} i ON i.sha256 = f.x_source_sha256
    WHERE i.kind = 'focus' AND i.batch_id <> ?"""


def _check_shrink(query: Query, new: list[StagedFile], batch_id: str, max_shrink: Decimal) -> None:
    """Refuse a restatement that keeps fewer than (1 − max_shrink) × the rows an earlier export
    had for a (billing account, billing period); the batch's rows count together (part files)."""
    shas = [s.spec.sha256 for s in new]
    rows = query(
        f"""
        {_keys(shas)},
        older AS (SELECT k.acct, k.period, count(*) AS n {_OLDER} GROUP BY k.acct, k.period),
        batch AS (
            SELECT f."BillingAccountId" AS acct, f."BillingPeriodStart" AS period, count(*) AS n
            FROM {FACT_TABLE} f JOIN {INGESTS_TABLE} i ON i.sha256 = f.x_source_sha256
            WHERE i.batch_id = ? GROUP BY f."BillingAccountId", f."BillingPeriodStart")
        SELECT o.acct, o.period, o.n, b.n FROM older o
        JOIN batch b ON b.acct = o.acct AND b.period = o.period
        ORDER BY o.acct, o.period
        """,
        [*shas, batch_id, batch_id],
    )
    shrunk = [row for row in rows if Decimal(row[3]) < (1 - max_shrink) * row[2]]
    if not shrunk:
        return
    acct, period, old, now = shrunk[0]
    source = query(
        f"SELECT x_source_file FROM {FACT_TABLE} WHERE x_source_sha256 IN ({', '.join('?' * len(shas))}) "
        'AND "BillingAccountId" = ? AND "BillingPeriodStart" = ? LIMIT 1',
        [*shas, acct, period],
    )
    more = f" (and {len(shrunk) - 1} more account-months)" if len(shrunk) > 1 else ""
    raise InputError(
        f"{shown(source[0][0] if source else new[0].spec.path, 4096)}: this export would replace the "
        f"{old:,} rows of billing account {shown(acct)!r}, period {period:%Y-%m-%d}, with {now:,}{more}, "
        f"a shrink of more than {max_shrink:.0%}: a partial export? Use --allow-shrink to replace anyway"
    )


def _replace_older(query: Query, item: StagedFile, batch_id: str) -> list[Replacement]:
    """Delete the rows of earlier exports for the (billing account, billing period)s of one file."""
    parts = query(
        f"""
        {_keys([item.spec.sha256])}
        SELECT f.x_source_sha256, min(i.path), k.acct, k.period, count(*) {_OLDER}
        GROUP BY f.x_source_sha256, k.acct, k.period
        """,
        [item.spec.sha256, batch_id],
    )
    victims: dict[str, dict[str, Any]] = {}
    for sha, path, acct, period, count in parts:
        victim = victims.setdefault(sha, {"path": path, "rows": 0, "accounts": set(), "periods": set()})
        victim["rows"] += count
        victim["accounts"].add(acct)
        victim["periods"].add(f"{period:%Y-%m-%d}")
    for sha, _path, acct, period, _count in parts:
        query(
            f'DELETE FROM {FACT_TABLE} WHERE x_source_sha256 = ? AND "BillingAccountId" = ? '
            'AND "BillingPeriodStart" = ?',
            [sha, acct, period],
        )
    for sha in victims:
        query(f"UPDATE {INGESTS_TABLE} SET replaced_by = ? WHERE sha256 = ?", [item.spec.sha256, sha])
    return [
        Replacement(
            path=v["path"],
            sha256=sha,
            rows_removed=v["rows"],
            billing_accounts=sorted(v["accounts"]),
            billing_periods=sorted(v["periods"]),
        )
        for sha, v in sorted(victims.items(), key=lambda kv: kv[1]["path"])
    ]


def ingest_focus_files(
    warehouse: Path | str,
    paths: Sequence[Path],
    config: WarehouseConfig,
    rejected_dir: Path,
    on_file: Callable[[IngestResult], None] | None = None,
    append: bool = False,
    allow_shrink: bool = False,
    max_shrink: Decimal = DEFAULT_MAX_SHRINK,
) -> IngestReport:
    """Ingest FOCUS files into ``warehouse`` (a DuckDB file or a ``postgresql://`` URL), all or
    none of them (one transaction; an error names the file).

    Files given together form one export batch; with ``append`` they join the previous FOCUS
    ingest's batch (more part files of the same export, ingested in a later run), so they add to
    it instead of replacing it. A newer export of a (billing account, billing period) replaces
    older ones, unless it has fewer than ``1 - max_shrink`` of their rows (a share, 0–1): that
    needs ``allow_shrink``."""
    if not Decimal(0) <= Decimal(max_shrink) <= 1:
        raise InputError(f"max_shrink {max_shrink}: must be a share between 0 and 1")
    with open_ingest_target(warehouse, rejected_dir) as target:
        con = target.con
        batch_id = (_latest_batch(target.query) if append else None) or uuid.uuid4().hex

        def prepare(path: Path) -> Callable[[], SourceSpec]:
            spec = inspect_focus_file(con, Path(path))
            return lambda: spec

        def restate(query: Query, staged: list[StagedFile]) -> None:
            new = [s for s in staged if s.rows_loaded]
            if not new:
                return
            if not allow_shrink:
                _check_shrink(query, new, batch_id, Decimal(max_shrink))
            for item in new:
                item.replaced = _replace_older(query, item, batch_id)

        results = load_batch(
            con,
            [Path(p) for p in paths],
            prepare,
            config,
            rejected_dir,
            batch_id,
            target.before_commit(restate),
            known_currency=target.known_currency,
        )
    for result in results:
        if on_file:
            on_file(result)
    return IngestReport(files=results)
