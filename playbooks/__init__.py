"""Remediation playbooks: YAML data plus the engine that turns findings into planned changes.

books = load_playbooks()                                   # bundled playbooks/*.yaml
changes = plan_changes(findings, repo, books, policy)      # dry run, writes nothing
report = validate_change(change, ctx, books)               # guardrails the playbook lists
"""

from __future__ import annotations

from domain.changes import GuardrailReport, PlannedChange
from guardrails import ValidationContext, validate
from playbooks.actions import ACTIONS, get_action
from playbooks.engine import PlanResult, plan, plan_changes
from playbooks.loader import load_playbook, load_playbooks
from playbooks.models import Approvers, Playbook


def validate_change(
    change: PlannedChange, ctx: ValidationContext, playbooks: dict[str, Playbook]
) -> GuardrailReport:
    """``guardrails.validate`` with the rules of the change's playbook (plus the mandatory ones);
    a change from an unknown playbook runs every rule."""
    pb = playbooks.get(change.playbook)
    rules = list(pb.guardrails) if pb is not None else None
    return validate(change, ctx.model_copy(update={"rules": rules}))


__all__ = [
    "ACTIONS",
    "Approvers",
    "PlanResult",
    "Playbook",
    "get_action",
    "load_playbook",
    "load_playbooks",
    "plan",
    "plan_changes",
    "validate_change",
]
