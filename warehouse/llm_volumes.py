"""Token volumes per feature and model from the LLM rows of ``cost_facts``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from warehouse.connection import connect_reader, table_exists
from warehouse.facts import FACT_TABLE


@dataclass(frozen=True)
class TokenVolume:
    feature: str
    model: str
    prompt_tokens: int  # includes cache-read and cache-creation tokens (LiteLLM convention)
    completion_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    requests: int
    cost: Decimal  # EffectiveCost of these rows
    days: int = 0  # distinct days with usage in the window: the evidence behind a model change


def token_volumes(warehouse_path: Path, start: date, end: date) -> list[TokenVolume]:
    """Volumes of LLM rows with ChargePeriodStart in [start, end] (days included)."""
    if not warehouse_path.exists():
        return []
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, FACT_TABLE):
            return []
        rows = con.execute(
            f"""SELECT feature, x_model, sum(coalesce(x_prompt_tokens, 0)), sum(coalesce(x_completion_tokens, 0)),
                       sum(coalesce(x_cache_read_tokens, 0)), sum(coalesce(x_cache_creation_tokens, 0)),
                       sum(coalesce(x_requests, 1)), sum(coalesce(EffectiveCost, 0)),
                       count(DISTINCT ChargePeriodStart::DATE)
                FROM {FACT_TABLE}
                WHERE x_model IS NOT NULL AND ChargePeriodStart >= ? AND ChargePeriodStart < ? + INTERVAL 1 DAY
                GROUP BY ALL ORDER BY 1, 2""",
            [start, end],
        ).fetchall()
    finally:
        con.close()
    return [
        TokenVolume(str(f), str(m), int(p), int(c), int(r), int(w), int(n), Decimal(cost), int(d))
        for f, m, p, c, r, w, n, cost, d in rows
    ]


def llm_data_end(warehouse_path: Path) -> date | None:
    """Day of the latest LLM row (None when there are none)."""
    if not warehouse_path.exists():
        return None
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, FACT_TABLE):
            return None
        row = con.execute(
            f"SELECT max(ChargePeriodStart)::DATE FROM {FACT_TABLE} WHERE x_model IS NOT NULL"
        ).fetchone()
    finally:
        con.close()
    return row[0] if row and row[0] else None
