"""``costpilot forecast``: daily spend forecasts with intervals and the month-end projection."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import typer

from app.context import emit_tool_json, get_context
from app.render import console, money
from domain.errors import InputError

if TYPE_CHECKING:
    from tools.forecast import ForecastReport

ENGINES = ("ets", "seasonal-naive", "statsmodels-ets")


def _amount(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise InputError(f"--budget {text!r}: not a number") from None
    if not value.is_finite() or value <= 0:
        raise InputError(f"--budget {text!r}: must be a positive amount")
    return value


def render_forecast(report: ForecastReport) -> None:
    from rich.table import Table

    currency = report.currency or ""
    table = Table(
        title=f"Forecast from {report.forecast_start or report.last_final_day} (as of {report.as_of}, "
        f"fitted through {report.last_final_day}), {report.horizon} days",
        title_justify="left",
    )
    for column in ("series", "model", "next days (mean)", "month actual", "month projected", "80% range"):
        table.add_column(column)
    for f in report.forecasts:
        label = ", ".join(f"{k}={v}" for k, v in f.series.items()) or "total"
        mean = sum((p.mean for p in f.points), start=0)
        m = f.month_end
        table.add_row(
            label, f.model, money(mean, currency) if f.points else (f.note or "–"),
            money(m.actual_to_date, currency) if m else "–", money(m.projected, currency) if m else "–",
            f"{money(m.lo80, currency)} – {money(m.hi80, currency)}" if m else "–",
        )  # fmt: skip
    console.print(table)
    for f in report.forecasts:
        if f.month_end and f.month_end.budget is not None:
            label = ", ".join(f"{k}={v}" for k, v in f.series.items()) or "total"
            when = f.month_end.budget_crossed_on or "not this month"
            console.print(f"{label}: budget {money(f.month_end.budget, currency)} crossed {when}")
    for note in report.notes:
        console.print(note)
    month_notes = {f.month_end.note for f in report.forecasts if f.month_end and f.month_end.note}
    for note in sorted(month_notes):
        console.print(f"month end: {note}")


def forecast_command(
    ctx: typer.Context,
    by: str | None = typer.Option(None, "--by", help="comma-separated dimensions, e.g. team"),
    filters: list[str] = typer.Option([], "--filter", "-f", help="KEY=VALUE (repeatable; VALUE may be a,b)"),
    horizon: int = typer.Option(30, "--horizon", help="days to forecast (1..366)"),
    history: int = typer.Option(365, "--history-days", min=8, max=3660, help="days of history to fit on"),
    engine: str = typer.Option("ets", "--engine", help=" | ".join(ENGINES)),
    budget: str | None = typer.Option(
        None, "--budget", help="month budget per series: report the day it is crossed"
    ),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Forecast daily spend (ETS, 80/95% intervals) and project the month end."""
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: use one of: {', '.join(ENGINES)}")
    args = {
        "by": by,
        "filters": filters,
        "horizon": horizon,
        "history_days": history,
        "engine": engine,
        "budget": _amount(budget),
    }
    report = get_context(ctx).call("forecast", args)
    if json_output:
        emit_tool_json("forecast", report)
    else:
        render_forecast(report)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("forecast")(forecast_command)
