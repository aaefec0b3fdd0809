"""Model prices for the model-change guardrails (USD per token, exact decimals).

Read through this one function so the table can be repointed; it is the warehouse's derived
copy of LiteLLM's price list (``warehouse/data/model_prices.json``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

PRICE_TABLE = Path(__file__).resolve().parent.parent / "warehouse" / "data" / "model_prices.json"


class TokenPrice(BaseModel):
    model_config = ConfigDict(frozen=True)

    input: Decimal
    output: Decimal
    max_input_tokens: int | None = None


@cache
def model_prices(table: Path = PRICE_TABLE) -> dict[str, TokenPrice]:
    """Every model of the table by name."""
    raw = json.loads(table.read_text())
    models = raw.get("models", raw)
    out: dict[str, TokenPrice] = {}
    for name, entry in models.items():
        if not isinstance(entry, dict) or "input_cost_per_token" not in entry:
            continue
        out[name] = TokenPrice(
            input=Decimal(str(entry["input_cost_per_token"])),
            output=Decimal(str(entry.get("output_cost_per_token", entry["input_cost_per_token"]))),
            max_input_tokens=entry.get("max_input_tokens"),
        )
    return out


def price_of(model: str) -> TokenPrice | None:
    """The price of ``model``; a provider prefix (``openai/gpt-4o``) is tried both ways."""
    table = model_prices()
    if model in table:
        return table[model]
    bare = model.split("/", 1)[-1]
    return table.get(bare) or next((p for n, p in table.items() if n.split("/", 1)[-1] == bare), None)
