"""The review as Markdown in Infracost's manner: headline delta, per-workload table, policy and
guardrail verdicts, and the evidence behind the prices. Every data field — workload names,
refs, policy messages, rule ids, model names — is escaped: it comes from the repository."""

from __future__ import annotations

from decimal import Decimal

from domain.changes import GuardrailResult, Verdict
from domain.money import round_cents
from domain.text import markdown_code, markdown_escape
from services.review_models import ReviewResult

MARKER = "<!-- costpilot:review -->"
_VERDICT = {"pass": "✅ passed", "warn": "⚠️ passed with warnings", "block": "❌ blocked"}
_ICON = {Verdict.passed: "✅ pass", Verdict.warn: "⚠️ warn", Verdict.fail: "❌ fail"}


def usd(value: Decimal) -> str:
    amount = round_cents(value)
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def signed(value: Decimal) -> str:
    amount = round_cents(value)
    return f"+{usd(amount)}" if amount > 0 else usd(amount) if amount < 0 else "$0.00"


def _percent(before: Decimal, delta: Decimal) -> str:
    if before == 0:
        return ""
    return f" ({delta / before * 100:+.1f}%)"


def _e(text: object) -> str:
    return markdown_escape(str(text))


def render_markdown(result: ReviewResult) -> str:
    """The PR comment (it starts with the hidden marker, so the bot can find and edit it)."""
    lines = [
        MARKER,
        f"### costpilot review: monthly cost {signed(result.monthly_delta)}"
        f"{_percent(result.monthly_before, result.monthly_delta)} · {_VERDICT[result.verdict]}",
        "",
        f"{markdown_code(result.base)} ({result.base_commit[:12]}) → {markdown_code(result.head)} "
        f"({result.head_commit[:12]}) · "
        f"{len(result.changed_files)} file(s) changed · {usd(result.monthly_before)} → {usd(result.monthly_after)} "
        "per month for what changed",
        "",
    ]
    if result.workloads:
        lines += ["| workload | change | monthly before → after | delta |", "|---|---|---|---|"]
        for w in result.workloads:
            what = "; ".join(_e(d) for d in w.details) or _e(w.change)
            gpu = " (GPUs not priced)" if w.gpus_unpriced else ""
            lines.append(
                f"| {_e(w.workload)} | {_e(w.change)}: {what}{gpu} | {usd(w.monthly_before)} → {usd(w.monthly_after)} "
                f"| {signed(w.monthly_delta)} |"
            )
    if result.models:
        lines += ["", "| LLM feature | routing | monthly before → after | delta |", "|---|---|---|---|"]
        for m in result.models:
            route = f"{_e(m.model_before or 'none')} → {_e(m.model_after or 'none')}"
            note = f" ({_e(m.note)})" if m.note else ""
            lines.append(
                f"| {_e(m.feature)} | {route}{note} | {usd(m.monthly_before)} → {usd(m.monthly_after)} "
                f"| {signed(m.monthly_delta)} |"
            )
    if not result.workloads and not result.models:
        lines.append("No workload or model routing cost changes.")
    lines += ["", *_verdicts(result), "", *_evidence(result)]
    return "\n".join(lines) + "\n"


def _verdicts(result: ReviewResult) -> list[str]:
    shown = [r for r in result.report.results if r.evidence.get("applicable") is not False]
    idle = sorted({r.rule_id for r in result.report.results if r.evidence.get("applicable") is False})
    order = {Verdict.fail: 0, Verdict.warn: 1, Verdict.passed: 2}
    shown.sort(key=lambda r: order[r.verdict])
    failed = sum(r.verdict is Verdict.fail for r in shown)
    warned = sum(r.verdict is Verdict.warn for r in shown)
    out = [
        f"**Policies and guardrails: {failed} failed, {warned} warned, {len(shown) - failed - warned} passed**",
        "",
    ]
    out += ["| rule | verdict | detail |", "|---|---|---|"]
    out += [f"| {_e(r.rule_id)} | {_ICON[r.verdict]} | {_detail(r)} |" for r in shown]
    if idle:
        out += ["", "Not applicable: " + ", ".join(_e(i) for i in idle)]
    return out


def _detail(r: GuardrailResult) -> str:
    where = r.evidence.get("document")
    return _e(r.message) + (f" ({_e(where)})" if where and r.verdict is not Verdict.passed else "")


def _evidence(result: ReviewResult) -> list[str]:
    p = result.prices
    out = [
        "<details><summary>Price evidence</summary>",
        "",
        f"- Nodes ({_e(p.node_source)}: {_e(p.node_detail)}): ${p.usd_per_vcpu_hour} per vCPU-hour, "
        f"${p.usd_per_gib_hour} per GiB-hour, × {p.hours_per_month} hours per month",
        f"- GPUs: ${p.usd_per_gpu_hour} per GPU-hour ({_e(p.gpu_source)})"
        if p.usd_per_gpu_hour is not None
        else "- GPUs: no GPU price; GPU requests are listed but not priced",
    ]
    for w in result.workloads:
        out.append(f"- {_e(w.workload)}: pods {_e(w.pods_before or '–')} → {_e(w.pods_after or '–')}")
    if p.token_window:
        out.append(f"- Token volumes: {_e(p.token_window)}")
    for m in p.models:
        if m.usd_per_million_input is None:
            out.append(f"- {_e(m.model)}: no price")
        else:
            out.append(
                f"- {_e(m.model)}: ${m.usd_per_million_input.normalize():f} in / "
                f"${m.usd_per_million_output.normalize() if m.usd_per_million_output is not None else 0:f} out "
                f"per million tokens ({_e(m.source)})"
            )
    for note in result.notes:
        out.append(f"- note: {_e(note)}")
    out += ["", "</details>"]
    return out
