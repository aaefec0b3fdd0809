"""The entry point: judge one planned change against every applicable rule."""

from __future__ import annotations

from domain.changes import GuardrailReport, GuardrailResult, PlannedChange, Verdict
from domain.errors import CostpilotError
from guardrails.context import ValidationContext
from guardrails.facts import build_facts
from guardrails.registry import rules_for


def validate(change: PlannedChange, ctx: ValidationContext) -> GuardrailReport:
    """Run the mandatory rules and ``ctx.rules`` (all rules when None) on ``change``.

    Never raises for a bad change: every problem becomes a ``fail`` result naming its rule id.
    Facts (parsed files, changed fields, workloads) are computed once and shared by the rules.
    """
    facts = build_facts(change, ctx)
    results = []
    for rule in rules_for(ctx.rules):
        try:
            results.extend(rule.check(change, ctx, facts))
        except (CostpilotError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
            # A guardrail that cannot evaluate fails closed: the change is blocked, with why.
            message = f"could not evaluate: {' '.join(str(exc).split())}"
            results.append(GuardrailResult(rule_id=rule.id, verdict=Verdict.fail, message=message))
    return GuardrailReport(patch_sha256=change.patch_sha256, results=results)
