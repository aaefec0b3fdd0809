"""Cheaper model per LLM feature, from the routing config's allow-list and the feature's volumes.

For each feature of the routing config (``models: {name: {tier, context_window}}`` is the
allow-list; ``features: {name: {model, min_tier, min_context, team}}``): the candidates are the
allow-listed models with ``tier ≥ min_tier`` and ``context_window ≥ min_context`` and a known
price. Each candidate prices the feature's observed token volumes (uncached input, output,
cache-read, cache-creation — whatever model served them); the cheapest candidate that costs
less than the routed model is the proposal. Monthly = window cost × 30.4167 / window days.
All money is exact Decimal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.errors import ConfigError
from domain.findings import Finding, FindingKind, Severity
from domain.money import Money, decimal_str, round_cents
from domain.provenance import Provenance
from warehouse.llm_volumes import TokenVolume
from warehouse.prices import ModelPrice

DAYS_PER_MONTH = Decimal(730) / Decimal(24)


class AllowedModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tier: int = Field(ge=1, le=10, description="quality tier, 1 low … higher better")
    context_window: int = Field(ge=1, description="max input tokens")


class FeatureNeeds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    min_tier: int = Field(1, ge=1, le=10)
    min_context: int = Field(0, ge=0)
    team: str | None = None


class RoutingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    models: dict[str, AllowedModel]
    features: dict[str, FeatureNeeds]


def parse_routing(doc: Mapping[str, Any], source: str = "ai/routing.yaml") -> RoutingConfig:
    """Validate the routing document; a bad key names the file and the key path."""
    try:
        return RoutingConfig.model_validate(dict(doc))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: {key}: {first['msg']}") from None


class ModelCost(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    tier: int
    context_window: int
    monthly_cost: Money


class ModelChoice(BaseModel):
    """One feature's routed model, the cheapest acceptable one, and the monthly difference."""

    model_config = ConfigDict(frozen=True)

    feature: str
    team: str | None
    model: str
    proposed_model: str | None
    min_tier: int
    min_context: int
    window_days: int
    days_with_usage: int = Field(0, ge=0, description="days in the window on which the feature used a model")
    requests: int = Field(0, ge=0)
    tokens: dict[str, int]
    monthly_cost_now: Money
    monthly_cost_after: Money
    monthly_savings: Money
    candidates: list[ModelCost]
    status: str = Field(description="cheaper | already_cheapest | no_usage | no_price")

    def to_finding(self, provenance: Provenance | None = None) -> Finding:
        """Finding kind ``cheaper-model``: target feature + model, proposed {"model": new}."""
        return Finding(
            kind=FindingKind.cheaper_model,
            target={"feature": self.feature, "model": self.model},
            title=f"Route {self.feature} from {self.model} to {self.proposed_model}",
            current={"model": self.model},
            proposed={"model": self.proposed_model},
            evidence={
                "team": self.team,
                "min_tier": self.min_tier,
                "min_context": self.min_context,
                "window_days": self.window_days,
                "days": self.days_with_usage,
                "requests": self.requests,
                "tokens": self.tokens,
                "candidates": [{**c.model_dump(mode="json")} for c in self.candidates],
            },
            monthly_cost_now=self.monthly_cost_now,
            monthly_cost_after=self.monthly_cost_after,
            severity=Severity.medium if self.monthly_savings >= 100 else Severity.low,
            provenance=provenance,
        )

    def to_json_dict(self) -> dict[str, Any]:
        doc = self.model_dump(mode="json")
        doc["monthly_savings"] = decimal_str(self.monthly_savings)
        return doc


def price_volumes(volumes: Sequence[TokenVolume], price: ModelPrice) -> Decimal:
    """Exact USD of the volumes at one model's per-token prices."""
    return sum(
        (
            price.cost(v.prompt_tokens, v.completion_tokens, v.cache_read_tokens, v.cache_creation_tokens)
            for v in volumes
        ),
        Decimal(0),
    )


def choose_models(
    routing: RoutingConfig,
    volumes: Sequence[TokenVolume],
    price_of: Callable[[str], ModelPrice | None],
    window_days: int,
) -> list[ModelChoice]:
    """A ModelChoice per routed feature (sorted by monthly savings, largest first)."""
    by_feature: dict[str, list[TokenVolume]] = {}
    for v in volumes:
        by_feature.setdefault(v.feature, []).append(v)
    scale = DAYS_PER_MONTH / Decimal(window_days)
    out: list[ModelChoice] = []
    for name, needs in routing.features.items():
        vols = by_feature.get(name, [])
        tokens = {
            "prompt": sum(v.prompt_tokens for v in vols),
            "completion": sum(v.completion_tokens for v in vols),
            "cache_read": sum(v.cache_read_tokens for v in vols),
            "cache_creation": sum(v.cache_creation_tokens for v in vols),
        }
        current_price = price_of(needs.model)
        candidates: list[ModelCost] = []
        for model, allowed in routing.models.items():
            price = price_of(model)
            if price is None or allowed.tier < needs.min_tier or allowed.context_window < needs.min_context:
                continue
            candidates.append(
                ModelCost(
                    model=model,
                    tier=allowed.tier,
                    context_window=allowed.context_window,
                    monthly_cost=round_cents(price_volumes(vols, price) * scale),
                )
            )
        candidates.sort(key=lambda c: (c.monthly_cost, c.model))
        now = round_cents(price_volumes(vols, current_price) * scale) if current_price else Decimal(0)
        best = candidates[0] if candidates else None
        if not vols:
            status, proposed, after = "no_usage", None, now
        elif current_price is None:
            status, proposed, after = "no_price", None, now
        elif best is None or best.model == needs.model or best.monthly_cost >= now:
            status, proposed, after = "already_cheapest", None, now
        else:
            status, proposed, after = "cheaper", best.model, best.monthly_cost
        out.append(
            ModelChoice(
                feature=name,
                team=needs.team,
                model=needs.model,
                proposed_model=proposed,
                min_tier=needs.min_tier,
                min_context=needs.min_context,
                window_days=window_days,
                days_with_usage=max((v.days for v in vols), default=0),
                requests=sum(v.requests for v in vols),
                tokens=tokens,
                monthly_cost_now=now,
                monthly_cost_after=after,
                monthly_savings=now - after,
                candidates=candidates,
                status=status,
            )
        )
    out.sort(key=lambda c: (-c.monthly_savings, c.feature))
    return out
