"""Spend, movers, unit costs, anomalies and forecasts over the cost warehouse.

Each function takes its request model and ``Deps`` and returns the tool's result model (with
provenance); the CLI, Slack, MCP and the agent call these through ``services.registry.TOOLS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from services.deps import Deps
from services.requests import (
    AnomaliesRequest,
    ForecastRequest,
    MoversRequest,
    SpendRequest,
    UnitCostsRequest,
)

if TYPE_CHECKING:  # each operation imports only its own tool (a spend query never loads pandas)
    from tools.anomalies import AnomalyReport, DetectorSettings
    from tools.forecast.models import ForecastReport
    from tools.movers import MoversResult
    from tools.spend import SpendResult
    from tools.unit_costs import UnitCostsResult


def spend(request: SpendRequest, deps: Deps) -> SpendResult:
    from tools.spend import spend as compute

    result = compute(
        deps.backend,
        deps.period(request.period),
        by=request.by,
        filters=request.filters,
        measure=request.measure,
    )
    if request.top is not None and len(result.rows) > request.top:
        result = result.model_copy(update={"rows": result.rows[: request.top]})
    return result


def movers(request: MoversRequest, deps: Deps) -> MoversResult:
    from tools.movers import movers as compute

    compare = deps.period(request.compare) if request.compare else None
    return compute(
        deps.backend,
        deps.period(request.period),
        request.by,
        compare=compare,
        filters=request.filters,
        top=request.top,
    )


def unit_costs(request: UnitCostsRequest, deps: Deps) -> UnitCostsResult:
    from tools.unit_costs import unit_costs as compute

    return compute(deps.backend, deps.period(request.period), filters=request.filters)


def detector_settings(request: AnomaliesRequest) -> DetectorSettings:
    from tools.anomalies import DetectorSettings, ThresholdRule

    return DetectorSettings(
        z_threshold=request.z,
        direction=request.direction,
        volatility=request.volatility,
        rule=ThresholdRule(
            absolute=request.threshold_abs,
            percent=None if request.threshold_pct is None else float(request.threshold_pct),
            combine=request.combine,
            min_impact=request.min_impact,
        ),
    )


def anomalies(request: AnomaliesRequest, deps: Deps) -> AnomalyReport:
    """Anomalous spend per series (or in one ``timestamp,value`` file), with budget burn."""
    from tools.anomalies import find_anomalies, find_series_anomalies

    settings = detector_settings(request)
    if request.series is not None:
        return find_series_anomalies(
            Path(request.series), settings, timezone=request.timezone, aggregate=request.aggregate
        )
    report = find_anomalies(
        deps.backend,
        deps.period(request.period),
        request.by,
        request.filters,
        settings,
        baseline=request.baseline,
        drill_down=request.drill_down,
    )
    return _with_budget_burn(report, deps)


def _with_budget_burn(report: AnomalyReport, deps: Deps) -> AnomalyReport:
    """Check 3 (budget burn): stored budgets, as of today, projected to overrun or ahead of pace."""
    if not deps.has_state:
        return report
    from store.budgets import list_budgets
    from tools.budgets import budget_status, burn_findings

    records = list_budgets(deps.engine)
    if not records:
        return report
    burn = burn_findings(budget_status(deps.backend, records, deps.today))
    return report.model_copy(update={"budget_burn": burn})


def forecast(request: ForecastRequest, deps: Deps) -> ForecastReport:
    from tools.forecast import forecast_spend

    return forecast_spend(
        deps.backend,
        deps.today,
        request.by,
        request.filters,
        request.horizon,
        request.history_days,
        request.engine,
        budget=request.budget,
    )
