"""Every guardrail rule by id (explicit list: no discovery by import side effects)."""

from __future__ import annotations

from domain.errors import ConfigError
from guardrails import rules_models, rules_patch, rules_process, rules_replicas, rules_resources
from guardrails.rule import Rule

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        *rules_patch.RULES,
        *rules_resources.RULES,
        *rules_replicas.RULES,
        *rules_process.RULES,
        *rules_models.RULES,
    )
}
MANDATORY: tuple[str, ...] = tuple(r.id for r in RULES.values() if r.mandatory)


def get_rule(rule_id: str) -> Rule:
    """The rule ``rule_id``; an unknown id lists the valid ones."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise ConfigError(f"unknown guardrail {rule_id!r}; valid: {', '.join(sorted(RULES))}") from None


def rules_for(selected: list[str] | None) -> list[Rule]:
    """The mandatory rules plus ``selected`` (every rule when None), in registry order."""
    if selected is None:
        return list(RULES.values())
    wanted = set(MANDATORY) | {get_rule(r).id for r in selected}
    return [r for r in RULES.values() if r.id in wanted]
