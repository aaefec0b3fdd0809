from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InputError
from domain.period import Period, parse_period

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("yesterday", date(2026, 11, 22), date(2026, 11, 22)),
        ("today", TODAY, TODAY),
        ("last-7d", date(2026, 11, 16), date(2026, 11, 22)),
        ("last-30d", date(2026, 10, 24), date(2026, 11, 22)),
        ("last-week", date(2026, 11, 16), date(2026, 11, 22)),
        ("this-month", date(2026, 11, 1), TODAY),
        ("last-month", date(2026, 10, 1), date(2026, 10, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026-11-01..2026-11-03", date(2026, 11, 1), date(2026, 11, 3)),
        ("2026-11-05", date(2026, 11, 5), date(2026, 11, 5)),
        ("  Last-Week ", date(2026, 11, 16), date(2026, 11, 22)),
    ],
)
def test_named_periods(text: str, start: date, end: date) -> None:
    assert parse_period(text, TODAY) == Period(start=start, end=end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "month must be 01..12"),
        ("2026-11-05..2026-11-01", "ends before it starts"),
        ("2026-11-31", "is not a date"),
        ("fortnight", "unknown period 'fortnight'"),
        ("last-0d", "at least one day"),
    ],
)
def test_bad_periods_say_why(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_period(text, TODAY)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_last_week_is_the_previous_iso_week(today: date) -> None:
    period = parse_period("last-week", today)
    assert period.start.weekday() == 0 and period.end.weekday() == 6
    assert period.days == 7
    assert period.end < today <= period.end + timedelta(days=7)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_last_month_covers_the_whole_previous_month(today: date) -> None:
    period = parse_period("last-month", today)
    assert period.start.day == 1
    assert period.end + timedelta(days=1) == today.replace(day=1)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(min_value=0, max_value=400),
)
def test_explicit_range_round_trips(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    period = parse_period(f"{start}..{end}", TODAY)
    assert period.days == length + 1
    assert parse_period(period.label(), TODAY) == period
    assert period.previous().end + timedelta(days=1) == period.start
