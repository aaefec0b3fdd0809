"""The entry point: judge one planned change against every applicable rule and the repository's
own Rego policies."""

from __future__ import annotations

from collections.abc import Sequence

from domain.changes import GuardrailReport, GuardrailResult, PlannedChange, Verdict
from domain.errors import CostpilotError
from guardrails.context import ValidationContext
from guardrails.facts import ChangeFacts, build_facts
from guardrails.registry import rules_for
from guardrails.rego import PolicySet, policies_for
from guardrails.rego_check import rego_results
from guardrails.rego_inputs import changed_documents
from guardrails.rule import Rule


def validate(
    change: PlannedChange, ctx: ValidationContext, policies: PolicySet | None = None
) -> GuardrailReport:
    """Run the mandatory rules and ``ctx.rules`` (all rules when None) on ``change``, then the
    Rego policies of the checkout (``policies``; default: ``.costpilot/policies`` of ``ctx.repo``,
    compiled once per repository model).

    Never raises for a bad change: every problem becomes a ``fail`` result naming its rule id.
    A policy file that does not compile is a ``ConfigError`` (one line naming the file): a
    broken policy must stop the run, not pass. Facts are computed once and shared by the rules.
    """
    return validate_with(change, ctx, rules_for(ctx.rules), policies)


def validate_with(
    change: PlannedChange, ctx: ValidationContext, rules: Sequence[Rule], policies: PolicySet | None = None
) -> GuardrailReport:
    """``validate`` with an explicit list of built-in rules (``costpilot review`` judges a
    human's change, which has no findings or declared fields, with its own selection)."""
    rego = policies if policies is not None else policies_for(ctx.repo_index())
    facts = build_facts(change, ctx)
    results = []
    for rule in rules:
        try:
            results.extend(rule.check(change, ctx, facts))
        except (CostpilotError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
            # A guardrail that cannot evaluate fails closed: the change is blocked, with why.
            message = f"could not evaluate: {' '.join(str(exc).split())}"
            results.append(GuardrailResult(rule_id=rule.id, verdict=Verdict.fail, message=message))
    results.extend(_rego(change, ctx, facts, rego))
    return GuardrailReport(patch_sha256=change.patch_sha256, results=results)


def _rego(
    change: PlannedChange, ctx: ValidationContext, facts: ChangeFacts, rego: PolicySet
) -> list[GuardrailResult]:
    if not rego:
        return []
    new_files = {f.path for f in change.files if f.before == ""}
    documents = changed_documents(facts.files, ctx.repo_index(), new_files)
    return rego_results(rego, documents, ctx.policy.rego.warn_only)
