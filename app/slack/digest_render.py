"""The digest as Block Kit (Slack) and as Markdown (``costpilot digest --out FILE.md``).

Both render the same ``DigestResult``; every amount is a tool's number, rounded to cents.
Sections are capped so a digest stays readable (no wall of tag lines).
"""

from __future__ import annotations

from typing import Any

from app.slack.blocks import (
    Block,
    context,
    divider,
    esc,
    field_sections,
    fit,
    header,
    money,
    pct,
    section,
    signed_money,
)
from domain.redaction import redact
from domain.text import markdown_cell

MAX_BLOCKED = 5
MAX_BUDGETS = 5


def _dims(dims: dict[str, str]) -> str:
    return " · ".join(f"{k}={v}" for k, v in dims.items()) or "total"


def _span(result: Any) -> str:
    return f"{result.period.start:%b %d} – {result.period.end:%b %d, %Y}"


def _share(line: Any) -> str:
    return (
        f", {pct(line.share_of_delta, signed=False)} of the change" if line.share_of_delta is not None else ""
    )


def total_line(result: Any) -> str:
    t, cur = result.total, result.currency
    return (
        f"{money(t.current, cur)} ({signed_money(t.delta, cur)}, {pct(t.delta_pct)} vs "
        f"{money(t.previous, cur)} the week before)"
    )


def mover_line(line: Any, currency: str | None) -> str:
    return f"{_dims(line.dims)}: {signed_money(line.delta, currency)} ({pct(line.delta_pct)}){_share(line)}"


def anomaly_line(a: Any, currency: str | None) -> str:
    causes = ", ".join(
        f"{c.dimension}={c.value} {signed_money(c.contribution, currency)}" for c in a.root_causes
    )
    impact_pct = f" ({a.impact_pct:+.1f}%)" if a.impact_pct is not None else ""
    when = a.start if a.start == a.end else f"{a.start}..{a.end}"
    return (
        f"{_dims(a.series)} {when}: expected {money(a.expected, currency)}, actual {money(a.actual, currency)}, "
        f"impact {signed_money(a.impact, currency)}{impact_pct}"
        + (f"; root causes: {causes}" if causes else "")
    )


def month_line(m: Any, currency: str | None) -> str:
    text = (
        f"{m.month.start:%B %Y}: projected {money(m.projected, currency)} "
        f"(80% interval {money(m.lo80, currency)} – {money(m.hi80, currency)}), "
        f"{money(m.actual_to_date, currency)} so far"
    )
    if m.budget is not None:
        text += f"; budget {money(m.budget, currency)}, projected {m.projected_pct_of_budget}% of it"
        if m.budget_crossed_on:
            text += f", crossed on {m.budget_crossed_on}"
    return text + (f" ({m.note})" if m.note else "")


def savings_lines(s: Any, currency: str | None) -> list[str]:
    def stage(name: str, st: Any) -> str:
        return f"{name}: {st.count} ({money(st.monthly_savings, currency)}/month)"

    realised = (
        f"{money(s.realised, currency)}/month measured vs {money(s.estimated_of_measured, currency)}/month estimated"
        if s.realised is not None and s.estimated_of_measured is not None
        else (money(s.realised, currency) if s.realised is not None else s.realised_note)
    )
    lines = [
        " · ".join([stage("open", s.open), stage("approved", s.approved), stage("merged", s.merged)]),
        f"realised: {realised}",
    ]
    if s.waiting.count:  # held back by the open/new PR limits or a cooldown: next in line
        lines.append(stage("waiting", s.waiting))
    if s.blocked:
        lines.append(f"blocked: {len(s.blocked)}")
        lines.extend(f"  {b.id} {b.title}: {', '.join(b.rules)}" for b in s.blocked[:MAX_BLOCKED])
        if len(s.blocked) > MAX_BLOCKED:
            lines.append(f"  … {len(s.blocked) - MAX_BLOCKED} more")
    return lines


def unit_line(u: Any, currency: str | None) -> tuple[str, str]:
    per_k = (
        f" · {money(u.cost_per_1k_tokens, currency)}/1k tokens" if u.cost_per_1k_tokens is not None else ""
    )
    per_req = f" · {money(u.cost_per_request, currency)}/request" if u.cost_per_request is not None else ""
    return f"{u.feature} · {u.model}", f"{money(u.cost, currency)}{per_k}{per_req}"


def budget_line(b: Any, currency: str | None) -> str:
    projected = f", projected {money(b.projected, currency)}" if b.projected is not None else ""
    flag = " — projected overrun" if b.projected_overrun else ""
    return f"{b.scope} ({b.period_kind}): {money(b.spent, currency)} of {money(b.amount, currency)} ({b.pct_used}%){projected}{flag}"


# ----- Block Kit -----


