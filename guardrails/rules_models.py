"""Rules on LLM model changes in the AI routing config (``ai/routing.yaml``).

The allow-list is the routing file's ``models:`` as it stands BEFORE the change, so a change
cannot allow-list its own target.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.changes import GuardrailResult, PlannedChange
from gitops.targets import ROUTING_FILE
from guardrails.context import ValidationContext
from guardrails.facts import ChangeFacts, ModelChange
from guardrails.prices import price_of
from guardrails.rule import Rule, failed, not_applicable, passed, warned


def _routing_before(ctx: ValidationContext, facts: ChangeFacts) -> dict[str, Any]:
    for f in facts.files:
        if f.path == ROUTING_FILE and f.before and isinstance(f.before[0], dict):
            return f.before[0]
    return ctx.repo_index().routing or {}


def _tier_rank(tier: Any, tiers: list[str]) -> int | None:
    if isinstance(tier, int) and not isinstance(tier, bool):
        return tier
    if isinstance(tier, str) and tier in tiers:
        return tiers.index(tier)
    return None


def model_allow_list(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "model-allow-list"
    allowed = (_routing_before(ctx, facts).get("models") or {}).keys()
    out = []
    for m in facts.models:
        if m.after not in allowed:
            out.append(
                failed(
                    rid,
                    f"feature {m.feature}: model {m.after!r} is not on the allow-list",
                    allowed=sorted(allowed),
                )
            )
        else:
            out.append(passed(rid, f"feature {m.feature}: {m.after} is allow-listed"))
    return out or [not_applicable(rid, "no model change")]


def _blended(m: ModelChange, ctx: ValidationContext, price: Any) -> Decimal | None:
    evidence = ctx.evidence_of(m.finding) if m.finding else {}
    prompt, completion = evidence.get("prompt_tokens"), evidence.get("completion_tokens")
    if prompt is None or completion is None:
        return None
    return Decimal(prompt) * price.input + Decimal(completion) * price.output


def model_cheaper(change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts) -> list[GuardrailResult]:
    rid = "model-cheaper"
    out = []
    for m in facts.models:
        old, new = price_of(m.before or ""), price_of(m.after or "")
        if old is None or new is None:
            missing = m.before if old is None else m.after
            out.append(
                failed(rid, f"feature {m.feature}: no price for model {missing!r}; cannot show it is cheaper")
            )
            continue
        ev = {
            "before": m.before,
            "after": m.after,
            "input_before": str(old.input),
            "input_after": str(new.input),
            "output_before": str(old.output),
            "output_after": str(new.output),
        }
        cost_old, cost_new = _blended(m, ctx, old), _blended(m, ctx, new)
        if cost_old is not None and cost_new is not None:
            cheaper = cost_new < cost_old
            ev |= {"token_mix_cost_before": str(cost_old), "token_mix_cost_after": str(cost_new)}
        else:
            cheaper = (
                new.input <= old.input
                and new.output <= old.output
                and (new.input, new.output) != (old.input, old.output)
            )
        if cheaper:
            out.append(
                passed(rid, f"feature {m.feature}: {m.after} is cheaper per token than {m.before}", **ev)
            )
        else:
            out.append(
                failed(rid, f"feature {m.feature}: {m.after} is not cheaper per token than {m.before}", **ev)
            )
    return out or [not_applicable(rid, "no model change")]


def model_context_window(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "model-context-window"
    routing = _routing_before(ctx, facts)
    out = []
    for m in facts.models:
        feature = (routing.get("features") or {}).get(m.feature) or {}
        model = (routing.get("models") or {}).get(m.after) or {}
        evidence = ctx.evidence_of(m.finding) if m.finding else {}
        need = max(int(feature.get("min_context") or 0), int(evidence.get("max_prompt_tokens") or 0))
        window = model.get("context_window")
        if window is None:
            price = price_of(m.after or "")
            window = price.max_input_tokens if price else None
        if window is None:
            out.append(failed(rid, f"feature {m.feature}: context window of {m.after!r} unknown"))
        elif need == 0:
            out.append(
                warned(
                    rid, f"feature {m.feature}: no context requirement stated; {m.after} has {window} tokens"
                )
            )
        elif int(window) < need:
            out.append(
                failed(
                    rid,
                    f"feature {m.feature}: {m.after} context window {window} < needed {need}",
                    window=window,
                    needed=need,
                )
            )
        else:
            out.append(
                passed(
                    rid,
                    f"feature {m.feature}: {m.after} context window {window} ≥ {need}",
                    window=window,
                    needed=need,
                )
            )
    return out or [not_applicable(rid, "no model change")]


def model_quality_tier(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts
) -> list[GuardrailResult]:
    rid = "model-quality-tier"
    routing = _routing_before(ctx, facts)
    tiers = ctx.policy.models.tiers
    out = []
    for m in facts.models:
        feature = (routing.get("features") or {}).get(m.feature) or {}
        model = (routing.get("models") or {}).get(m.after) or {}
        need, have = _tier_rank(feature.get("min_tier"), tiers), _tier_rank(model.get("tier"), tiers)
        if feature.get("min_tier") is None:
            out.append(passed(rid, f"feature {m.feature}: no minimum tier"))
        elif need is None or have is None:
            out.append(
                failed(rid, f"feature {m.feature}: tier of {m.after!r} or min_tier unknown (tiers: {tiers})")
            )
        elif have < need:
            out.append(
                failed(
                    rid,
                    f"feature {m.feature}: {m.after} tier {model.get('tier')} below required {feature.get('min_tier')}",
                )
            )
        else:
            out.append(
                passed(
                    rid,
                    f"feature {m.feature}: {m.after} tier {model.get('tier')} ≥ {feature.get('min_tier')}",
                )
            )
    return out or [not_applicable(rid, "no model change")]


RULES = (
    Rule("model-allow-list", "the new model is on the routing config's allow-list", model_allow_list),
    Rule(
        "model-cheaper",
        "the new model is cheaper per token (for the feature's token mix when known)",
        model_cheaper,
    ),
    Rule(
        "model-context-window",
        "the new model's context window covers the feature's need",
        model_context_window,
    ),
    Rule("model-quality-tier", "the new model meets the feature's minimum quality tier", model_quality_tier),
)
