"""The validate entry point, rule selection, evidence and the text/Markdown reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.changes import GuardrailReport, GuardrailResult, Verdict
from domain.errors import ConfigError
from guardrails import MANDATORY, RULES, get_rule, render_report_markdown, render_report_text, validate
from tests.guardrails.helpers import GI, context, make_change, rightsize

PATCH = "overlays/prod/patches/api.yaml"
EVIDENCE = {"cpu_p95": "1.5", "memory_peak": 3 * GI, "days": 14, "samples": 4032}


def good_change(repo: Path):  # type: ignore[no-untyped-def]
    finding = rightsize("shop-prod", "api", {"cpu_request": "1.6"}, EVIDENCE)
    return make_change(repo, {PATCH: lambda t: t.replace('cpu: "2"', "cpu: 1600m", 1)}, [finding])


def test_every_result_carries_rule_and_evidence(repo: Path) -> None:
    report = validate(good_change(repo), context(repo))
    assert report.passed
    assert report.patch_sha256 == good_change(repo).patch_sha256
    peak = [r for r in report.results if r.rule_id == "above-observed-peak"]
    assert peak[0].evidence["observed"] == "1.5" and peak[0].evidence["proposed"] == "1.600"
    assert "cpu request 1600m ≥ p95 usage 1500m × 1.0" in peak[0].message
    step = [r for r in report.results if r.rule_id == "max-change-per-step"][0]
    assert step.evidence["change_pct"] == "-20.0"
    assert {r.rule_id for r in report.results} == set(RULES)


def test_rule_selection_keeps_the_mandatory_rules(repo: Path) -> None:
    report = validate(good_change(repo), context(repo, rules=["above-observed-peak"]))
    assert {r.rule_id for r in report.results} == set(MANDATORY) | {"above-observed-peak"}
    with pytest.raises(
        ConfigError, match="unknown guardrail 'nope'; valid: above-observed-peak, blast-radius"
    ):
        get_rule("nope")


def test_context_evidence_overrides_the_finding(repo: Path) -> None:
    change = good_change(repo)
    finding_id = change.findings[0].id
    report = validate(change, context(repo, evidence={finding_id: {"cpu_p95": "1.7"}}))
    assert [r.rule_id for r in report.failures] == ["above-observed-peak"]
    assert "below observed p95 usage 1700m" in report.failures[0].message


def test_a_rule_that_cannot_evaluate_fails_closed(repo: Path) -> None:
    change = good_change(repo)
    report = validate(change, context(repo, last_change=lambda key: (_ for _ in ()).throw(KeyError(key))))
    cooldown = [r for r in report.results if r.rule_id == "cooldown"]
    assert cooldown[0].verdict is Verdict.fail
    assert cooldown[0].message.startswith("could not evaluate:")


def test_text_and_markdown_reports() -> None:
    report = GuardrailReport(
        patch_sha256="ab" * 32,
        results=[
            GuardrailResult(rule_id="k8s-schema", verdict=Verdict.passed, message="2 document(s) valid"),
            GuardrailResult(
                rule_id="above-observed-peak", verdict=Verdict.fail, message="memory 1Gi | below peak"
            ),
            GuardrailResult(rule_id="lowers-cost", verdict=Verdict.warn, message="cost-neutral change"),
            GuardrailResult(
                rule_id="model-cheaper",
                verdict=Verdict.passed,
                message="not applicable: x",
                evidence={"applicable": False},
            ),
        ],
    )
    text = render_report_text(report)
    assert text.splitlines() == [
        "Guardrails BLOCKED: 1 failed, 1 warned, 2 passed (patch abababababab)",
        "  FAIL  above-observed-peak          memory 1Gi | below peak",
        "  WARN  lowers-cost                  cost-neutral change",
        "  PASS  k8s-schema                   2 document(s) valid",
        "  n/a   model-cheaper",
    ]
    md = render_report_markdown(report)
    assert "**Guardrails BLOCKED: 1 failed, 1 warned, 2 passed** — patch `abababababab`" in md
    assert "| `above-observed-peak` | ❌ FAIL | memory 1Gi \\| below peak |" in md
    assert md.strip().endswith("Not applicable: `model-cheaper`")
