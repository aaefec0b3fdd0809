"""Reporting periods: parsed from the CLI/agent vocabulary, always whole UTC days, end included."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, model_validator

from domain.errors import InputError
from domain.period_help import PERIOD_HELP

__all__ = ["PERIOD_HELP", "Period", "parse_period", "today_utc"]


class Period(BaseModel):
    """Whole days from ``start`` to ``end``, both included (UTC)."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_ts(self) -> datetime:
        """First instant of the period (UTC, naive as stored in the warehouse)."""
        return datetime.combine(self.start, time.min)

    @property
    def end_ts_exclusive(self) -> datetime:
        """First instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    def previous(self) -> Period:
        """The period of the same length right before this one (for period-over-period change)."""
        length = timedelta(days=self.days)
        return Period(start=self.start - length, end=self.end - length)

    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def today_utc() -> date:
    return datetime.now(UTC).date()


def _month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return Period(start=start, end=nxt - timedelta(days=1))


def _parse_day(text: str, whole: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"period {whole!r}: {text!r} is not a date (YYYY-MM-DD)") from None


_LAST_N_DAYS = re.compile(r"last-(\d{1,4})d")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_period(text: str, today: date) -> Period:
    """Parse a period name relative to ``today`` (the --as-of day). Raises InputError."""
    raw = text.strip().lower()
    if raw == "today":
        return Period(start=today, end=today)
    if raw == "yesterday":
        day = today - timedelta(days=1)
        return Period(start=day, end=day)
    if m := _LAST_N_DAYS.fullmatch(raw):
        n = int(m.group(1))
        if n < 1:
            raise InputError(f"period {text!r}: needs at least one day")
        # The last N complete days, ending yesterday.
        return Period(start=today - timedelta(days=n), end=today - timedelta(days=1))
    if raw == "last-week":
        this_monday = today - timedelta(days=today.weekday())
        return Period(start=this_monday - timedelta(days=7), end=this_monday - timedelta(days=1))
    if raw == "this-week":
        return Period(start=today - timedelta(days=today.weekday()), end=today)
    if raw == "this-month":
        return Period(start=today.replace(day=1), end=today)
    if raw == "last-month":
        first = today.replace(day=1)
        prev_last = first - timedelta(days=1)
        return _month(prev_last.year, prev_last.month)
    if m := _MONTH.fullmatch(raw):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise InputError(f"period {text!r}: month must be 01..12")
        return _month(year, month)
    if ".." in raw:
        left, _, right = raw.partition("..")
        start, end = _parse_day(left, text), _parse_day(right, text)
        if end < start:
            raise InputError(f"period {text!r}: ends before it starts")
        return Period(start=start, end=end)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        day = _parse_day(raw, text)
        return Period(start=day, end=day)
    raise InputError(f"unknown period {text!r}; use one of: {PERIOD_HELP}")
