"""The templated answer: plain sentences built only from tool results (registry JSON).

One composer per tool, keyed by name. Amounts carry the currency and two decimals; text that
comes from data (team names, services, notes) is quoted as data by the surfaces that render it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

Composer = Callable[[dict[str, Any], Any], list[str]]
CENT = Decimal("0.01")
MAX_ROWS = 10


def money(value: Any, currency: str | None = None) -> str:
    amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return f"{amount:,.2f} {currency or 'USD'}"


def signed_money(value: Any, currency: str | None = None) -> str:
    amount = Decimal(str(value))
    return ("+" if amount > 0 else "") + money(amount, currency)


def pct(share: Any, places: int = 1) -> str:
    """A fraction (0.1234) as a percentage (12.3%)."""
    value = Decimal(str(share)) * 100
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)}%"


def _period(p: dict[str, Any] | None) -> str:
    if not p:
        return ""
    return p["start"] if p["start"] == p["end"] else f"{p['start']} to {p['end']}"


def _label(dims: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in dims.items()) or "total"


def _dims(row: dict[str, Any], by: list[str]) -> dict[str, Any]:
    return {k: row[k] for k in by if k in row}


def _scope(args: dict[str, Any]) -> str:
    filters = args.get("filters") or {}
    return "".join(f", {k} {' or '.join(v)}" for k, v in filters.items())


def compose_spend(args: dict[str, Any], r: Any) -> list[str]:
    cur = r.get("currency")
    lines = [f"Spend {_period(r['period'])}{_scope(args)} ({r['measure']}): {money(r['total'], cur)}."]
    by = r.get("by") or []
    for row in r.get("rows", [])[:MAX_ROWS] if by else []:
        share = f" ({pct(row['share'])})" if row.get("share") is not None else ""
        lines.append(f"- {_label(_dims(row, by))}: {money(row['cost'], cur)}{share}")
    if by and len(r.get("rows", [])) > MAX_ROWS:
        lines.append(f"(the largest rows only, of {len(r['rows'])})")
    return lines


def compose_movers(args: dict[str, Any], r: Any) -> list[str]:
    cur = r.get("currency")
    lines = [
        f"{_period(r['period'])}{_scope(args)}: {money(r['current_total'], cur)} against "
        f"{money(r['previous_total'], cur)} in {_period(r['compare'])} ({signed_money(r['delta'], cur)})."
    ]
    by = r.get("by") or []
    for m in r.get("movers", [])[:5]:
        share = f", {pct(m['share_of_delta'])} of the change" if m.get("share_of_delta") is not None else ""
        lines.append(
            f"- {_label(_dims(m, by))}: {signed_money(m['delta'], cur)} "
            f"({money(m['previous'], cur)} → {money(m['current'], cur)}{share})"
        )
    lines.extend(f"Note: {n}" for n in r.get("notes", []))
    return lines


def compose_unit_costs(args: dict[str, Any], r: Any) -> list[str]:
    cur = r.get("currency")
    lines = [f"LLM spend {_period(r['period'])}{_scope(args)}: {money(r['total'], cur)}."]
    for row in r.get("rows", [])[:MAX_ROWS]:
        per_1k = row.get("cost_per_1k_tokens")
        per_req = row.get("cost_per_request")
        lines.append(
            f"- {row['feature']} on {row['model']}: {money(row['cost'], cur)}"
            + (f", {per_1k} {cur or 'USD'} per 1k tokens" if per_1k is not None else "")
            + (f", {per_req} {cur or 'USD'} per request" if per_req is not None else "")
        )
    return lines


def compose_anomalies(args: dict[str, Any], r: Any) -> list[str]:
    cur = r.get("currency")
    found = r.get("anomalies", [])
    if not found:
        return [f"No anomalies{_scope(args)} ({r.get('series_checked', 0)} series checked)."]
    lines = [f"{len(found)} anomalies{_scope(args)}:"]
    for a in found[:MAX_ROWS]:
        impact_pct = (
            f" ({pct(Decimal(str(a['impact_pct'])) / 100, 0)})" if a.get("impact_pct") is not None else ""
        )
        causes = a.get("root_causes") or []
        cause = f"; top cause {causes[0]['dimension']} {causes[0]['value']}" if causes else ""
        when = a["start"] if a["start"] == a["end"] else f"{a['start']} to {a['end']}"
        lines.append(
            f"- {_label(a.get('series') or {})} on {when}: {money(a['actual'], cur)} against "
            f"{money(a['expected'], cur)} expected, {signed_money(a['impact'], cur)}{impact_pct}{cause}"
        )
    return lines


def compose_forecast(args: dict[str, Any], r: Any) -> list[str]:
    cur = r.get("currency")
    lines = []
    for f in r.get("forecasts", [])[:MAX_ROWS]:
        m = f.get("month_end")
        if not m:
            lines.append(f"- {_label(f.get('series') or {})}: {f.get('note') or 'no forecast'}")
            continue
        text = (
            f"{_label(f.get('series') or {})}{_scope(args)}: month to {m['end']} projected at "
            f"{money(m['projected'], cur)} (likely range {money(m['lo80'], cur)} to {money(m['hi80'], cur)}), "
            f"{money(m['actual_to_date'], cur)} spent through {m['actual_through']}"
        )
        if m.get("budget") is not None:
            crossed = m.get("budget_crossed_on")
            text += f"; budget {money(m['budget'], cur)}" + (
                f" crossed on {crossed}" if crossed else " not crossed"
            )
        lines.append(text + ".")
    return lines or ["No forecast: no cost history in scope."]


def compose_budget_status(args: dict[str, Any], r: Any) -> list[str]:
    lines = []
    for b in r.get("budgets", []):
        projected = f", projected {money(b['projected'])}" if b.get("projected") is not None else ""
        alerts = "; ".join(b.get("alerts") or []) or "ok"
        lines.append(
            f"- {b['scope']} ({b['period_kind']}): {money(b['spent'])} of {money(b['amount'])} "
            f"({b['pct_used']}% used){projected}; {alerts}"
        )
    return [f"Budgets as of {r['as_of']}:", *lines]


def compose_rightsize(args: dict[str, Any], r: Any) -> list[str]:
    actionable = [x for x in r.get("recommendations", []) if not x.get("skip_reason")]
    ranked = sorted(actionable, key=lambda x: Decimal(x["monthly_savings"]), reverse=True)
    lines = [
        f"Right-sizing ({r['preset']}{', namespace ' + args['namespace'] if args.get('namespace') else ''}): "
        f"{money(r['total_monthly_savings'])} per month ({len(r['recommendations'])} containers checked)."
    ]
    for x in ranked[:5]:
        lines.append(
            f"- {x['namespace']} {x['kind']}/{x['workload']} {x['container']}: {money(x['monthly_savings'])} per month"
        )
    return lines


def compose_idle(args: dict[str, Any], r: Any) -> list[str]:
    found = r.get("workloads", [])
    lines = [
        f"{len(found)} idle non-production workloads over {r['days']} days; scaling them to zero outside "
        f"working hours saves {money(r['total_monthly_savings'])} per month."
    ]
    for w in found[:5]:
        lines.append(
            f"- {w['namespace']} {w['kind']}/{w['workload']}: {money(w['monthly_savings'])} per month"
        )
    return lines


def compose_models(args: dict[str, Any], r: Any) -> list[str]:
    cheaper = [f for f in r.get("features", []) if f.get("status") == "cheaper"]
    lines = [
        f"Cheaper models would save {money(r['total_monthly_savings'])} per month ({len(r['features'])} features checked)."
    ]
    for f in cheaper[:5]:
        lines.append(
            f"- {f['feature']}: {f['model']} → {f['proposed_model']}, {money(f['monthly_savings'])} per month"
        )
    return lines


def compose_untagged(args: dict[str, Any], r: Any) -> list[str]:
    found = r.get("findings", [])
    lines = [f"{len(found)} workloads lack cost labels ({r.get('workloads_checked', 0)} checked)."]
    for f in found[:5]:
        t = f.get("target", {})
        lines.append(f"- {t.get('namespace')} {t.get('kind')}/{t.get('workload')}")
    return lines


def compose_proposals_list(args: dict[str, Any], r: Any) -> list[str]:
    items = r if isinstance(r, list) else r.get("proposals", [])
    states = ", ".join(args.get("states") or []) or "any state"
    lines = [f"{len(items)} proposals ({states}):"]
    for p in items[:MAX_ROWS]:
        lines.append(f"- {p['id']} {p['title']}: {signed_money(p['monthly_delta'])} per month, {p['state']}")
    return lines


def compose_proposal_show(args: dict[str, Any], r: Any) -> list[str]:
    failing = ", ".join(r.get("blocked_rules") or []) or "none"
    return [
        f"{r['id']} is {r['state']}: {r['title']}; monthly cost {money(r['monthly_cost_now'])} → "
        f"{money(r['monthly_cost_after'])}; failing guardrails: {failing}."
        + (f" PR: {r['pr_url']}" if r.get("pr_url") else "")
    ]


COMPOSERS: dict[str, Composer] = {
    "spend": compose_spend,
    "movers": compose_movers,
    "unit_costs": compose_unit_costs,
    "anomalies": compose_anomalies,
    "forecast": compose_forecast,
    "budget_status": compose_budget_status,
    "rightsize": compose_rightsize,
    "idle": compose_idle,
    "models": compose_models,
    "untagged": compose_untagged,
    "proposals_list": compose_proposals_list,
    "proposal_show": compose_proposal_show,
}

HELP = (
    "I answer questions about cloud, Kubernetes and AI spend with numbers computed by costpilot's tools: "
    "spend by team, env, service or model over a period; what changed and why; anomalies; month-end "
    "forecasts and budgets; right-sizing, idle workloads and cheaper models; AI cost per 1k tokens and per "
    "request; remediation proposals and their status. Approvals happen with the buttons of an approval "
    "message or `costpilot approve ID --as USER`, never by asking me."
)
CANNOT = "I can't answer that from the cost data. " + HELP


def compose(results: list[dict[str, Any]], *, understood: bool = True) -> str:
    """The templated answer for this turn's tool results (``{"tool", "args", "result"|"error"}``)."""
    if not understood:
        return CANNOT
    lines: list[str] = []
    for item in results:
        tool = item["tool"]
        if tool == "help":
            lines.append(HELP)
        elif "error" in item:
            lines.append(f"{tool}: {item['error']}")
        elif tool in COMPOSERS:
            lines.extend(COMPOSERS[tool](item.get("args") or {}, item["result"]))
    return "\n".join(lines) if lines else CANNOT
