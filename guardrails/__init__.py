"""Deterministic guardrails for proposed changes: policy, validators by rule id, reports.

policy = load_policy(repo)
ctx = ValidationContext(policy=policy, now=datetime.now(UTC), repo=repo, last_change=store_lookup)
report = validate(change, ctx)          # GuardrailReport: pass / warn / fail per rule id
print(render_report_text(report))

The names load on first use (PEP 562): an agent answer needs only ``guardrails.reply_check``,
not the policy, schema and repository machinery behind ``validate``.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name → the module that defines it
_EXPORTS: dict[str, str] = {
    "MANDATORY": "guardrails.registry",
    "POLICY_FILE": "guardrails.policy",
    "RULES": "guardrails.registry",
    "Policy": "guardrails.policy",
    "ValidationContext": "guardrails.context",
    "finding_key": "guardrails.context",
    "get_rule": "guardrails.registry",
    "load_policy": "guardrails.policy",
    "policy_from_dict": "guardrails.policy",
    "render_report_markdown": "guardrails.report",
    "render_report_text": "guardrails.report",
    "validate": "guardrails.validate",
    "warm_up": "guardrails.k8s_schema",
    "workload_key": "guardrails.context",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'guardrails' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value
