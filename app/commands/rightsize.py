"""``costpilot rightsize``, ``costpilot idle`` and ``costpilot models``: the waste detectors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from app.context import emit_tool_json, get_context
from app.render import console, format_option, money, use_format
from domain.errors import InputError

GIB = 1024**3


def _overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {pair!r}: expected KEY=VALUE (e.g. cpu_percentile=90)")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def _cpu(value: Decimal | None) -> str:
    return "–" if value is None else f"{int(value * 1000)}m"


def _mem(value: int | None) -> str:
    return "–" if value is None else f"{value / 2**20:.0f}Mi"


def rightsize_command(
    ctx: typer.Context,
    preset: str = typer.Option("krr-simple", "--preset", help="krr-simple | vpa-like"),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="only this namespace"),
    settings: list[str] = typer.Option([], "--set", help="preset setting KEY=VALUE (repeatable)"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
    fmt: str = format_option(),
) -> None:
    """Recommend CPU/memory requests and limits per workload container, with monthly savings.

    krr-simple follows KRR's default strategy; vpa-like follows today's VPA recommender. vpa-like
    departs from the VPA recommender on purpose in two places: it recommends native sidecars (VPA's
    real-time feeder drops every init container, native sidecars included, while its Prometheus
    bootstrap keeps them), and a memory interval whose first sample is 0 bytes still takes the
    interval's later peak (VPA keeps 0 for that interval, which yields the floor for a busy container)."""
    from rich.table import Table

    use_format(fmt)
    args = {"preset": preset, "namespace": namespace, "settings": _overrides(settings)}
    result: Any = get_context(ctx).call("rightsize", args)
    if json_output:
        emit_tool_json("rightsize", result)
        return
    table = Table(
        title=f"{result.preset}: {len(result.recommendations)} containers, "
        f"savings {money(result.total_monthly_savings)}/month (prices: {result.prices.source.value})",
        title_justify="left",
    )
    for col in ("namespace", "workload", "container", "cpu", "memory", "$/month", "severity", "note"):
        table.add_column(col)
    for r in result.recommendations:
        table.add_row(
            r.namespace,
            f"{r.kind}/{r.workload}",
            r.container,
            f"{_cpu(r.current.cpu_request)} → {_cpu(r.recommended.cpu_request)}",
            f"{_mem(r.current.memory_request)} → {_mem(r.recommended.memory_request)}",
            money(r.monthly_savings),
            r.severity.value,
            r.skip_reason or "",
        )
    console.print(table)


def idle_command(
    ctx: typer.Context,
    days: int = typer.Option(7, "--days", min=1, max=90, help="days of history to judge by"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
    fmt: str = format_option(),
) -> None:
    """Non-production workloads with near-zero usage → scale to zero outside working hours."""
    use_format(fmt)
    from rich.table import Table

    result: Any = get_context(ctx).call("idle", {"days": days})
    if json_output:
        emit_tool_json("idle", result)
        return
    found, total = result.workloads, result.total_monthly_savings
    table = Table(
        title=f"{len(found)} idle non-production workloads, savings {money(total)}/month",
        title_justify="left",
    )
    for col in ("namespace", "workload", "replicas", "cpu p95", "$/month now", "savings"):
        table.add_column(col)
    for w in found:
        table.add_row(
            w.namespace,
            f"{w.kind}/{w.workload}",
            f"{w.replicas:g}",
            f"{w.cpu_p95 * 1000:.1f}m",
            money(w.monthly_cost_now),
            money(w.monthly_savings),
        )
    console.print(table)


def models_command(
    ctx: typer.Context,
    days: int = typer.Option(30, "--days", min=1, max=365, help="days of token volumes to price"),
    routing: Path | None = typer.Option(
        None, "--routing", help="routing config (default: GitOps ai/routing.yaml)"
    ),
    json_output: bool = typer.Option(False, "--json", help="print one JSON document"),
    fmt: str = format_option(),
) -> None:
    """Per LLM feature: the cheapest allow-listed model that meets its tier and context needs."""
    use_format(fmt)
    from rich.table import Table

    args = {"days": days, "routing": str(routing) if routing is not None else None}
    result: Any = get_context(ctx).call("models", args)
    if json_output:
        emit_tool_json("models", result)
        return
    choices, total = result.features, result.total_monthly_savings
    start, end = result.window.start, result.window.end
    table = Table(
        title=f"cheaper models: savings {money(total)}/month ({start}..{end})", title_justify="left"
    )
    for col in ("feature", "model", "proposed", "$/month now", "savings", "status"):
        table.add_column(col)
    for c in choices:
        table.add_row(
            c.feature,
            c.model,
            c.proposed_model or "–",
            money(c.monthly_cost_now),
            money(c.monthly_savings),
            c.status,
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``rightsize``, ``idle`` and ``models`` to the root app."""
    app.command("rightsize")(rightsize_command)
    app.command("idle")(idle_command)
    app.command("models")(models_command)
