"""The AI side of the catalogue: the model allow-list and the LLM features of each team.

Model keys are exact keys of the LiteLLM price table (``model_prices_litellm_1.109.1.json``),
all ``mode == "chat"``; ``provider`` is LiteLLM's ``custom_llm_provider`` for that key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    name: str
    provider: str
    tier: int  # quality tier, 1 low … 3 high
    context_window: int  # tokens (max_input_tokens in the price table)


@dataclass(frozen=True)
class Feature:
    name: str
    team: str
    model: str  # the model the gateway routes to today
    min_tier: int
    min_context: int
    requests_per_day: int  # prod weekday volume
    prompt_tokens: int  # mean per request, cache tokens included
    completion_tokens: int  # mean per request
    cache_read_share: float  # share of prompt tokens read from the prompt cache
    staging_share: float = 0.05  # staging traffic relative to prod


MODELS: tuple[Model, ...] = (
    Model("gpt-4o", "openai", 3, 128000),
    Model("gpt-4o-mini", "openai", 2, 128000),
    Model("gpt-4.1-nano", "openai", 1, 1047576),
    Model("claude-sonnet-4-5", "anthropic", 3, 200000),
    Model("claude-haiku-4-5", "anthropic", 2, 200000),
    Model("gemini-2.5-flash", "vertex_ai", 2, 1048576),
    Model("gemini-2.5-pro", "vertex_ai", 3, 1048576),
)

FEATURES: tuple[Feature, ...] = (
    Feature("search-summary", "search", "gpt-4o", 2, 16000, 9000, 2400, 320, 0.35),
    Feature("query-rewrite", "search", "gpt-4o-mini", 1, 4000, 60000, 600, 60, 0.5),
    Feature("fraud-explainer", "payments", "gpt-4o", 3, 8000, 2500, 3000, 450, 0.2),
    Feature("checkout-assistant", "checkout", "claude-sonnet-4-5", 3, 32000, 4000, 5200, 380, 0.55),
    Feature("support-chat", "identity", "claude-haiku-4-5", 2, 100000, 7000, 7000, 420, 0.6),
    Feature("sql-assistant", "data-platform", "gemini-2.5-pro", 3, 200000, 1500, 12000, 700, 0.3),
    Feature("code-review", "ml-platform", "claude-sonnet-4-5", 3, 150000, 1200, 16000, 900, 0.45),
    Feature("email-personalization", "growth", "gpt-4o-mini", 1, 8000, 30000, 900, 240, 0.1),
    Feature("recommendations-explain", "growth", "gemini-2.5-flash", 2, 16000, 12000, 1400, 160, 0.25),
)

# Models that are NOT in the price table: the ingester must reject their rows with a reason.
UNPRICED_MODEL = "acme-finetuned-llama-3-8b"


def model(name: str) -> Model:
    for m in MODELS:
        if m.name == name:
            return m
    raise KeyError(name)
