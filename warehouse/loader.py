"""Validate-and-load of FOCUS-shaped rows into ``cost_facts``, all-or-nothing per file.

Both the FOCUS ingest and the LLM-usage ingest hand this module a DuckDB source (a SQL
``FROM`` item whose columns already carry canonical FOCUS / ``x_`` names and a ``__row``
number). Validation runs in SQL so millions of rows never pass through Python: each row gets
a ``__reason`` (NULL when valid); valid rows go to the fact table, the others to a rejected
rows file with source, row number and reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.config import UNTAGGED, WarehouseConfig
from warehouse.connection import load_transaction
from warehouse.facts import (
    FACT_TABLE,
    INGESTS_TABLE,
    REQUIRED_VALUES,
    fact_columns,
)
from warehouse.ingest_models import IngestResult, IngestStatus, Replacement
from warehouse.sql import ident, literal

# FOCUS columns with a closed set of values: matched case-insensitively (real exports write
# "Usage-based" and "Usage-Based"), stored in the spec's spelling, anything else rejected.
_ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "ChargeCategory": ("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "ChargeClass": ("Correction",),
}


@dataclass
class SourceSpec:
    """What the loader needs to know about one input file."""

    path: Path
    sha256: str
    kind: str
    from_sql: str  # a FROM item: the file read, columns renamed, plus __row
    columns: list[str]  # canonical names present in from_sql (FOCUS names and x_ names)
    extra_columns: list[str] = field(default_factory=list)  # x_ columns to add to the table
    structural_rejects: list[tuple[int, str]] = field(default_factory=list)  # (row/line, reason)
    restate: bool = True  # a newer export replaces older ones of the same account + period
    extra_reasons: list[str] = field(default_factory=list)  # more SQL reason expressions
    # Column types as the reader sees them; typed Parquet columns skip the text round trip.
    source_types: dict[str, str] = field(default_factory=dict)
    # Called right after the source was scanned, for rows the reader itself could not parse.
    collect_rejects: Callable[[duckdb.DuckDBPyConnection], list[tuple[int, str]]] | None = None


def _clean(column: str) -> str:
    """The source value as text, with '' and 'NULL' as NULL in every file format (no TRIM on
    every string: it costs seconds per million rows; casts ignore surrounding blanks anyway)."""
    return f"NULLIF(NULLIF(CAST({ident(column)} AS VARCHAR), ''), 'NULL')"


_NATIVE = {
    "DECIMAL": (
        "DECIMAL",
        "DOUBLE",
        "FLOAT",
        "BIGINT",
        "INTEGER",
        "HUGEINT",
        "SMALLINT",
        "UBIGINT",
        "UINTEGER",
    ),
    "TIMESTAMP": ("TIMESTAMP", "DATE"),
    "BIGINT": ("BIGINT", "INTEGER", "SMALLINT", "UBIGINT", "UINTEGER"),
}


def _typed_expr(column: str, source_type: str = "VARCHAR") -> tuple[str, str | None]:
    """(typed SQL expression, reason-if-unparseable SQL or None) for one source column."""
    sql_type = fact_columns().get(column, "VARCHAR")
    target = "DECIMAL" if sql_type.startswith("DECIMAL") else sql_type
    if source_type.upper().startswith(_NATIVE.get(target, ())):
        # Already typed (Parquet): a direct cast; WITH TIME ZONE values become UTC wall time.
        return f"CAST({ident(column)} AS {sql_type})", None
    src = _clean(column)
    if sql_type.startswith("DECIMAL"):
        typed, kind = f"TRY_CAST({src} AS {sql_type})", "a number"
    elif sql_type == "TIMESTAMP":
        # Values with a UTC offset go through TIMESTAMPTZ (4× slower); plain and 'Z' ones do not.
        offset = f"(contains(substr({src}, 17), '+') OR contains(substr({src}, 17), '-'))"
        typed = (
            f"CASE WHEN {offset} THEN CAST(TRY_CAST({src} AS TIMESTAMPTZ) AS TIMESTAMP) "
            f"ELSE TRY_CAST({src} AS TIMESTAMP) END"
        )
        kind = "a date/time"
    elif sql_type == "BIGINT":
        typed, kind = f"TRY_CAST({src} AS BIGINT)", "an integer"
    elif column in _ALLOWED_VALUES:
        allowed = _ALLOWED_VALUES[column]
        cases = " ".join(f"WHEN {literal(v.lower())} THEN {literal(v)}" for v in allowed)
        typed, kind = f"CASE lower({src}) {cases} END", "one of " + ", ".join(allowed)
    else:
        return src, None
    reason = (
        f"CASE WHEN {src} IS NOT NULL AND {typed} IS NULL "
        f"THEN {literal(column + ': not ' + kind + ': ')} || left({src}, 60) END"
    )
    return typed, reason


def _alias_paths(config: WarehouseConfig) -> list[str]:
    """Every tag key any allocation dimension looks at, as JSON paths, in a fixed order."""
    keys = dict.fromkeys(k for aliases in config.tag_aliases.values() for k in aliases)
    return [_json_path(k) for k in keys]


def _json_path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


def _tags_list_expr(config: WarehouseConfig) -> str:
    """One JSON parse per row: the values of all alias keys as a list (NULL for bad JSON)."""
    paths = _alias_paths(config)
    if not paths:
        return "NULL"
    tags = _clean("Tags")
    path_list = "[" + ", ".join(literal(p) for p in paths) + "]"
    return f"CASE WHEN {tags} IS NOT NULL AND left({tags}, 1) = '{{' AND json_valid({tags}) THEN json_extract_string({tags}, {path_list}) END"


def _dimension_from_list(keys: list[str], config: WarehouseConfig) -> str:
    order = _alias_paths(config)
    picks = [f"NULLIF(TRIM(__tags[{order.index(_json_path(k)) + 1}]), '')" for k in keys]
    return f"COALESCE({', '.join(picks)}, {literal(UNTAGGED)})" if picks else literal(UNTAGGED)


def _dataset_currency(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, config: WarehouseConfig
) -> str | None:
    if config.currency:
        return config.currency.upper()
    existing = con.execute(f"SELECT DISTINCT BillingCurrency FROM {FACT_TABLE} LIMIT 2").fetchall()
    if len(existing) == 1:
        return str(existing[0][0])
    row = con.execute(
        f"SELECT upper(trim(CAST(BillingCurrency AS VARCHAR))) AS c, count(*) FROM {spec.from_sql} "
        "WHERE BillingCurrency IS NOT NULL GROUP BY c ORDER BY 2 DESC, c LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else None


def _stage_sql(spec: SourceSpec, config: WarehouseConfig, currency: str | None) -> str:
    selects: list[str] = []
    reasons: list[str] = []
    present = set(spec.columns)
    for name in fact_columns():
        if name in present:
            typed, reason = _typed_expr(name, spec.source_types.get(name, "VARCHAR"))
            selects.append(f"{typed} AS {ident(name)}")
            if reason:
                reasons.append(reason)
    for name in spec.extra_columns:
        selects.append(f"CAST({ident(name)} AS VARCHAR) AS {ident(name)}")
    for name in REQUIRED_VALUES:
        if name in present:
            value = _clean(name)
            reasons.insert(
                0, f"CASE WHEN {value} IS NULL OR trim({value}) = '' THEN {literal('missing ' + name)} END"
            )
    if "Tags" in present:
        tags = _clean("Tags")
        selects.append(f"{_tags_list_expr(config)} AS __tags")
        reasons.append(
            f"CASE WHEN {tags} IS NOT NULL AND NOT (left({tags}, 1) = '{{' AND json_valid({tags})) "
            "THEN 'Tags: not a JSON object' END"
        )
    if currency and "BillingCurrency" in present:
        reasons.append(
            f"CASE WHEN upper(trim(CAST(BillingCurrency AS VARCHAR))) <> {literal(currency)} "
            f"THEN 'BillingCurrency ' || CAST(BillingCurrency AS VARCHAR) || ' differs from the dataset currency {currency}' END"
        )
    reasons.extend(spec.extra_reasons)
    reason = f"NULLIF(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "NULL"
    return f"SELECT __row, {', '.join(selects)}, {reason} AS __reason FROM {spec.from_sql}"


def _insert_sql(spec: SourceSpec, config: WarehouseConfig, currency: str | None) -> str:
    """One pass: validate, type and write every row; rejected ones carry x_reject_reason."""
    present = [c for c in fact_columns() if c in set(spec.columns)]
    targets = present + list(spec.extra_columns)
    values = [ident(c) for c in targets]
    has_tags = "Tags" in spec.columns
    for dim, keys in config.tag_aliases.items():
        if dim in spec.columns:  # the source set it already (LLM usage)
            continue
        targets.append(dim)
        values.append(_dimension_from_list(keys, config) if has_tags else literal(UNTAGGED))
    bookkeeping = {
        "x_source_file": literal(str(spec.path)),
        "x_source_sha256": literal(spec.sha256),
        "x_source_row": "__row",
        "x_reject_reason": "__reason",
    }
    if "x_cost_source" not in spec.columns:
        bookkeeping["x_cost_source"] = literal(spec.kind)
    for col, expr in bookkeeping.items():
        targets.append(col)
        values.append(expr)
    cols = ", ".join(ident(c) for c in targets)
    source = f"({_stage_sql(spec, config, currency)}) AS __src"
    return f"INSERT INTO {FACT_TABLE} ({cols}) SELECT {', '.join(values)} FROM {source}"


def _replace_older(con: duckdb.DuckDBPyConnection, spec: SourceSpec, batch_id: str) -> list[Replacement]:
    """Delete rows of earlier exports for the same (billing account, billing period)."""
    keys = con.execute(
        f"SELECT DISTINCT BillingAccountId, BillingPeriodStart FROM {FACT_TABLE} "
        "WHERE x_source_sha256 = ? AND x_reject_reason IS NULL",
        [spec.sha256],
    ).fetchall()
    if not keys:
        return []
    con.execute("CREATE TEMP TABLE __keys (acct VARCHAR, period TIMESTAMP)")
    con.executemany("INSERT INTO __keys VALUES (?, ?)", keys)
    victims = con.execute(
        f"""
        SELECT f.x_source_sha256, any_value(i.path), count(*),
               list(DISTINCT f.BillingAccountId ORDER BY f.BillingAccountId),
               list(DISTINCT strftime(f.BillingPeriodStart, '%Y-%m-%d') ORDER BY 1)
        FROM {FACT_TABLE} f
        JOIN __keys k ON f.BillingAccountId = k.acct AND f.BillingPeriodStart = k.period
        JOIN {INGESTS_TABLE} i ON i.sha256 = f.x_source_sha256
        WHERE i.kind = ? AND i.batch_id <> ?
        GROUP BY f.x_source_sha256 ORDER BY 2
        """,
        [spec.kind, batch_id],
    ).fetchall()
    replacements = []
    for sha, path, count, accounts, periods in victims:
        con.execute(
            f"DELETE FROM {FACT_TABLE} f USING __keys k WHERE f.x_source_sha256 = ? "
            "AND f.BillingAccountId = k.acct AND f.BillingPeriodStart = k.period",
            [sha],
        )
        con.execute(f"UPDATE {INGESTS_TABLE} SET replaced_by = ? WHERE sha256 = ?", [spec.sha256, sha])
        replacements.append(
            Replacement(
                path=path, sha256=sha, rows_removed=count, billing_accounts=accounts, billing_periods=periods
            )
        )
    con.execute("DROP TABLE __keys")
    return replacements


def _move_rejects(con: duckdb.DuckDBPyConnection, spec: SourceSpec, target: Path) -> None:
    """Write rejected rows (source, row, reason) to ``target`` and take them out of the table."""
    con.execute("CREATE TEMP TABLE __rej (source VARCHAR, row BIGINT, reason VARCHAR)")
    con.execute(
        f"INSERT INTO __rej SELECT {literal(str(spec.path))}, x_source_row, x_reject_reason FROM {FACT_TABLE} "
        "WHERE x_source_sha256 = ? AND x_reject_reason IS NOT NULL",
        [spec.sha256],
    )
    if spec.structural_rejects:
        con.executemany(
            "INSERT INTO __rej VALUES (?, ?, ?)",
            [(str(spec.path), row, reason) for row, reason in spec.structural_rejects],
        )
    con.execute(f"COPY (SELECT * FROM __rej ORDER BY row) TO {literal(str(target))} (HEADER, DELIMITER ',')")
    con.execute("DROP TABLE __rej")
    con.execute(
        f"DELETE FROM {FACT_TABLE} WHERE x_source_sha256 = ? AND x_reject_reason IS NOT NULL", [spec.sha256]
    )


def already_ingested(con: duckdb.DuckDBPyConnection, sha256: str) -> bool:
    return bool(con.execute(f"SELECT 1 FROM {INGESTS_TABLE} WHERE sha256 = ?", [sha256]).fetchall())


def load_source(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    config: WarehouseConfig,
    rejected_dir: Path,
    batch_id: str | None = None,
) -> IngestResult:
    """Validate and load one source in one transaction; write its rejected rows file."""
    batch_id = batch_id or uuid.uuid4().hex
    if already_ingested(con, spec.sha256):
        return IngestResult(
            path=str(spec.path),
            kind=spec.kind,
            sha256=spec.sha256,
            status=IngestStatus.already_ingested,
            rows_read=0,
            rows_loaded=0,
            rows_rejected=0,
        )
    currency = _dataset_currency(con, spec, config)
    rejected_dir.mkdir(parents=True, exist_ok=True)
    rejected_path = rejected_dir / f"{spec.path.name}.{spec.sha256[:12]}.rejected.csv"
    tmp_rejected = rejected_path.with_suffix(".tmp")
    with load_transaction(con, spec.path, tmp_rejected):
        for name in spec.extra_columns:
            con.execute(f"ALTER TABLE {FACT_TABLE} ADD COLUMN IF NOT EXISTS {ident(name)} VARCHAR")
        con.execute(_insert_sql(spec, config, currency))
        rows_parsed, value_rejects = con.execute(  # type: ignore[misc]
            f"SELECT count(*), count(x_reject_reason) FROM {FACT_TABLE} WHERE x_source_sha256 = ?",
            [spec.sha256],
        ).fetchone()
        if spec.collect_rejects:
            spec.structural_rejects = spec.collect_rejects(con)
        loaded = rows_parsed - value_rejects
        rejected = value_rejects + len(spec.structural_rejects)
        if rejected:
            _move_rejects(con, spec, tmp_rejected)
        replaced = _replace_older(con, spec, batch_id) if spec.restate else []
        con.execute(
            f"INSERT INTO {INGESTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                spec.sha256,
                spec.kind,
                str(spec.path),
                datetime.now(UTC).replace(tzinfo=None),
                rows_parsed + len(spec.structural_rejects),
                loaded,
                rejected,
                str(rejected_path) if rejected else None,
                batch_id,
            ],
        )
    if rejected:
        tmp_rejected.replace(rejected_path)
    return IngestResult(
        path=str(spec.path),
        kind=spec.kind,
        sha256=spec.sha256,
        status=IngestStatus.loaded,
        rows_read=rows_parsed + len(spec.structural_rejects),
        rows_loaded=loaded,
        rows_rejected=rejected,
        rejected_file=str(rejected_path) if rejected else None,
        extra_columns=list(spec.extra_columns),
        replaced=replaced,
        currency=currency,
    )