def digest_blocks(result: Any) -> list[Block]:
    cur = result.currency
    blocks: list[Block] = [
        header(f"Cost digest {result.week} ({_span(result)})"),
        section(f"*Total*: {esc(total_line(result))}"),
    ]
    if result.movers:
        lines = "\n".join(f"• {esc(mover_line(m, cur))}" for m in result.movers)
        blocks.append(section(f"*Top movers*\n{lines}"))
    for b in result.breakdowns:
        if b.lines:
            blocks.append(section(f"*By {esc(b.dimension)}*"))
            blocks.extend(
                field_sections(
                    [
                        (
                            esc(_dims(line.dims)),
                            f"{money(line.current, cur)} ({signed_money(line.delta, cur)})",
                        )
                        for line in b.lines
                    ]
                )
            )
    blocks.append(divider())
    if result.anomalies:
        lines = "\n".join(f"• {esc(anomaly_line(a, cur))}" for a in result.anomalies)
        more = f"\n_{result.more_anomalies} more: `costpilot anomalies`_" if result.more_anomalies else ""
        blocks.append(section(f"*Anomalies this week*\n{lines}{more}"))
    else:
        blocks.append(section("*Anomalies this week*: none"))
    if result.month is not None:
        blocks.append(section(f"*Month-end forecast*\n{esc(month_line(result.month, cur))}"))
    if result.budgets:
        lines = "\n".join(f"• {esc(budget_line(b, cur))}" for b in result.budgets[:MAX_BUDGETS])
        blocks.append(section(f"*Budgets*\n{lines}"))
    if result.ai is not None:
        blocks.append(section(f"*AI unit economics*: {money(result.ai.total, cur)} on LLM calls"))
        blocks.extend(field_sections([tuple(esc(x) for x in unit_line(u, cur)) for u in result.ai.lines]))  # type: ignore[misc]
    if result.savings is not None:
        lines = "\n".join(esc(line) for line in savings_lines(result.savings, cur))
        blocks.append(section(f"*Savings pipeline*\n{lines}"))
    if result.notes:
        blocks.append(context(*(esc(n) for n in result.notes[:5])))
    return fit(blocks)


# ----- Markdown -----


def _md(text: str) -> str:
    """A line with data in it as literal Markdown (a table cell or a list item): tag values
    and names cannot add emphasis, links, HTML or cells."""
    return markdown_cell(redact(text))


def digest_markdown(result: Any, chart_file: str | None = None) -> str:
    cur = result.currency
    out = [f"# Cost digest {result.week} ({_span(result)})", ""]
    if result.status == "skipped":
        return "\n".join([*out, *result.notes, ""])
    out += [f"**Total**: {total_line(result)}", ""]
    if chart_file:
        out += [f"![Daily spend and top movers]({chart_file})", ""]
    if result.movers:
        out += ["## Top movers", "", "| mover | change | % | share of change |", "|---|---:|---:|---:|"]
        out += [
            f"| {_md(_dims(m.dims))} | {signed_money(m.delta, cur)} | {pct(m.delta_pct)} | "
            f"{pct(m.share_of_delta, signed=False)} |"
            for m in result.movers
        ]
        out.append("")
    for b in result.breakdowns:
        if not b.lines:
            continue
        out += [
            f"## By {_md(b.dimension)}",
            "",
            "| value | this week | week before | change |",
            "|---|---:|---:|---:|",
        ]
        out += [
            f"| {_md(_dims(line.dims))} | {money(line.current, cur)} | {money(line.previous, cur)} | "
            f"{signed_money(line.delta, cur)} |"
            for line in b.lines
        ]
        out.append("")
    out += ["## Anomalies this week", ""]
    out += [f"- {_md(anomaly_line(a, cur))}" for a in result.anomalies] or ["none"]
    if result.more_anomalies:
        out.append(f"- … {result.more_anomalies} more (`costpilot anomalies`)")
    out.append("")
    if result.month is not None:
        out += ["## Month-end forecast", "", _md(month_line(result.month, cur)), ""]
    if result.budgets:
        out += (
            ["## Budgets", ""]
            + [f"- {_md(budget_line(b, cur))}" for b in result.budgets[:MAX_BUDGETS]]
            + [""]
        )
    if result.ai is not None:
        out += ["## AI unit economics", "", f"{money(result.ai.total, cur)} on LLM calls", ""]
        out += ["| feature · model | cost |", "|---|---|"] + [
            "| {} | {} |".format(*(_md(x) for x in unit_line(u, cur))) for u in result.ai.lines
        ]
        out.append("")
    if result.savings is not None:
        out += ["## Savings pipeline", ""] + [
            f"- {_md(line.strip())}" for line in savings_lines(result.savings, cur)
        ]
        out.append("")
    if result.notes:
        out += ["## Notes", ""] + [f"- {_md(n)}" for n in result.notes] + [""]
    return "\n".join(out)
