"""Cheaper model: exact money from token volumes × per-token price differences."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import ConfigError
from domain.findings import FindingKind
from tools.model_choice import DAYS_PER_MONTH, choose_models, parse_routing
from warehouse.llm_volumes import TokenVolume
from warehouse.prices import ModelPrice

PRICES = {
    "big": ModelPrice(
        model="big",
        input_cost_per_token=Decimal("0.000005"),
        output_cost_per_token=Decimal("0.000015"),
        cache_read_input_token_cost=Decimal("0.0000025"),
    ),
    "mid": ModelPrice(
        model="mid",
        input_cost_per_token=Decimal("0.000001"),
        output_cost_per_token=Decimal("0.000004"),
        cache_read_input_token_cost=Decimal("0.0000001"),
    ),
    "tiny": ModelPrice(
        model="tiny", input_cost_per_token=Decimal("0.0000001"), output_cost_per_token=Decimal("0.0000004")
    ),
}
ROUTING = {
    "models": {
        "big": {"tier": 3, "context_window": 200000},
        "mid": {"tier": 2, "context_window": 128000},
        "tiny": {"tier": 1, "context_window": 1000000},
        "unpriced": {"tier": 3, "context_window": 10**6},
    },
    "features": {
        "summary": {"model": "big", "min_tier": 2, "min_context": 16000, "team": "search"},
        "legal": {"model": "big", "min_tier": 3, "min_context": 8000, "team": "legal"},
        "rewrite": {"model": "tiny", "min_tier": 1, "min_context": 4000},
        "longdoc": {"model": "big", "min_tier": 1, "min_context": 150000},
        "unused": {"model": "mid", "min_tier": 1, "min_context": 0},
    },
}


def vol(feature: str, model: str, prompt: int, completion: int, cache_read: int = 0) -> TokenVolume:
    return TokenVolume(feature, model, prompt, completion, cache_read, 0, 1, Decimal(0))


def test_cheapest_model_meeting_tier_and_context() -> None:
    volumes = [
        vol("summary", "big", 1_000_000, 100_000, 400_000),
        vol("legal", "big", 10_000, 1_000),
        vol("rewrite", "tiny", 10_000, 1_000),
        vol("longdoc", "big", 100_000, 10_000),
    ]
    choices = {c.feature: c for c in choose_models(parse_routing(ROUTING), volumes, PRICES.get, 30)}
    s = choices["summary"]
    # big: 600k uncached × 5e-6 + 400k cached × 2.5e-6 + 100k × 15e-6 = 3 + 1 + 1.5 = 5.5 USD in 30 days
    # mid: 600k × 1e-6 + 400k × 1e-7 + 100k × 4e-6 = 0.6 + 0.04 + 0.4 = 1.04 USD
    scale = DAYS_PER_MONTH / 30
    assert s.proposed_model == "mid" and s.status == "cheaper"
    assert s.monthly_cost_now == (Decimal("5.5") * scale).quantize(Decimal("0.01"))
    assert s.monthly_cost_after == (Decimal("1.04") * scale).quantize(Decimal("0.01"))
    assert [c.model for c in s.candidates] == ["mid", "big"]  # tiny is tier 1, unpriced has no price
    assert choices["legal"].status == "already_cheapest" and choices["legal"].proposed_model is None
    assert choices["rewrite"].status == "already_cheapest"
    assert choices["longdoc"].proposed_model == "tiny"  # mid's 128k context is too small
    assert choices["unused"].status == "no_usage" and choices["unused"].monthly_savings == 0
    f = s.to_finding()
    assert f.kind == FindingKind.cheaper_model
    assert f.target == {"feature": "summary", "model": "big"}
    assert f.proposed == {"model": "mid"} and f.current == {"model": "big"}
    assert f.monthly_savings == s.monthly_savings > 0


def test_volumes_served_by_another_model_count_for_the_feature() -> None:
    volumes = [vol("summary", "big", 500_000, 50_000), vol("summary", "mid", 500_000, 50_000)]
    c = next(
        x for x in choose_models(parse_routing(ROUTING), volumes, PRICES.get, 30) if x.feature == "summary"
    )
    assert c.tokens == {"prompt": 1_000_000, "completion": 100_000, "cache_read": 0, "cache_creation": 0}


def test_bad_routing_names_the_key() -> None:
    bad = {"models": {"big": {"tier": "high", "context_window": 1}}, "features": {}}
    with pytest.raises(
        ConfigError, match=r"ai/routing.yaml: models.big.tier: Input should be a valid integer"
    ):
        parse_routing(bad)


def test_days_with_usage_are_the_evidence_guardrails_judge() -> None:
    volumes = [
        TokenVolume("summary", "big", 1_000_000, 100_000, 0, 0, 400, Decimal(0), days=12),
        TokenVolume("summary", "mid", 10_000, 1_000, 0, 0, 9, Decimal(0), days=3),
    ]
    choice = next(
        c for c in choose_models(parse_routing(ROUTING), volumes, PRICES.get, 30) if c.feature == "summary"
    )
    evidence = choice.to_finding().evidence
    assert (evidence["days"], evidence["requests"], evidence["window_days"]) == (12, 409, 30)
