"""What the anomaly tool answers (JSON: {"anomalies": [...], "status", "notes", "provenance"})."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.money import Money
from domain.provenance import Provenance
from tools.anomalies.detect import DetectorSettings, Status
from tools.anomalies.root_causes import RootCause


class Anomaly(BaseModel):
    """One anomalous run of one series; money rounded to cents, impact = actual - expected."""

    model_config = ConfigDict(frozen=True)

    series: dict[str, str] = Field(description="the series' dimension values (or {'series': file name})")
    start: date | datetime
    end: date | datetime = Field(description="last anomalous point, inclusive")
    expected: Money
    actual: Money
    impact: Money
    impact_pct: float | None = Field(description="impact in % of expected; None when expected is 0")
    score: float = Field(description="largest robust score in the run (σ units)")
    direction: str = Field(description="up (cost rose) or down")
    root_causes: list[RootCause] = Field(default_factory=list)


class BudgetBurn(BaseModel):
    """A budget burning too fast (check 3 of DESIGN.md): projected overrun or ahead of pace."""

    model_config = ConfigDict(frozen=True)

    scope: str
    period_kind: str
    period_start: date
    period_end: date
    amount: Money
    spent: Money
    projected: Money | None
    pct_used: float = Field(description="spent / amount × 100")
    pct_elapsed: float = Field(description="share of the period's days before the as-of day × 100")
    crossed_on: date | None = Field(description="day the amount is (or is forecast to be) reached")
    reasons: list[str] = Field(description="projected overrun and/or ahead of pace, in words")


class AnomalyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    anomalies: list[Anomaly]
    status: Status
    season: int = Field(description="points per season used for the same-position median")
    series_checked: int
    notes: list[str] = Field(default_factory=list)
    budget_burn: list[BudgetBurn] = Field(
        default_factory=list, description="stored budgets projected to overrun or ahead of pace"
    )
    currency: str | None = None
    settings: DetectorSettings
    provenance: Provenance
