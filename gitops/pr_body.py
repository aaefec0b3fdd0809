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
from domain.quantity import format_cpu, format_memory
from domain.text import markdown_escape, single_line

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


def _workload_of(finding: Finding) -> str:
    """The row a finding belongs to: its workload (``namespace/Kind/name``) without the container."""
    t = finding.target
    if t.get("workload"):
        return "/".join(str(t[k]) for k in ("namespace", "kind", "workload") if t.get(k))
    return workload_label(finding)


_VALUE_NAMES = {
    "cpu_request": "cpu request",
    "cpu_limit": "cpu limit",
    "memory_request": "memory request",
    "memory_limit": "memory limit",
}


def _value_text(key: str, value: Any) -> str:
    if value is None:
        return "unset"
    try:
        if key.startswith("cpu"):
            cores = Decimal(str(value))
            return str(cores.normalize()) if cores == cores.to_integral_value() else str(format_cpu(cores))
        if key.startswith("memory"):
            return str(format_memory(int(value)))
    except (ArithmeticError, ValueError, TypeError):
        pass
    return str(value)


def _changes_text(finding: Finding) -> str:
    """What the finding changes, ``cpu request 250m → 288m``; non-resource values as ``key a → b``."""
    parts = []
    for key, after in finding.proposed.items():
        before = finding.current.get(key)
        if after is None or isinstance(after, dict) or before == after:
            continue
        name = _VALUE_NAMES.get(key, key)
        parts.append(f"{name} {_value_text(key, before)} → {_value_text(key, after)}")
    container = finding.target.get("container")
    text = ", ".join(parts) or "see diff"
    return f"{container}: {text}" if container else text


def _evidence_text(evidence: dict[str, Any]) -> str:
    return "; ".join(f"{key}: {value}" for key, value in evidence.items()) or "none recorded"


def _cell(text: str) -> str:
    """Data in a table cell or list item: literal Markdown on one line (a pipe would split the row)."""
    return markdown_escape(str(text))


def _code(text: str) -> str:
    """Data inside a code span: one line, without backticks that would end the span."""
    return single_line(str(text)).replace("`", "'")


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
    lines = [marker(proposal_id), f"## {_cell(change.title)}", ""]
    if intro.strip():
        lines += [intro.strip(), ""]
    lines += [
        f"Monthly cost: **{usd(now)} → {usd(after)}** ({signed_usd(after - now)} per month).",
    ]
    if change.cost_increase_reason:
        lines.append(f"Cost increase accepted because: {_cell(change.cost_increase_reason)}")
    steps = [f.evidence.get("steps") for f in change.findings if f.evidence.get("step") == 1]
    if steps:
        most = (
            max(int(n) for n in steps if isinstance(n, int)) if any(isinstance(n, int) for n in steps) else 2
        )
        lines.append(
            f"Stepped change: step 1 of about {most} (the policy's largest step per change); "
            "the next step follows after the cooldown."
        )
    # One row per workload: its containers' changes together, costs summed.
    rows: dict[str, list[Finding]] = {}
    for finding in change.findings:
        rows.setdefault(_workload_of(finding), []).append(finding)
    lines += ["", "| workload | change | now $/month | after $/month | delta |", "|---|---|---:|---:|---:|"]
    for label, members in rows.items():
        row_now = sum((f.monthly_cost_now for f in members), Decimal(0))
        row_after = sum((f.monthly_cost_after for f in members), Decimal(0))
        what = "; ".join(_changes_text(f) for f in members)
        lines.append(
            f"| {_cell(label)} | {_cell(what)} | {usd(row_now)} | {usd(row_after)} | {signed_usd(row_after - row_now)} |"
        )
    total_now = sum((f.monthly_cost_now for f in change.findings), Decimal(0))
    total_after = sum((f.monthly_cost_after for f in change.findings), Decimal(0))
    lines.append(
        f"| **total** ({len(rows)} workload{'s' if len(rows) != 1 else ''}) | | **{usd(total_now)}** | "
        f"**{usd(total_after)}** | **{signed_usd(total_after - total_now)}** |"
    )
    lines += ["", "### Evidence", ""]
    lines += [f"- {_cell(workload_label(f))}: {_cell(_evidence_text(f.evidence))}" for f in change.findings]
    report_text = (report_markdown or render_report(report)).rstrip("\n")  # one blank line after it
    lines += ["", "### Guardrails", "", report_text, "", "### Approval", ""]
    if approved_by and approved_at:
        when = approved_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"- Approved by {_cell(approved_by)} at {when}.")
    else:
        lines.append("- Not approved yet.")
    lines += [
        f"- Patch SHA-256: `{change.patch_sha256}`"
        + (f" (base `{_code(change.base_sha[:12])}`)" if change.base_sha else ""),
        f"- Files: {', '.join(f'`{_code(fc.path)}`' for fc in change.files)}",
        "",
        f"<sub>Opened by costpilot for proposal {proposal_id}. Edits to this branch are overwritten "
        "on the next approved change for the same target.</sub>",
    ]
    return "\n".join(lines) + "\n"


def render_comment(proposal_id: str, change: PlannedChange, *, approved_by: str | None) -> str:
    """The one bot comment, edited in place on every update of the PR."""
    who = f" approved by {_cell(approved_by)}" if approved_by else ""
    return (
        f"{marker(proposal_id)}\n"
        f"costpilot updated this pull request for proposal `{proposal_id}`{who}: "
        f"patch `{change.patch_sha256[:12]}`, {signed_usd(change.monthly_delta)} per month.\n"
    )
