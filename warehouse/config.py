"""What the warehouse needs to know from settings."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

# Allocation dimension → tag keys tried in order (first non-empty wins).
DEFAULT_TAG_ALIASES: dict[str, list[str]] = {
    "team": ["team", "Team", "user:team", "owner_team", "app.kubernetes.io/part-of"],
    "feature": ["feature", "Feature", "user:feature", "application", "app"],
    "env": ["env", "Env", "environment", "Environment", "user:env", "stage"],
    "cost_center": ["cost_center", "CostCenter", "costcenter", "cost-center", "business_unit"],
    "tenant": ["tenant", "Tenant", "customer", "user:tenant"],
}
ALLOCATION_DIMENSIONS: tuple[str, ...] = tuple(DEFAULT_TAG_ALIASES)
UNTAGGED = "(untagged)"


class PriceOverride(BaseModel):
    """A custom model price, USD per token (for models missing from the price table)."""

    model_config = ConfigDict(extra="forbid")

    input_cost_per_token: Decimal = Field(ge=0)
    output_cost_per_token: Decimal = Field(ge=0)
    cache_read_input_token_cost: Decimal | None = Field(None, ge=0)
    cache_creation_input_token_cost: Decimal | None = Field(None, ge=0)
    max_input_tokens: int | None = None


class WarehouseConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    currency: str | None = None
    tag_aliases: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_TAG_ALIASES))
    prices: dict[str, PriceOverride] = Field(default_factory=dict)
