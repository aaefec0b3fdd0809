"""Validate-and-load of FOCUS-shaped rows into ``cost_facts``, all-or-nothing per command.

Both the FOCUS ingest and the LLM-usage ingest hand this module a DuckDB source (a SQL
``FROM`` item whose columns already carry canonical FOCUS / ``x_`` names and a ``__row``
number). Validation runs in SQL so millions of rows never pass through Python: each row gets
a ``__reason`` (NULL when valid); valid rows go to the fact table, the others to a rejected
rows file with source, row number and reason.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from domain.errors import CostpilotError, DataError, FileRejected
from warehouse.config import UNTAGGED, WarehouseConfig
from warehouse.facts import (
    FACT_TABLE,
    INGESTS_TABLE,
    REQUIRED_VALUES,
    fact_columns,
)
from warehouse.files import shown
from warehouse.ingest_models import IngestResult, IngestStatus, Replacement
from warehouse.sql import Typed, clean, ident, literal, source_name, typed_expr
from warehouse.table_cache import invalidate


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
    extra_reasons: list[str] = field(default_factory=list)  # more SQL reason expressions
    # Column types as the reader sees them; typed Parquet columns skip the text round trip.
    source_types: dict[str, str] = field(default_factory=dict)
    # Called right after the source was scanned, for rows the reader itself could not parse.
    collect_rejects: Callable[[duckdb.DuckDBPyConnection], list[tuple[int, str]]] | None = None
    # Called once the source was written (or failed): frees what from_sql reads (a registered view).
    release: Callable[[], None] | None = None


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
    tags = clean("Tags")
    path_list = "[" + ", ".join(literal(p) for p in paths) + "]"
    return f"CASE WHEN {tags} IS NOT NULL AND left({tags}, 1) = '{{' AND json_valid({tags}) THEN json_extract_string({tags}, {path_list}) END"


def _dimension_from_list(keys: list[str], config: WarehouseConfig) -> str:
    order = _alias_paths(config)
    picks = [f"NULLIF(TRIM(__tags[{order.index(_json_path(k)) + 1}]), '')" for k in keys]
    return f"COALESCE({', '.join(picks)}, {literal(UNTAGGED)})" if picks else literal(UNTAGGED)


def _dataset_currency(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, config: WarehouseConfig, known: str | None = None
) -> str | None:
    if config.currency:
        return config.currency.upper()
    if known:  # the one currency of a warehouse staged elsewhere (PostgreSQL)
        return known
    existing = con.execute(f"SELECT DISTINCT BillingCurrency FROM {FACT_TABLE} LIMIT 2").fetchall()
    if len(existing) == 1:
        return str(existing[0][0])
    row = con.execute(
        f"SELECT upper(trim(CAST(BillingCurrency AS VARCHAR))) AS c, count(*) FROM {spec.from_sql} "
        "WHERE BillingCurrency IS NOT NULL GROUP BY c ORDER BY 2 DESC, c LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else None


def _stage_sql(spec: SourceSpec, config: WarehouseConfig, currency: str | None) -> str:
    """Every row typed, plus ``__reason`` (NULL when valid): an inner select types each value
    once, the outer one explains the values that did not type."""
    inner: list[str] = ["__row"]
    outer: list[str] = ["__row"]
    reasons: list[str] = []
    present = set(spec.columns)
    typings: dict[str, Typed] = {}
    for name in fact_columns():
        if name in present:
            typing = typings[name] = typed_expr(name, spec.source_types.get(name, "VARCHAR"))
            inner.append(f"{typing.typed} AS {ident(name)}")
            outer.append(ident(name))
            if typing.source:
                inner.append(f"{typing.source} AS {source_name(name)}")
            if typing.reason:
                reasons.append(typing.reason)
    for name in spec.extra_columns:
        inner.append(f"CAST({ident(name)} AS VARCHAR) AS {ident(name)}")
        outer.append(ident(name))
    for name in REQUIRED_VALUES:
        if name in present:
            typing = typings[name]
            value = source_name(name) if typing.source else ident(name)
            missing = f"{value} IS NULL" if typing.native else f"{value} IS NULL OR trim({value}) = ''"
            reasons.insert(0, f"CASE WHEN {missing} THEN {literal('missing ' + name)} END")
    if "Tags" in present:
        tags = ident("Tags")  # the source text: Tags is a string column
        inner.append(f"{_tags_list_expr(config)} AS __tags")
        outer.append("__tags")
        reasons.append(
            f"CASE WHEN {tags} IS NOT NULL AND NOT (left({tags}, 1) = '{{' AND json_valid({tags})) "
            "THEN 'Tags: not a JSON object' END"
        )
    if currency and "BillingCurrency" in present:
        reasons.append(
            f"CASE WHEN upper(trim(BillingCurrency)) <> {literal(currency)} "
            f"THEN 'BillingCurrency ' || BillingCurrency || ' differs from the dataset currency {currency}' END"
        )
    reasons.extend(spec.extra_reasons)
    reason = f"NULLIF(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "NULL"
    return (
        f"SELECT {', '.join(outer)}, {reason} AS __reason "
        f"FROM (SELECT {', '.join(inner)} FROM {spec.from_sql}) AS __typed"
    )


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


@dataclass
class StagedFile:
    """One file of a batch, written inside the batch's (not yet committed) transaction."""

    spec: SourceSpec
    status: IngestStatus
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected_file: Path | None = None  # where the rejected rows land once the batch commits
    scratch: Path | None = None  # where they are until then
    currency: str | None = None
    replaced: list[Replacement] = field(default_factory=list)

    def result(self) -> IngestResult:
        return IngestResult(
            path=str(self.spec.path),
            kind=self.spec.kind,
            sha256=self.spec.sha256,
            status=self.status,
            rows_read=self.rows_read,
            rows_loaded=self.rows_loaded,
            rows_rejected=self.rows_rejected,
            rejected_file=str(self.rejected_file) if self.rejected_file else None,
            extra_columns=list(self.spec.extra_columns) if self.status is IngestStatus.loaded else [],
            replaced=self.replaced,
            currency=self.currency,
        )


