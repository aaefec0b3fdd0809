"""The one FOCUS-shaped fact table ``cost_facts``: its columns, types and creation.

Column list: FOCUS 1.2 (``data/focus_1.2_columns.csv``, FinOps Foundation, CC BY 4.0) plus
allocation dimensions derived from ``Tags`` and ``x_`` columns for what FOCUS has no column for
(LLM token counts, source bookkeeping, extra columns found in an export).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from warehouse.config import ALLOCATION_DIMENSIONS

FACT_TABLE = "cost_facts"
INGESTS_TABLE = "ingests"
MONEY_SQL = "DECIMAL(38, 12)"
QUANTITY_SQL = "DECIMAL(38, 12)"
_DATA = Path(__file__).with_name("data")

# The largest |value| a cell of a DECIMAL or BIGINT column may hold: 10^15 (a quadrillion of the
# billing currency, of a unit, or of tokens). DECIMAL(38, 12) holds |x| < 10^26, so no SUM over
# bounded rows can overflow before 10^11 rows (100 billion), nor the difference of two such sums
# before 5 × 10^10 rows. A 26-digit cost fits one cell but made the first SUM in `spend` and
# `movers` overflow; such a row is rejected with a reason instead (no real bill line is that big).
MAX_ABS_VALUE = 10**15
MAX_ABS_TEXT = "1e15"

_SQL_TYPE = {"Decimal": QUANTITY_SQL, "Date/Time": "TIMESTAMP", "String": "VARCHAR", "JSON": "VARCHAR"}
COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")


@dataclass(frozen=True)
class FocusColumn:
    name: str
    feature_level: str  # Mandatory | Recommended | Conditional
    data_type: str  # String | Decimal | Date/Time | JSON
    allows_nulls: bool

    @property
    def sql_type(self) -> str:
        return MONEY_SQL if self.name in COST_COLUMNS else _SQL_TYPE[self.data_type]


@cache
def focus_columns() -> tuple[FocusColumn, ...]:
    """FOCUS 1.2 columns in spec order."""
    with (_DATA / "focus_1.2_columns.csv").open(newline="") as handle:
        return tuple(
            FocusColumn(
                name=row["column"],
                feature_level=row["feature_level"],
                data_type=row["data_type"],
                allows_nulls=row["allows_nulls"] == "True",
            )
            for row in csv.DictReader(handle)
        )


@cache
def focus_by_lower() -> dict[str, FocusColumn]:
    return {c.name.lower(): c for c in focus_columns()}


def required_columns() -> tuple[str, ...]:
    """Columns a FOCUS file must have to be loadable at all (FOCUS 'Mandatory')."""
    return tuple(c.name for c in focus_columns() if c.feature_level == "Mandatory")


# Values every row needs; a row missing one is rejected. (A subset of FOCUS's non-nullable
# mandatory columns: real 1.0 exports leave ContractedCost / ListCost null on some rows, and
# those rows still carry real BilledCost that must not be lost.)
REQUIRED_VALUES: tuple[str, ...] = (
    "BilledCost",
    "EffectiveCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "ServiceName",
)

# Columns costpilot adds. LLM usage lands in the x_ token columns; every row knows its source.
EXTRA_COLUMNS: dict[str, str] = {
    **{dim: "VARCHAR" for dim in ALLOCATION_DIMENSIONS},
    "x_model": "VARCHAR",
    "x_prompt_tokens": "BIGINT",
    "x_completion_tokens": "BIGINT",
    "x_cache_read_tokens": "BIGINT",
    "x_cache_creation_tokens": "BIGINT",
    "x_requests": "BIGINT",
    "x_request_id": "VARCHAR",
    "x_end_user": "VARCHAR",
    "x_cost_source": "VARCHAR",
    "x_source_file": "VARCHAR",
    "x_source_sha256": "VARCHAR",
    "x_source_row": "BIGINT",
    # Set only while a load is in flight (rows are validated and written in one pass; rejected
    # ones are moved to the rejected-rows file before commit), so always NULL in committed data.
    "x_reject_reason": "VARCHAR",
}


def fact_columns() -> dict[str, str]:
    """Every base column of ``cost_facts`` → SQL type (extra ``x_`` columns may be added later)."""
    columns = {c.name: c.sql_type for c in focus_columns()}
    columns.update(EXTRA_COLUMNS)
    return columns


def create_fact_table_sql() -> str:
    body = ",\n  ".join(f'"{name}" {sql}' for name, sql in fact_columns().items())
    return f"CREATE TABLE IF NOT EXISTS {FACT_TABLE} (\n  {body}\n)"


CREATE_INGESTS_SQL = f"""
CREATE TABLE IF NOT EXISTS {INGESTS_TABLE} (
  sha256 VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  path VARCHAR NOT NULL,
  ingested_at TIMESTAMP NOT NULL,
  rows_read BIGINT NOT NULL,
  rows_loaded BIGINT NOT NULL,
  rows_rejected BIGINT NOT NULL,
  rejected_file VARCHAR,
  batch_id VARCHAR NOT NULL,
  replaced_by VARCHAR
)
"""
