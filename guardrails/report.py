"""Guardrail reports for people: plain text (CLI) and Markdown (PR body, Slack)."""

from __future__ import annotations

from domain.changes import GuardrailReport, GuardrailResult, Verdict

_ICON = {Verdict.passed: "✅", Verdict.warn: "⚠️", Verdict.fail: "❌"}
_WORD = {Verdict.passed: "PASS", Verdict.warn: "WARN", Verdict.fail: "FAIL"}


def _split(report: GuardrailReport) -> tuple[list[GuardrailResult], list[str]]:
    shown, idle = [], []
    for r in report.results:
        if r.evidence.get("applicable") is False:
            idle.append(r.rule_id)
        else:
            shown.append(r)
    order = {Verdict.fail: 0, Verdict.warn: 1, Verdict.passed: 2}
    return sorted(shown, key=lambda r: order[r.verdict]), sorted(set(idle))


def _summary(report: GuardrailReport) -> str:
    counts = {v: sum(r.verdict is v for r in report.results) for v in Verdict}
    state = "BLOCKED" if not report.passed else "PASSED"
    return f"{state}: {counts[Verdict.fail]} failed, {counts[Verdict.warn]} warned, {counts[Verdict.passed]} passed"


def render_report_text(report: GuardrailReport) -> str:
    """One line per verdict, failures first, then the rules that had nothing to judge."""
    shown, idle = _split(report)
    lines = [f"Guardrails {_summary(report)} (patch {report.patch_sha256[:12]})"]
    lines += [f"  {_WORD[r.verdict]:4}  {r.rule_id:28} {r.message}" for r in shown]
    if idle:
        lines.append(f"  n/a   {', '.join(idle)}")
    return "\n".join(lines) + "\n"


def render_report_markdown(report: GuardrailReport) -> str:
    """A Markdown table (rule, verdict, detail) with the summary line above it."""
    shown, idle = _split(report)
    lines = [
        f"**Guardrails {_summary(report)}** — patch `{report.patch_sha256[:12]}`",
        "",
        "| rule | verdict | detail |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{r.rule_id}` | {_ICON[r.verdict]} {_WORD[r.verdict]} | {_cell(r.message)} |" for r in shown
    ]
    if idle:
        lines += ["", "Not applicable: " + ", ".join(f"`{i}`" for i in idle)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
