"""AI unit economics: cost per 1k tokens and per request, by feature and model."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import ibis
from pydantic import BaseModel, ConfigDict, Field

from domain.errors import DataError
from domain.money import Money
from domain.period import Period
from domain.provenance import Provenance
from warehouse.config import UNTAGGED
from warehouse.facts import FACT_TABLE
from warehouse.query import scoped

AI_CATEGORY = "AI and Machine Learning"
TOKEN_COLUMNS = ("x_prompt_tokens", "x_completion_tokens", "x_cache_read_tokens", "x_cache_creation_tokens")
UNIT = Decimal("0.000001")


def _per(cost: Decimal, amount: int, scale: int = 1) -> Decimal | None:
    return None if amount == 0 else (cost * scale / amount).quantize(UNIT, rounding=ROUND_HALF_EVEN)


class UnitCost(BaseModel):
    model_config = ConfigDict(frozen=True)

    feature: str
    model: str
    cost: Money
    tokens: int = Field(description="prompt + completion tokens (cache tokens are part of the prompt)")
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    requests: int
    cost_per_1k_tokens: Money | None
    cost_per_request: Money | None


class UnitCostsResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    period: Period
    currency: str | None
    total: Money
    rows: list[UnitCost]
    untagged_share: Decimal | None = Field(description="LLM cost with no feature tag / LLM cost")
    other_ai_cost: Money = Field(
        description="AI and Machine Learning spend without token data (cloud AI services)"
    )
    provenance: Provenance


def compute_unit_costs(rows: list[dict[str, Any]]) -> list[UnitCost]:
    """Pure: aggregated rows (feature, model, cost, token sums, requests) → unit costs, costliest first."""
    out = []
    for r in rows:
        parts = [int(r.get(c) or 0) for c in TOKEN_COLUMNS]
        # Gateway logs count cached tokens inside prompt_tokens (ingest checks it), so they are
        # not added again.
        tokens, requests, cost = parts[0] + parts[1], int(r.get("requests") or 0), r["cost"] or Decimal(0)
        out.append(
            UnitCost(
                feature=str(r["feature"]),
                model=str(r["model"]),
                cost=cost,
                tokens=tokens,
                prompt_tokens=parts[0],
                completion_tokens=parts[1],
                cache_read_tokens=parts[2],
                cache_creation_tokens=parts[3],
                requests=requests,
                cost_per_1k_tokens=_per(cost, tokens, 1000),
                cost_per_request=_per(cost, requests),
            )  # fmt: skip
        )
    out.sort(key=lambda u: (-u.cost, u.feature, u.model))
    return out


def unit_costs(
    backend: ibis.BaseBackend,
    period: Period,
    filters: dict[str, list[str]] | None = None,
    table: str = FACT_TABLE,
) -> UnitCostsResult:
    """Cost per 1k tokens and per request for every (feature, model) with LLM usage in ``period``.

    Only rows that name a model (LLM gateway requests) have tokens and requests; other AI and
    Machine Learning spend (a cloud bill's managed AI services) is reported as ``other_ai_cost``.
    """
    ai = scoped(backend, period, filters, table)
    ai = ai.filter(ai.ServiceCategory == AI_CATEGORY)
    scope = ai.filter(ai.x_model.notnull())
    other = ai.filter(ai.x_model.isnull()).EffectiveCost.sum().to_pyarrow().as_py()
    metrics: dict[str, Any] = {"cost": scope.EffectiveCost.sum(), "rows": scope.count()}
    for column in TOKEN_COLUMNS:
        metrics[column] = (
            scope[column].cast("int64").fill_null(0).sum() if column in scope.columns else ibis.literal(0)
        )
    # A gateway log row is one request unless it says how many it holds.
    metrics["requests"] = scope.x_requests.cast("int64").fill_null(1).sum()
    keys = [
        scope.feature.fill_null(UNTAGGED).name("feature"),
        scope.x_model.fill_null("(none)").name("model"),
    ]
    agg = scope.group_by(keys).aggregate(**metrics)
    data = agg.to_pyarrow().to_pylist()
    rows_scanned = sum(int(r["rows"]) for r in data)
    if rows_scanned == 0:
        raise DataError(f"no LLM usage rows in {period.label()}; ingest LLM gateway logs first")
    currencies = ai.select("BillingCurrency").distinct().to_pyarrow().column(0).to_pylist()
    if len(currencies) > 1:
        raise DataError(
            f"AI spend in {period.label()} mixes currencies ({', '.join(sorted(map(str, currencies)))})"
        )
    rows = compute_unit_costs(data)
    total = sum((r.cost for r in rows), Decimal(0))
    untagged = sum((r.cost for r in rows if r.feature == UNTAGGED), Decimal(0))
    return UnitCostsResult(
        period=period, currency=currencies[0] if currencies else None, total=total, rows=rows,
        other_ai_cost=other or Decimal(0),
        untagged_share=None if total == 0 else (untagged / total).quantize(Decimal("0.0001")),
        provenance=Provenance(
            tool="unit-costs", engine=backend.name, query=str(ibis.to_sql(agg)), period=period,
            filters={k: ",".join(v) for k, v in (filters or {}).items()}, rows_scanned=rows_scanned,
        ),
    )  # fmt: skip
