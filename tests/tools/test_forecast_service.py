"""Forecasts over the warehouse: final days, month-end projection, crossing dates, bad input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from domain.errors import DataError, InputError
from domain.money import round_cents
from domain.period import Period
from tests.tools.conftest import exact_cost
from tools.forecast import Projection, final_days, forecast_spend, month_of
from tools.forecast.service import data_gap


def rows_frame(rows_per_day: dict[date, int]) -> pd.DataFrame:
    return pd.DataFrame({"day": list(rows_per_day), "rows": list(rows_per_day.values()), "cost": Decimal(1)})


def test_the_as_of_day_and_a_half_loaded_yesterday_are_left_out() -> None:
    as_of = date(2026, 4, 21)
    days = {as_of - timedelta(days=i): 100 for i in range(2, 12)}
    full = rows_frame({**days, as_of - timedelta(days=1): 90})
    # The as-of day itself is always in progress.
    assert final_days(full, as_of) == (date(2026, 4, 20), [as_of])
    half = rows_frame({**days, as_of - timedelta(days=1): 30})
    assert final_days(half, as_of) == (date(2026, 4, 19), [date(2026, 4, 20), as_of])
    # Yesterday with no rows at all: the usual billing lag, still "not final".
    lag = rows_frame(days)
    assert final_days(lag, as_of) == (date(2026, 4, 19), [date(2026, 4, 20), as_of])
    assert data_gap(date(2026, 4, 19), as_of) == []
    # Data that stopped earlier: a gap ("no data since"), only the as-of day is not final.
    old = rows_frame({d - timedelta(days=5): n for d, n in days.items()})
    assert final_days(old, as_of) == (date(2026, 4, 14), [as_of])
    assert data_gap(date(2026, 4, 14), as_of) == [date(2026, 4, 15) + timedelta(days=i) for i in range(6)]


def test_forecast_by_team_with_month_end(backend, synthetic_rows_list) -> None:  # type: ignore[no-untyped-def]
    report = forecast_spend(
        backend, date(2026, 4, 15), ["team"], {"service": ["Amazon EC2", "Amazon S3"]}, horizon=10
    )
    assert report.last_final_day == date(2026, 4, 14) and report.left_out == [date(2026, 4, 15)]
    assert report.horizon == 10 and report.notes == ["left out 2026-04-15: not final yet"]
    assert {tuple(f.series.items()) for f in report.forecasts} == {
        (("team", t),) for t in ("payments", "search", "ml")
    }
    ml = next(f for f in report.forecasts if f.series == {"team": "ml"})
    assert ml.model == "ets(A,Ad,A)" and ml.status == "ok" and ml.note is None and ml.history_days == 104
    assert [p.date for p in ml.points] == [date(2026, 4, 15) + timedelta(days=i) for i in range(10)]
    for p in ml.points:
        assert 0 <= p.lo95 <= p.lo80 <= p.mean <= p.hi80 <= p.hi95
    # Weekend dip carried into the forecast (seasonality): Saturday below Wednesday.
    by_day = {p.date: p.mean for p in ml.points}
    assert by_day[date(2026, 4, 18)] < by_day[date(2026, 4, 15)] * Decimal("0.8")
    month = ml.month_end
    assert month is not None and (month.start, month.end, month.actual_through) == (
        date(2026, 4, 1), date(2026, 4, 30), date(2026, 4, 14))  # fmt: skip
    want = exact_cost(
        synthetic_rows_list,
        lambda r: '"ml"' in r["Tags"] and "2026-04-01" <= r["ChargePeriodStart"][:10] <= "2026-04-14",
    )
    assert month.actual_to_date == round_cents(want)
    assert month.lo80 < month.projected < month.hi80
    truth = exact_cost(
        synthetic_rows_list, lambda r: '"ml"' in r["Tags"] and r["ChargePeriodStart"][:7] == "2026-04"
    )
    assert abs(month.projected - truth) / truth < Decimal("0.05")
    assert report.provenance.tool == "forecast" and report.provenance.filters == {
        "service": "Amazon EC2,Amazon S3"
    }


def test_json_shape(backend) -> None:  # type: ignore[no-untyped-def]
    doc = forecast_spend(backend, date(2026, 4, 15), [], horizon=2).model_dump(mode="json")
    point = doc["forecasts"][0]["points"][0]
    assert set(point) == {"date", "mean", "lo80", "hi80", "lo95", "hi95"} and isinstance(point["mean"], str)
    assert {"actual_to_date", "projected", "lo80", "hi80"} <= set(doc["forecasts"][0]["month_end"])
    assert "path" not in doc["forecasts"][0]["month_end"]
    assert doc["forecasts"][0]["series"] == {} and doc["forecasts"][0]["model"] == "ets(A,Ad,A)"


def test_short_history_falls_back_and_says_so(backend) -> None:  # type: ignore[no-untyped-def]
    report = forecast_spend(backend, date(2026, 1, 16), ["team"], horizon=3)
    assert {f.model for f in report.forecasts} == {"seasonal-naive"}
    assert "seasonal naive: only 15 days of history" in (report.forecasts[0].note or "")
    tiny = forecast_spend(backend, date(2026, 1, 5), [], horizon=3)
    only = tiny.forecasts[0]
    assert (only.model, only.status, only.points, only.month_end) == ("none", "insufficient_data", [], None)
    assert "not enough data: 4 days" in (only.note or "")


def test_crossing_date_walks_actual_then_forecast() -> None:
    path = tuple((date(2026, 4, d), Decimal(100)) for d in range(1, 31))
    projection = Projection(start=date(2026, 4, 1), end=date(2026, 4, 30), actual_through=date(2026, 4, 10),
                            actual_to_date=Decimal(1000), projected=Decimal(3000), lo80=Decimal(2900),
                            hi80=Decimal(3100), path=path)  # fmt: skip
    assert projection.crossing_date(Decimal(1000)) == date(2026, 4, 10)
    assert projection.crossing_date(Decimal(2050)) == date(2026, 4, 21)
    assert projection.crossing_date(Decimal(5000)) is None
    assert month_of(date(2024, 2, 10)) == Period(start=date(2024, 2, 1), end=date(2024, 2, 29))


def test_bad_input(backend) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="no cost rows in .* to forecast from"):
        forecast_spend(backend, date(2020, 1, 1), ["team"])
    with pytest.raises(InputError, match="horizon 0"):
        forecast_spend(backend, date(2026, 4, 15), [], horizon=0)
    with pytest.raises(InputError, match="unknown dimension 'colour'"):
        forecast_spend(backend, date(2026, 4, 15), ["colour"])
    with pytest.raises(DataError, match="team=nobody"):
        forecast_spend(backend, date(2026, 4, 15), [], {"team": ["nobody"]})


def test_stale_data_says_no_data_since_and_starts_at_the_as_of_day(backend) -> None:  # type: ignore[no-untyped-def]
    """Data ends 2026-04-30; as of 2026-06-10 the gap is named, not called "not final"."""
    as_of = date(2026, 6, 10)
    report = forecast_spend(backend, as_of, horizon=5)
    assert report.last_final_day == date(2026, 4, 30) and report.left_out == [as_of]
    assert report.no_data_since == date(2026, 5, 1) and report.forecast_start == as_of
    assert report.notes[0].startswith("no data since 2026-05-01 (40 days without cost rows up to 2026-06-09")
    assert report.notes[1] == "left out 2026-06-10: not final yet"
    total = report.forecasts[0]
    assert [p.date for p in total.points] == [as_of + timedelta(days=i) for i in range(5)]
    month = total.month_end
    assert month is not None and month.actual_through is None and month.actual_to_date == 0
    assert month.note == "no data since 2026-05-01: no actual data in this period, all of it is forecast"
    assert month.projected > 0
    # Inside the month where data stops, actual_to_date is what there is, and it says so.
    may = forecast_spend(backend, date(2026, 5, 20), horizon=3).forecasts[0].month_end
    assert may is not None and may.note is not None and "no data since 2026-05-01" in may.note
