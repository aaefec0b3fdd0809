"""What the forecast tool answers (JSON: {"forecasts": [...], ...})."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.money import Money
from domain.provenance import Provenance
from tools.anomalies.detect import Status


class ForecastPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    date: date
    mean: Money
    lo80: Money
    hi80: Money
    lo95: Money
    hi95: Money


class Projection(BaseModel):
    """Spend over a whole period (a month by default): actual final days + forecast for the rest."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    actual_through: date | None = Field(description="last final day counted as actual (None: none in period)")
    actual_to_date: Money
    projected: Money
    lo80: Money
    hi80: Money
    budget: Money | None = Field(None, description="the amount checked for crossing (forecast --budget)")
    note: str | None = Field(None, description="e.g. no data since a day inside the period")
    budget_crossed_on: date | None = Field(None, description="first day cumulative spend reaches budget")
    # Per-day path (actual, then forecast mean) for budget crossing dates; not part of the JSON.
    path: tuple[tuple[date, Decimal], ...] = Field(default=(), exclude=True)

    def crossing_date(self, amount: Decimal) -> date | None:
        """First day the cumulative spend (actual, then forecast) reaches ``amount``."""
        total = Decimal(0)
        for day, value in self.path:
            total += value
            if total >= amount:
                return day
        return None


class SeriesForecast(BaseModel):
    model_config = ConfigDict(frozen=True)

    series: dict[str, str]
    model: str = Field(description="ets(A,Ad,A), seasonal-naive, or none (not enough data)")
    status: Status
    note: str | None = None
    history_days: int
    points: list[ForecastPoint]
    month_end: Projection | None


class ForecastReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    forecasts: list[SeriesForecast]
    as_of: date
    last_final_day: date = Field(description="the model is fitted through this day")
    left_out: list[date] = Field(
        description="days not yet final (as-of day, half-loaded eve), forecast instead"
    )
    no_data_since: date | None = Field(None, description="first day of a gap without any cost rows")
    forecast_start: date | None = Field(None, description="date of the first daily point")
    horizon: int
    currency: str | None
    notes: list[str] = Field(default_factory=list)
    provenance: Provenance
