"""Model prices (USD per token) and exact pricing of LLM usage.

The table is ``data/model_prices.json``, derived from LiteLLM's price list v1.109.1 (MIT); see
``data/NOTICE.md``. Prices are exact decimal strings; custom prices from settings win.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from warehouse.config import PriceOverride

_TABLE = Path(__file__).with_name("data") / "model_prices.json"


class ModelPrice(BaseModel):
    """USD per token; cache prices fall back to the input price when a model has none."""

    model_config = ConfigDict(frozen=True)

    model: str
    input_cost_per_token: Decimal
    output_cost_per_token: Decimal
    cache_read_input_token_cost: Decimal | None = None
    cache_creation_input_token_cost: Decimal | None = None
    max_input_tokens: int | None = None
    provider: str | None = None
    source: str = "price_table"

    def cost(
        self, prompt_tokens: int, completion_tokens: int, cache_read: int = 0, cache_creation: int = 0
    ) -> Decimal:
        """Exact USD for one usage record. ``prompt_tokens`` includes cache-read and
        cache-creation tokens (as LiteLLM and OpenAI report them); those are priced at their own
        rates and the remainder at the input rate."""
        uncached = max(prompt_tokens - cache_read - cache_creation, 0)
        read_price = (
            self.cache_read_input_token_cost
            if self.cache_read_input_token_cost is not None
            else self.input_cost_per_token
        )
        create_price = (
            self.cache_creation_input_token_cost
            if self.cache_creation_input_token_cost is not None
            else self.input_cost_per_token
        )
        return (
            uncached * self.input_cost_per_token
            + cache_read * read_price
            + cache_creation * create_price
            + completion_tokens * self.output_cost_per_token
        )


@cache
def price_table() -> dict[str, ModelPrice]:
    """Every chat model of the bundled table by name."""
    raw = json.loads(_TABLE.read_text())["models"]
    return {
        name: ModelPrice(
            model=name,
            input_cost_per_token=Decimal(entry["input_cost_per_token"]),
            output_cost_per_token=Decimal(entry["output_cost_per_token"]),
            cache_read_input_token_cost=_opt(entry.get("cache_read_input_token_cost")),
            cache_creation_input_token_cost=_opt(entry.get("cache_creation_input_token_cost")),
            max_input_tokens=entry.get("max_input_tokens"),
            provider=entry.get("litellm_provider"),
        )
        for name, entry in raw.items()
    }


def _opt(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def find_price(model: str, overrides: dict[str, PriceOverride] | None = None) -> ModelPrice | None:
    """A model's price: a configured override, else the table (also tried without a
    ``provider/`` prefix, as gateways often log ``openai/gpt-4o``)."""
    overrides = overrides or {}
    if model in overrides:
        o = overrides[model]
        return ModelPrice(model=model, source="custom_price", **o.model_dump())
    table = price_table()
    if model in table:
        return table[model]
    if "/" in model:
        bare = model.split("/", 1)[1]
        if bare in overrides:
            return find_price(bare, overrides)
        return table.get(bare)
    return None
