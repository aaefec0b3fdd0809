"""The SQL built by hand: quoting (identifiers and literals from file headers), and how a source
column becomes its fact-table type, with the reason a value cannot (all in SQL, so millions of
rows never pass through Python)."""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.facts import MAX_ABS_TEXT, MAX_ABS_VALUE, fact_columns


def ident(name: str) -> str:
    """A quoted SQL identifier (column names come from users' files)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# FOCUS columns with a closed set of values: matched case-insensitively (real exports write
# "Usage-based" and "Usage-Based"), stored in the spec's spelling, anything else rejected.
_ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "ChargeCategory": ("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "ChargeClass": ("Correction",),
}


def clean(column: str) -> str:
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


def source_name(column: str) -> str:
    """Name under which the loader's inner select (``loader._stage_sql``) keeps a column's source value."""
    return ident("__src_" + column)


@dataclass(frozen=True)
class Typed:
    """How one column is typed: ``typed`` and ``source`` read the file's column; ``reason``
    reads the typed value as "column" and the source value as "__src_column", so each is
    computed once a row (a reason needs both; the query compiles faster too)."""

    typed: str
    source: str | None = None  # None: the typed value is the source text itself
    reason: str | None = None
    native: bool = False


def _too_big(column: str, text: str) -> str:
    return (
        f"{literal(column + ': implausible magnitude ')} || left({text}, 60) "
        f"|| {literal(f' (|value| must be at most {MAX_ABS_TEXT})')}"
    )


def typed_expr(column: str, source_type: str = "VARCHAR") -> Typed:
    """How one source column becomes its fact-table type, and why a value cannot."""
    sql_type = fact_columns().get(column, "VARCHAR")
    target = "DECIMAL" if sql_type.startswith("DECIMAL") else sql_type
    bounded = target in ("DECIMAL", "BIGINT")
    typed_ref, src_ref = ident(column), source_name(column)
    text = f"CAST({src_ref} AS VARCHAR)"
    if source_type.upper().startswith(_NATIVE.get(target, ())):
        # Already typed (Parquet): no text round trip; WITH TIME ZONE values become UTC wall
        # time. TRY_CAST, because a DOUBLE of 1e30 or NaN fits no DECIMAL(38, 12): that is one
        # rejected row, not a failed load.
        unusable = f"{literal(column + ': not representable as ' + sql_type + ': ')} || left({text}, 60)"
        typed, native = f"TRY_CAST({ident(column)} AS {sql_type})", True
    else:
        value, native = clean(column), False
        if sql_type.startswith("DECIMAL"):
            typed, kind = f"TRY_CAST({value} AS {sql_type})", "a number"
        elif sql_type == "TIMESTAMP":
            # Values with a UTC offset go through TIMESTAMPTZ (4× slower); plain and 'Z' ones do not.
            offset = f"(contains(substr({value}, 17), '+') OR contains(substr({value}, 17), '-'))"
            typed = (
                f"CASE WHEN {offset} THEN CAST(TRY_CAST({value} AS TIMESTAMPTZ) AS TIMESTAMP) "
                f"ELSE TRY_CAST({value} AS TIMESTAMP) END"
            )
            kind = "a date/time"
        elif sql_type == "BIGINT":
            typed, kind = f"TRY_CAST({value} AS BIGINT)", "an integer"
        elif column in _ALLOWED_VALUES:
            allowed = _ALLOWED_VALUES[column]
            cases = " ".join(f"WHEN {literal(v.lower())} THEN {literal(v)}" for v in allowed)
            typed, kind = f"CASE lower({value}) {cases} END", "one of " + ", ".join(allowed)
        else:
            return Typed(typed=value)
        unusable = f"{literal(column + ': not ' + kind + ': ')} || left({text}, 60)"
        if bounded:
            # A number too long for the column (27+ digits) is a magnitude problem, not a typo.
            unusable = f"CASE WHEN isfinite(TRY_CAST({text} AS DOUBLE)) THEN {_too_big(column, text)} ELSE {unusable} END"
    reason = f"CASE WHEN {src_ref} IS NOT NULL AND {typed_ref} IS NULL THEN {unusable} "
    if bounded:
        reason += f"WHEN abs({typed_ref}) > {MAX_ABS_VALUE} THEN {_too_big(column, text)} "
    source = ident(column) if native else clean(column)
    return Typed(typed=typed, source=source, reason=reason + "END", native=native)
