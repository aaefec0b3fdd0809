"""Rego verdicts as guardrail results: the rule id is the policy file, the message the policy's own.

``deny`` and ``violation`` fail (warn when the policy's package is listed in ``rego.warn_only``
of ``.costpilot/policy.yaml``); ``warn`` warns. A policy that cannot be evaluated on a
document fails closed. A policy with nothing to say passes, naming how many documents it saw.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.changes import GuardrailResult
from guardrails.rego import PolicySet, RegoEvaluationError
from guardrails.rego_inputs import AdmissionDocument
from guardrails.rule import failed, not_applicable, passed, warned

BLOCKING = frozenset({"deny", "violation"})


def rego_results(
    policies: PolicySet, documents: Sequence[AdmissionDocument], warn_only: Sequence[str] = ()
) -> list[GuardrailResult]:
    """One result per message per document and policy, or one pass / n/a per policy."""
    if not policies:
        return []
    warn_packages = {p.removeprefix("data.") for p in warn_only}
    outcomes = [(d, policies.evaluate_all(d.review(policies.needs_old_object))) for d in documents]
    results: list[GuardrailResult] = []
    for policy in policies.policies:
        if not outcomes:
            results.append(not_applicable(policy.path, "no Kubernetes object created or modified"))
            continue
        soft = policy.package in warn_packages
        found: list[GuardrailResult] = []
        seen: set[tuple[str, str, str]] = set()
        for doc, by_policy in outcomes:
            evidence = {
                "policy": policy.path,
                "package": policy.package,
                "document": doc.key,
                "file": doc.file,
                "operation": doc.operation,
            }
            outcome = by_policy[policy.path]
            if isinstance(outcome, RegoEvaluationError):
                found.append(failed(policy.path, f"could not evaluate on {doc.key}: {outcome}", **evidence))
                continue
            for m in outcome:
                if (m.rule, m.message, doc.key) in seen:
                    continue
                seen.add((m.rule, m.message, doc.key))
                extra = {
                    **evidence,
                    "rule": m.rule,
                    **({"details": m.details} if m.details is not None else {}),
                }
                if m.rule in BLOCKING and not soft:
                    found.append(failed(policy.path, m.message, **extra))
                else:
                    found.append(
                        warned(policy.path, m.message, **extra, warn_only=soft and m.rule in BLOCKING)
                    )
        if not found:
            count = len(outcomes)
            found.append(
                passed(
                    policy.path,
                    f"no deny, violation or warn on {count} document{'s' if count != 1 else ''}",
                    policy=policy.path,
                    package=policy.package,
                    documents=[d.key for d, _ in outcomes],
                )
            )
        results.extend(found)
    return results
