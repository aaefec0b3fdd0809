"""Model routing changes between two ``ai/routing.yaml`` versions, priced from each feature's
observed token volumes (``tools.model_choice.price_volumes``) at the old and the new model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from domain.money import round_cents
from services.review_models import ModelDelta, ModelPriceEvidence
from tools.model_choice import DAYS_PER_MONTH, price_volumes
from warehouse.llm_volumes import TokenVolume
from warehouse.prices import ModelPrice

MILLION = Decimal(1_000_000)


def routed_models(routing: Mapping[str, Any] | None) -> dict[str, str]:
    """feature → model of a routing document (anything unusable is left out)."""
    features = routing.get("features") if isinstance(routing, Mapping) else None
    if not isinstance(features, Mapping):
        return {}
    return {
        str(name): str(spec["model"])
        for name, spec in features.items()
        if isinstance(spec, Mapping) and isinstance(spec.get("model"), str)
    }


def model_deltas(
    before: Mapping[str, str],
    after: Mapping[str, str],
    volumes: Sequence[TokenVolume],
    price_of: Callable[[str], ModelPrice | None],
    days: int,
) -> list[ModelDelta]:
    """One row per feature whose routed model changed (added and removed features too)."""
    by_feature: dict[str, list[TokenVolume]] = {}
    for v in volumes:
        by_feature.setdefault(v.feature, []).append(v)
    scale = DAYS_PER_MONTH / Decimal(days)
    rows = []
    for feature in sorted(set(before) | set(after)):
        old, new = before.get(feature), after.get(feature)
        if old == new:
            continue
        vols = by_feature.get(feature, [])
        tokens = {
            "prompt": sum(v.prompt_tokens for v in vols),
            "completion": sum(v.completion_tokens for v in vols),
            "cache_read": sum(v.cache_read_tokens for v in vols),
            "cache_creation": sum(v.cache_creation_tokens for v in vols),
        }
        costs, missing = [], []
        for model in (old, new):
            price = price_of(model) if model else None
            if model and price is None:
                missing.append(model)
            costs.append(round_cents(price_volumes(vols, price) * scale) if price is not None else Decimal(0))
        note = None
        if missing:
            note = f"no price for {', '.join(missing)}"
        elif not vols:
            note = f"no token volumes for {feature} in the last {days} days"
        priced = not missing and bool(vols)
        rows.append(
            ModelDelta(
                feature=feature,
                model_before=old,
                model_after=new,
                monthly_before=costs[0] if priced else Decimal(0),
                monthly_after=costs[1] if priced else Decimal(0),
                monthly_delta=(costs[1] - costs[0]) if priced else Decimal(0),
                requests=sum(v.requests for v in vols),
                tokens=tokens,
                priced=priced,
                note=note,
            )
        )
    return rows


def price_evidence(
    models: Sequence[str], price_of: Callable[[str], ModelPrice | None]
) -> list[ModelPriceEvidence]:
    out = []
    for model in sorted(set(models)):
        p = price_of(model)
        out.append(
            ModelPriceEvidence(
                model=model,
                usd_per_million_input=p.input_cost_per_token * MILLION if p else None,
                usd_per_million_output=p.output_cost_per_token * MILLION if p else None,
                source=p.source if p else None,
            )
        )
    return out