def stage_source(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    config: WarehouseConfig,
    rejected_dir: Path,
    batch_id: str,
    scratch_files: list[Path],
    known_currency: str | None = None,
) -> StagedFile:
    """Validate and write one source inside the caller's transaction; its rejected rows go to a
    scratch file (listed in ``scratch_files`` before it is written, so an abort can remove it)."""
    if already_ingested(con, spec.sha256):
        return StagedFile(spec=spec, status=IngestStatus.already_ingested)
    currency = _dataset_currency(con, spec, config, known_currency)
    for name in spec.extra_columns:
        con.execute(f"ALTER TABLE {FACT_TABLE} ADD COLUMN IF NOT EXISTS {ident(name)} VARCHAR")
    con.execute(_insert_sql(spec, config, currency))
    rows_parsed, value_rejects = con.execute(  # type: ignore[misc]
        f"SELECT count(*), count(x_reject_reason) FROM {FACT_TABLE} WHERE x_source_sha256 = ?",
        [spec.sha256],
    ).fetchone()
    if spec.collect_rejects:
        spec.structural_rejects = spec.collect_rejects(con)
    rows_read = rows_parsed + len(spec.structural_rejects)
    rejected = value_rejects + len(spec.structural_rejects)
    staged = StagedFile(
        spec=spec,
        status=IngestStatus.loaded,
        rows_read=rows_read,
        rows_loaded=rows_parsed - value_rejects,
        rows_rejected=rejected,
        currency=currency,
    )
    if rejected:
        rejected_dir.mkdir(parents=True, exist_ok=True)
        staged.rejected_file = rejected_dir / f"{spec.path.name}.{spec.sha256[:12]}.rejected.csv"
        staged.scratch = staged.rejected_file.with_suffix(".tmp")
        scratch_files.append(staged.scratch)
        _move_rejects(con, spec, staged.scratch)
    con.execute(
        f"INSERT INTO {INGESTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        [
            spec.sha256,
            spec.kind,
            str(spec.path),
            datetime.now(UTC).replace(tzinfo=None),
            rows_read,
            staged.rows_loaded,
            rejected,
            str(staged.rejected_file) if staged.rejected_file else None,
            batch_id,
        ],
    )
    return staged


# Looks at one file before anything is written (cheap whole-file checks: format, header) and
# returns what builds its SourceSpec when the batch gets to it.
Prepare = Callable[[Path], Callable[[], SourceSpec]]
BeforeCommit = Callable[[duckdb.DuckDBPyConnection, list[StagedFile]], None]


def _nothing_loaded(count: int) -> str:
    if count == 1:
        return "; nothing loaded"
    return f"; nothing loaded from any of the {count} files (one ingest is all-or-nothing)"


def _failure(exc: BaseException, current: Path | None, count: int) -> BaseException:
    """The one-line error for an aborted batch, naming the file it stopped at."""
    suffix = _nothing_loaded(count)
    if isinstance(exc, FileRejected):
        return FileRejected(exc.path, exc.reason + suffix)
    if isinstance(exc, CostpilotError):
        return type(exc)(f"{exc}{suffix}")
    if isinstance(exc, duckdb.Error | OSError):  # OSError: a full disk, a file size limit
        where = shown(current, 4096) if current is not None else "ingest"
        first = shown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200)
        return DataError(f"{where}: load failed ({first}){suffix}")
    return exc


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, quietly: after a failed write (a full disk) DuckDB may refuse even that, and
    the error to report is the first one (the transaction never committed either way)."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def load_batch(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    prepare: Prepare,
    config: WarehouseConfig,
    rejected_dir: Path,
    batch_id: str | None = None,
    before_commit: BeforeCommit | None = None,
    known_currency: str | None = None,
) -> list[IngestResult]:
    """Load every file of one command in one transaction: all of them, or none.

    Every file is looked at first (``prepare``), so a bad file is refused before any work;
    then each is validated and written; ``before_commit`` sees them all (restatements). Any
    error rolls the whole batch back, removes its scratch files and names the file."""
    batch_id = batch_id or uuid.uuid4().hex
    scratch_files: list[Path] = []
    staged: list[StagedFile] = []
    current: Path | None = None
    begun = False
    try:
        builders = []
        for path in paths:
            current = path
            builders.append(prepare(path))
        con.execute("BEGIN TRANSACTION")
        begun = True
        for path, build in zip(paths, builders, strict=True):
            current = path
            spec = build()
            try:
                staged.append(
                    stage_source(con, spec, config, rejected_dir, batch_id, scratch_files, known_currency)
                )
            finally:
                if spec.release:
                    spec.release()
        current = None
        if before_commit:
            before_commit(con, staged)
        con.execute("COMMIT")
    except BaseException as exc:
        if begun:
            _rollback(con)
        for scratch in scratch_files:
            scratch.unlink(missing_ok=True)
        error = _failure(exc, current, len(paths))
        if error is exc:
            raise
        raise error from None
    invalidate()  # queries in this process see the new rows and columns
    for item in staged:
        if item.scratch and item.rejected_file:
            item.scratch.replace(item.rejected_file)
    return [item.result() for item in staged]
