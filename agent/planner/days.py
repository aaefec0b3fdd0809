"""Calendar arithmetic and written days for the period parser: months, quarters, weekdays, numbers."""

from __future__ import annotations

import re
from datetime import date, timedelta

from domain.period import Period, parse_period

MONTH_WORDS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "ninety": 90, "couple of": 2, "a couple of": 2, "few": 3, "a few": 3,
}  # fmt: skip
ORDINAL_QUARTERS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
MAX_DAYS = 3650
# Years a question may name; outside them a "date" is noise (and date arithmetic would overflow).
MIN_YEAR, MAX_YEAR = 1990, 2999

# Regex fragments over normalised text.
M = r"(?:" + "|".join(sorted(MONTH_WORDS, key=len, reverse=True)) + r")"
WD = r"(?:" + "|".join(WEEKDAYS) + r")"
N = r"(?:\d{1,5}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
ORD = r"(?:st|nd|rd|th)?"
DAY = (
    r"(?:\d{4}-\d{2}-\d{2}|" + M + r"\s+\d{1,2}" + ORD + r"(?:\s+\d{4})?(?!\d)"
    r"|\d{1,2}" + ORD + r"\s+(?:of\s+)?" + M + r"(?:\s+\d{4})?(?!\d))"
)

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_FIRST = re.compile(r"(" + M + r")\s+(\d{1,2})" + ORD + r"(?:\s+(\d{4}))?")
_DAY_FIRST = re.compile(r"(\d{1,2})" + ORD + r"\s+(?:of\s+)?(" + M + r")(?:\s+(\d{4}))?")
_TRAILING_YEAR = re.compile(r"(\d{4})(?:-\d{2}-\d{2})?\s*$")


def number(text: str) -> int | None:
    """ "14" or "fourteen" → 14; None for anything else."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS.get(text)


def month_period(year: int, month: int) -> Period:
    start = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return Period(start=start, end=nxt - timedelta(days=1))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to a shorter month's last day."""
    year, index = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = month_period(year, index + 1).end.day
    return date(year, index + 1, min(day.day, last))


def quarter_period(year: int, quarter: int) -> Period:
    start = date(year, 3 * quarter - 2, 1)
    return Period(start=start, end=month_period(year, 3 * quarter).end)


def quarter_of(day: date) -> Period:
    return quarter_period(day.year, (day.month - 1) // 3 + 1)


def quarter_before(day: date) -> Period:
    """The calendar quarter before the one ``day`` is in."""
    year, index = divmod(day.year * 4 + (day.month - 1) // 3 - 1, 4)
    return quarter_period(year, index + 1)


def recent_month(month: int, today: date) -> int:
    """The year of the most recent ``month`` that has started by ``today``."""
    return today.year if month <= today.month else today.year - 1


def recent_day(month: int, day: int, today: date) -> date:
    candidate = date(today.year, month, day)
    return candidate if candidate <= today else date(today.year - 1, month, day)


def weekday_before(today: date, weekday: int) -> date:
    """The most recent ``weekday`` strictly before ``today``."""
    back = (today.weekday() - weekday) % 7 or 7
    return today - timedelta(days=back)


def parse_day(text: str, today: date, year: int | None = None) -> date:
    """One written day ("2026-10-01", "oct 1st 2026", "1 of october"); ValueError if none.

    Without a year: ``year`` if given, else the most recent such day not after ``today``.
    """
    text = text.strip()
    if _ISO_DAY.fullmatch(text):
        return date.fromisoformat(text)
    m = _MONTH_FIRST.fullmatch(text)
    if m:
        month_word, day_text, year_text = m.groups()
    else:
        m = _DAY_FIRST.fullmatch(text)
        if not m:
            raise ValueError(text)
        day_text, month_word, year_text = m.groups()
    month, day = MONTH_WORDS[month_word], int(day_text)
    if year_text:
        return date(int(year_text), month, day)
    if year is not None:
        return date(year, month, day)
    return recent_day(month, day, today)


def written_year(text: str) -> int | None:
    """The year a written day ends with ("oct 14 2026" → 2026), if any."""
    found = _TRAILING_YEAR.search(text.strip())
    return int(found.group(1)) if found else None


def span(first: date, last: date) -> str:
    """The CLI period string of whole days ``first``..``last``."""
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def shift_back(period: str, unit: str, today: date) -> str:
    """The ``unit`` (day / week / month) just before a thread's ``period`` ("the week before")."""
    p = parse_period(period, today)
    if unit == "day":
        return (p.start - timedelta(days=1)).isoformat()
    if unit == "week":
        return span(p.start - timedelta(days=7), p.start - timedelta(days=1))
    return add_months(p.start.replace(day=1), -1).strftime("%Y-%m")


def forward_month_end(month: int, today: date) -> date:
    """The end of the next ``month`` that has not ended yet ("forecast for December")."""
    year = today.year if month >= today.month else today.year + 1
    return month_period(year, month).end
