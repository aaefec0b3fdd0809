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
    found_in: dict[str, str] | None = Field(
        None,
        description="the line one level below the series where the run was found (e.g. {'service': …}); "
        "expected is then the series with that line at its own expected value",
    )


class NonUsageCharge(BaseModel):
    """Credits, corrections (refunds), adjustments and taxes of one series: not in the baseline."""

    model_config = ConfigDict(frozen=True)

    series: dict[str, str]
    charge: str = Field(description="Credit | Correction (refunds, restatements) | Adjustment | Tax | …")
    amount: Money = Field(description="total over the checked period (credits and refunds are negative)")
    days: int = Field(description="days with such charges")
    first_day: date
    last_day: date
    largest_day: date = Field(description="the day with the largest absolute amount")
    largest_amount: Money


class TagHygiene(BaseModel):
    """Untagged spend that jumped: usually a resource that lost its tags, not a cost spike."""

    model_config = ConfigDict(frozen=True)

    series: dict[str, str]
    found_in: dict[str, str] | None = None
    start: date
    end: date
    expected: Money
    actual: Money
    impact: Money
    impact_pct: float | None
    likely_from: list[dict[str, str]] = Field(
        default_factory=list, description="tagged series that dropped by a similar amount at the same time"
    )
    resources: list[RootCause] = Field(default_factory=list, description="where the untagged spend sits")


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
    baseline: str = Field("usage", description="usage: credits, refunds, adjustments, taxes left out")
    non_usage: list[NonUsageCharge] = Field(
        default_factory=list, description="charges left out of the baseline, largest first"
    )
    tag_hygiene: list[TagHygiene] = Field(
        default_factory=list, description="jumps of untagged spend, reported apart from anomalies"
    )
    drill_dimension: str | None = Field(None, description="dimension checked one level below --by")
    settings: DetectorSettings
    provenance: Provenance
