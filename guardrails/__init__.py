"""Deterministic guardrails for proposed changes: policy, validators by rule id, reports.

policy = load_policy(repo)
ctx = ValidationContext(policy=policy, now=datetime.now(UTC), repo=repo, last_change=store_lookup)
report = validate(change, ctx)          # GuardrailReport: pass / warn / fail per rule id
print(render_report_text(report))
"""

from guardrails.context import ValidationContext, finding_key, workload_key
from guardrails.k8s_schema import warm_up
from guardrails.policy import POLICY_FILE, Policy, load_policy, policy_from_dict
from guardrails.registry import MANDATORY, RULES, get_rule
from guardrails.report import render_report_markdown, render_report_text
from guardrails.validate import validate

__all__ = [
    "MANDATORY",
    "POLICY_FILE",
    "RULES",
    "Policy",
    "ValidationContext",
    "finding_key",
    "get_rule",
    "load_policy",
    "policy_from_dict",
    "render_report_markdown",
    "render_report_text",
    "validate",
    "warm_up",
    "workload_key",
]
