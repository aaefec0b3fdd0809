"""Spend forecasts: numpy ETS(A,Ad,A) with analytic intervals, seasonal-naive fallback, backtests."""

from tools.forecast.backtest import BacktestResult, backtest
from tools.forecast.engines import ENGINES, ForecastArrays, forecast_arrays
from tools.forecast.models import ForecastPoint, ForecastReport, Projection, SeriesForecast
from tools.forecast.service import final_days, forecast_spend, month_of

__all__ = [
    "ENGINES",
    "BacktestResult",
    "ForecastArrays",
    "ForecastPoint",
    "ForecastReport",
    "Projection",
    "SeriesForecast",
    "backtest",
    "final_days",
    "forecast_arrays",
    "forecast_spend",
    "month_of",
]
