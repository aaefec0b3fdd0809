"""One guardrail rule: an id, what it checks, and a function from a change to verdicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.changes import GuardrailResult, PlannedChange, Verdict
from guardrails.context import ValidationContext
from guardrails.facts import ChangeFacts

RuleFn = Callable[[PlannedChange, ValidationContext, ChangeFacts], list[GuardrailResult]]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    check: RuleFn
    mandatory: bool = False  # runs for every change, whatever the playbook lists


def passed(rule_id: str, message: str, **evidence: Any) -> GuardrailResult:
    return GuardrailResult(rule_id=rule_id, verdict=Verdict.passed, message=message, evidence=evidence)


def failed(rule_id: str, message: str, **evidence: Any) -> GuardrailResult:
    return GuardrailResult(rule_id=rule_id, verdict=Verdict.fail, message=message, evidence=evidence)


def warned(rule_id: str, message: str, **evidence: Any) -> GuardrailResult:
    return GuardrailResult(rule_id=rule_id, verdict=Verdict.warn, message=message, evidence=evidence)


def not_applicable(rule_id: str, why: str) -> GuardrailResult:
    """A pass that says the rule had nothing to judge (renderers fold these together)."""
    return GuardrailResult(
        rule_id=rule_id,
        verdict=Verdict.passed,
        message=f"not applicable: {why}",
        evidence={"applicable": False},
    )


def verdicts(rule_id: str, problems: list[str], ok_message: str, **evidence: Any) -> list[GuardrailResult]:
    """One fail per problem, or a single pass."""
    if problems:
        return [failed(rule_id, p, **evidence) for p in problems]
    return [passed(rule_id, ok_message, **evidence)]
