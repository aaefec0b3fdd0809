"""``costpilot rightsize``, ``costpilot idle`` and ``costpilot models``: the waste detectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from app.context import AppContext, get_context
from app.render import console, emit_json, money
from app.settings import Settings
from domain.errors import ConfigError, InputError
from domain.money import decimal_str

GIB = 1024**3


def configured_node_prices(settings: Settings):  # type: ignore[no-untyped-def]
    """Node prices from settings (env ``COSTPILOT_RIGHTSIZING_USD_PER_VCPU_HOUR`` / ``…_GIB_HOUR``),
    used when the bill has no node rows to derive them from."""
    from tools.rightsizing.service import ConfiguredPrices

    return ConfiguredPrices(
        usd_per_vcpu_hour=settings.rightsizing_usd_per_vcpu_hour,
        usd_per_gib_hour=settings.rightsizing_usd_per_gib_hour,
    )


def _gitops_root(app_ctx: AppContext) -> Path | None:
    """The local GitOps checkout, when one is configured (read-only use)."""
    repo = app_ctx.settings.gitops_repo
    if not repo or app_ctx.settings.forge != "local":
        return None
    path = Path(repo)
    return path if path.is_dir() else None


def _until(app_ctx: AppContext) -> datetime | None:
    if app_ctx.settings.as_of is None:
        return None
    return datetime.combine(app_ctx.settings.as_of, time.min, tzinfo=UTC).replace(tzinfo=None)


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
) -> None:
    """Recommend CPU/memory requests and limits per workload container, with monthly savings."""
    from tools.rightsizing.service import rightsize_workspace

    app_ctx = get_context(ctx)
    result = rightsize_workspace(
        app_ctx.workspace.warehouse_path,
        _gitops_root(app_ctx),
        preset,
        namespace=namespace,
        overrides=_overrides(settings),
        configured=configured_node_prices(app_ctx.settings),
        until=_until(app_ctx),
    )
    if json_output:
        emit_json(result.to_json_dict())
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
) -> None:
    """Non-production workloads with near-zero usage → scale to zero outside working hours."""
    from tools.idle import IdleSettings, find_idle
    from tools.rightsizing.service import unit_prices
    from warehouse.utilization import container_usage
    from warehouse.utilization_series import warehouse_time_range

    app_ctx = get_context(ctx)
    path = app_ctx.workspace.warehouse_path
    span = warehouse_time_range(path) if path.exists() else None
    if span is None:
        from domain.errors import DataError

        raise DataError("no utilization samples; run `costpilot ingest utilization PATH` first")
    end = _until(app_ctx) or span[1] + timedelta(seconds=1)
    settings = IdleSettings(days=days)
    prices = unit_prices(path, configured_node_prices(app_ctx.settings))
    found = find_idle(container_usage(path, end - timedelta(days=days), end), settings, prices)
    total = sum((w.monthly_savings for w in found), Decimal(0))
    if json_output:
        emit_json(
            {
                "days": days,
                "window_end": end.isoformat(),
                "schedule": settings.schedule(),
                "off_hours_share": decimal_str(settings.off_hours_share),
                "prices": prices.model_dump(mode="json"),
                "total_monthly_savings": decimal_str(total),
                "workloads": [w.model_dump(mode="json") for w in found],
            }
        )
        return
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
) -> None:
    """Per LLM feature: the cheapest allow-listed model that meets its tier and context needs."""
    from tools.model_choice import choose_models, parse_routing
    from warehouse.llm_volumes import llm_data_end, token_volumes
    from warehouse.manifests import read_routing
    from warehouse.prices import find_price

    app_ctx = get_context(ctx)
    if routing is None:
        root = _gitops_root(app_ctx)
        if root is None:
            raise ConfigError(
                "no routing config: set COSTPILOT_GITOPS_REPO to a local checkout or pass --routing"
            )
        routing = root / "ai" / "routing.yaml"
    config = parse_routing(read_routing(routing), str(routing))
    path = app_ctx.workspace.warehouse_path
    end = app_ctx.settings.as_of - timedelta(days=1) if app_ctx.settings.as_of else llm_data_end(path)
    if end is None:
        from domain.errors import DataError

        raise DataError("no LLM usage rows; run `costpilot ingest llm-usage PATH` first")
    start = end - timedelta(days=days - 1)
    overrides = app_ctx.settings.prices
    choices = choose_models(config, token_volumes(path, start, end), lambda m: find_price(m, overrides), days)
    total = sum((c.monthly_savings for c in choices), Decimal(0))
    if json_output:
        emit_json(
            {
                "window": {"start": start.isoformat(), "end": end.isoformat()},
                "routing": str(routing),
                "total_monthly_savings": decimal_str(total),
                "features": [c.to_json_dict() for c in choices],
            }
        )
        return
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
