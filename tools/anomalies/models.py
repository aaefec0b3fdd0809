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


class AnomalyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    anomalies: list[Anomaly]
    status: Status
    season: int = Field(description="points per season used for the same-position median")
    series_checked: int
    notes: list[str] = Field(default_factory=list)
    currency: str | None = None
    settings: DetectorSettings
    provenance: Provenance
