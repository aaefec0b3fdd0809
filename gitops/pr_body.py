"""The pull-request body and the bot comment of a remediation proposal (GitHub Markdown).

The guardrail report arrives as Markdown from ``guardrails`` (a layer above this one, so the
caller renders it and passes the text); ``render_report`` here is the plain fallback for a
``GuardrailReport`` when no rendering is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.changes import GuardrailReport, PlannedChange, Verdict
from domain.findings import Finding
from domain.money import round_cents

MARKER_PREFIX = "<!-- costpilot:proposal="
# Target keys in the order that names a workload best; anything else follows sorted.
_TARGET_ORDER = ("cluster", "namespace", "kind", "workload", "container", "feature", "model")
_VERDICT_MARK = {Verdict.passed: "pass", Verdict.warn: "warn", Verdict.fail: "FAIL"}


def marker(proposal_id: str) -> str:
    """The hidden marker that lets the bot find its own PR body and comment again."""
    return f"{MARKER_PREFIX}{proposal_id} -->"


def usd(amount: Decimal) -> str:
    """Dollars with cents and thousands separators; a negative amount keeps its sign."""
    value = round_cents(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def signed_usd(amount: Decimal) -> str:
    value = round_cents(amount)
    return ("+" if value > 0 else "") + usd(value)


def workload_label(finding: Finding) -> str:
    """``namespace/Deployment/api/app`` style name of a finding's target."""
    keys = [k for k in _TARGET_ORDER if k in finding.target and k != "cluster"]
    keys += sorted(k for k in finding.target if k not in _TARGET_ORDER)
    return "/".join(str(finding.target[k]) for k in keys) or finding.title


def _evidence_text(evidence: dict[str, Any]) -> str:
    return "; ".join(f"{key}: {value}" for key, value in evidence.items()) or "none recorded"


def _cell(text: str) -> str:
    # A pipe inside a cell would split the Markdown table row.
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(report: GuardrailReport) -> str:
    """Fallback Markdown of a guardrail report: one row per rule."""
    lines = ["| rule | verdict | detail |", "|---|---|---|"]
    for result in report.results:
        lines.append(f"| `{result.rule_id}` | {_VERDICT_MARK[result.verdict]} | {_cell(result.message)} |")
    failed = len(report.failures)
    lines.append("")
    lines.append(f"{len(report.results)} rules checked, {failed} failed.")
    return "\n".join(lines)


def render_body(
    proposal_id: str,
    change: PlannedChange,
    report: GuardrailReport,
    *,
    approved_by: str | None,
    approved_at: datetime | None,
    report_markdown: str | None = None,
    intro: str = "",
) -> str:
    """The full PR body: marker, intro (the playbook's), cost summary and per-workload table,
    evidence, guardrail report, approval."""
    now, after = change.monthly_cost_now, change.monthly_cost_after
    lines = [marker(proposal_id), f"## {change.title}", ""]
    if intro.strip():
        lines += [intro.strip(), ""]
    lines += [
        f"Monthly cost: **{usd(now)} → {usd(after)}** ({signed_usd(after - now)} per month).",
    ]
    if change.cost_increase_reason:
        lines.append(f"Cost increase accepted because: {change.cost_increase_reason}")
    lines += ["", "| workload | now $/month | after $/month | delta |", "|---|---:|---:|---:|"]
    for finding in change.findings:
        delta = finding.monthly_cost_after - finding.monthly_cost_now
        lines.append(
            f"| {_cell(workload_label(finding))} | {usd(finding.monthly_cost_now)} | "
            f"{usd(finding.monthly_cost_after)} | {signed_usd(delta)} |"
        )
    total_now = sum((f.monthly_cost_now for f in change.findings), Decimal(0))
    total_after = sum((f.monthly_cost_after for f in change.findings), Decimal(0))
    lines.append(
        f"| **total** | **{usd(total_now)}** | **{usd(total_after)}** | **{signed_usd(total_after - total_now)}** |"
    )
    lines += ["", "### Evidence", ""]
    lines += [f"- {workload_label(f)}: {_evidence_text(f.evidence)}" for f in change.findings]
    report_text = (report_markdown or render_report(report)).rstrip("\n")  # one blank line after it
    lines += ["", "### Guardrails", "", report_text, "", "### Approval", ""]
    if approved_by and approved_at:
        when = approved_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"- Approved by {approved_by} at {when}.")
    else:
        lines.append("- Not approved yet.")
    lines += [
        f"- Patch SHA-256: `{change.patch_sha256}`"
        + (f" (base `{change.base_sha[:12]}`)" if change.base_sha else ""),
        f"- Files: {', '.join(f'`{fc.path}`' for fc in change.files)}",
        "",
        f"<sub>Opened by costpilot for proposal {proposal_id}. Edits to this branch are overwritten "
        "on the next approved change for the same target.</sub>",
    ]
    return "\n".join(lines) + "\n"


def render_comment(proposal_id: str, change: PlannedChange, *, approved_by: str | None) -> str:
    """The one bot comment, edited in place on every update of the PR."""
    who = f" approved by {approved_by}" if approved_by else ""
    return (
        f"{marker(proposal_id)}\n"
        f"costpilot updated this pull request for proposal `{proposal_id}`{who}: "
        f"patch `{change.patch_sha256[:12]}`, {signed_usd(change.monthly_delta)} per month.\n"
    )
