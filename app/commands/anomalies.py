"""``costpilot anomalies``, ``costpilot movers`` and ``costpilot unit-costs``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from app.context import emit_tool_json, get_context
from app.render import console, format_option, money, use_format
from domain.errors import InputError
from domain.period_help import PERIOD_HELP

if TYPE_CHECKING:
    from tools.anomalies import AnomalyReport
    from tools.movers import MoversResult
    from tools.unit_costs import UnitCostsResult

DEFAULT_SERIES = "team,service"


def _decimal(value: str | None, flag: str) -> Decimal | None:
    if value is None or value.strip().lower() in ("", "none", "off"):
        return None
    try:
        return Decimal(value)
    except ArithmeticError:
        raise InputError(f"{flag} {value!r}: not a number") from None


def _render_burn(report: AnomalyReport) -> None:
    currency = report.currency or ""
    for b in report.budget_burn:
        console.print(
            f"budget burn: {b.scope} ({b.period_kind} {b.period_start}..{b.period_end}) "
            f"{money(b.spent, currency)} of {money(b.amount, currency)}: {'; '.join(b.reasons)}"
        )


def render_anomalies(report: AnomalyReport) -> None:
    from rich.table import Table

    currency = report.currency or ""
    if not report.anomalies:
        console.print(f"No anomalies ({report.series_checked} series checked). " + " ".join(report.notes))
        _render_burn(report)
        return
    table = Table(title=f"{len(report.anomalies)} anomalies", title_justify="left")
    for column in ("series", "start", "end", "expected", "actual", "impact", "score", "top cause"):
        table.add_column(column)
    for a in report.anomalies:
        cause = a.root_causes[0] if a.root_causes else None
        table.add_row(
            ", ".join(f"{k}={v}" for k, v in a.series.items()) or "total",
            str(a.start), str(a.end), money(a.expected, currency), money(a.actual, currency),
            f"{money(a.impact, currency)} ({a.impact_pct:+.0f}%)" if a.impact_pct is not None else money(a.impact, currency),
            f"{a.score:.1f}",
            f"{cause.dimension}={cause.value} {money(cause.contribution, currency)}" if cause else "",
        )  # fmt: skip
    console.print(table)
    for note in report.notes:
        console.print(note)
    _render_burn(report)


def anomalies_command(
    ctx: typer.Context,
    period: str = typer.Option("last-30d", "--period", "-p", help=f"window to check; {PERIOD_HELP}"),
    by: str = typer.Option(DEFAULT_SERIES, "--by", help="dimensions that make a series, e.g. team,service"),
    filters: list[str] = typer.Option([], "--filter", "-f", help="KEY=VALUE (repeatable; VALUE may be a,b)"),
    series: Path | None = typer.Option(None, "--series", help="check a timestamp,value CSV instead"),
    z: float = typer.Option(3.5, "--z", help="robust score (σ units) that flags a point"),
    min_impact: str = typer.Option("10", "--min-impact", help="impact floor (currency), always applied"),
    threshold_abs: str | None = typer.Option(
        "50", "--threshold-abs", help="impact ≥ this amount ('off' to drop)"
    ),
    threshold_pct: str | None = typer.Option(
        "15", "--threshold-pct", help="impact ≥ this % of expected ('off')"
    ),
    combine: str = typer.Option("and", "--combine", help="and | or: how the two thresholds combine"),
    direction: str = typer.Option("up", "--direction", help="up (increases) | both"),
    baseline: str = typer.Option(
        "usage", "--baseline", help="usage (credits, refunds, adjustments, taxes left out) | all"
    ),
    drill_down: bool = typer.Option(
        True, "--drill-down/--no-drill-down", help="also check one level below --by (reported on the parent)"
    ),
    volatility: str = typer.Option(
        "tail", "--volatility", help="tail (knows a series' usual extremes) | mad"
    ),
    timezone: str | None = typer.Option(
        None, "--timezone", help="--series: zone of stamps without one (UTC)"
    ),
    aggregate: str = typer.Option(
        "mean", "--aggregate", help="--series: mean | sum of rows on one grid point"
    ),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
    fmt: str = format_option(),
) -> None:
    """Anomalous spend: same-weekday robust scores, AWS-style thresholds, root causes."""
    use_format(fmt)
    args = {
        "period": period,
        "by": by,
        "filters": filters,
        "series": str(series) if series is not None else None,
        "z": z,
        "min_impact": _decimal(min_impact, "--min-impact") or Decimal(0),
        "threshold_abs": _decimal(threshold_abs, "--threshold-abs"),
        "threshold_pct": _decimal(threshold_pct, "--threshold-pct"),
        "combine": combine,
        "direction": direction,
        "baseline": baseline,
        "drill_down": drill_down,
        "volatility": volatility,
        "timezone": timezone,
        "aggregate": aggregate,
    }
    report = get_context(ctx).call("anomalies", args)
    if json_output:
        emit_tool_json("anomalies", report)
    else:
        render_anomalies(report)  # type: ignore[arg-type]


def render_movers(result: MoversResult) -> None:
    from rich.table import Table

    currency = result.currency or ""
    title = (
        f"{result.period.label()} vs {result.compare.label()}: {money(result.current_total, currency)} "
        f"vs {money(result.previous_total, currency)} ({money(result.delta, currency)})"
    )
    table = Table(title=title, title_justify="left")
    for name in (*result.by, "current", "previous", "delta", "share of delta"):
        table.add_column(name)
    for m in result.movers:
        share = f"{m.share_of_delta * 100:.1f}%" if m.share_of_delta is not None else "–"
        table.add_row(*m.dims.values(), money(m.current, currency), money(m.previous, currency),
                      money(m.delta, currency), share)  # fmt: skip
    console.print(table)
    for name, share in result.untagged_share.items():
        if share is not None:
            console.print(f"untagged {name}: {share * 100:.1f}% of spend")
    for note in result.notes:
        console.print(f"note: {note}")


def movers_command(
    ctx: typer.Context,
    period: str = typer.Option("last-7d", "--period", "-p", help=PERIOD_HELP),
    compare: str | None = typer.Option(
        None, "--compare", help="period to compare with (default: the one before)"
    ),
    by: str = typer.Option("team", "--by", help="comma-separated dimensions, e.g. team,service"),
    filters: list[str] = typer.Option([], "--filter", "-f", help="KEY=VALUE (repeatable; VALUE may be a,b)"),
    top: int = typer.Option(10, "--top", min=1, max=1000, help="movers to show"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
    fmt: str = format_option(),
) -> None:
    """Spend change between two periods: top movers and their share of the delta."""
    use_format(fmt)
    args = {"period": period, "compare": compare, "by": by, "filters": filters, "top": top}
    result = get_context(ctx).call("movers", args)
    if json_output:
        emit_tool_json("movers", result)
    else:
        render_movers(result)  # type: ignore[arg-type]


def render_unit_costs(result: UnitCostsResult) -> None:
    from rich.table import Table

    currency = result.currency or ""
    table = Table(
        title=f"AI unit costs {result.period.label()}: {money(result.total, currency)}", title_justify="left"
    )
    for column in ("feature", "model", "cost", "tokens", "requests", "per 1k tokens", "per request"):
        table.add_column(column)
    for r in result.rows:
        table.add_row(
            r.feature, r.model, money(r.cost, currency), f"{r.tokens:,}", f"{r.requests:,}",
            f"{r.cost_per_1k_tokens}" if r.cost_per_1k_tokens is not None else "–",
            f"{r.cost_per_request}" if r.cost_per_request is not None else "–",
        )  # fmt: skip
    console.print(table)
    if result.untagged_share is not None:
        console.print(f"untagged feature: {result.untagged_share * 100:.1f}% of LLM spend")
    if result.other_ai_cost:
        console.print(f"other AI and ML spend without token data: {money(result.other_ai_cost, currency)}")


def unit_costs_command(
    ctx: typer.Context,
    period: str = typer.Option("last-30d", "--period", "-p", help=PERIOD_HELP),
    filters: list[str] = typer.Option([], "--filter", "-f", help="KEY=VALUE (repeatable; VALUE may be a,b)"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
    fmt: str = format_option(),
) -> None:
    """AI unit economics: cost per 1k tokens and per request, by feature and model."""
    use_format(fmt)
    result = get_context(ctx).call("unit_costs", {"period": period, "filters": filters})
    if json_output:
        emit_tool_json("unit_costs", result)
    else:
        render_unit_costs(result)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("anomalies")(anomalies_command)
    app.command("movers")(movers_command)
    app.command("unit-costs")(unit_costs_command)
