"""Periods in plain words → CLI period strings (DESIGN.md), resolved against ``today``.

Named periods the CLI knows stay named (``last-week``, ``this-month``, ``last-14d`` …) so the
answer can say "last week"; everything else becomes an explicit ``YYYY-MM`` or
``YYYY-MM-DD..YYYY-MM-DD``. Rules worth knowing:

- a month or date without a year is the most recent one not in the future ("in December" on
  2026-11-23 is 2025-12); a forecast re-reads a bare month forward (``days.forward_month_end``);
- "since Monday" starts at the most recent Monday *before* today (on a Monday: a week ago) and
  runs to today; "last Friday" / "on Friday" is that single day;
- "past week" / "past 7 days" are the last seven complete days (``last-7d``); "last week" is the
  previous ISO week (``last-week``); "last 24 hours" is ``last-1d``;
- "last 3 months" runs from the same day three months ago to yesterday;
- quarters and halves are calendar ones; "Q4" is the most recent Q4 that has started, "Q4 so
  far" stops at today;
- "the week before" / "the month before" is a *shift*: the planner moves the thread's period back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from agent.planner.days import (
    DAY,
    MAX_DAYS,
    MAX_YEAR,
    MIN_YEAR,
    MONTH_WORDS,
    ORD,
    ORDINAL_QUARTERS,
    WD,
    WEEKDAYS,
    M,
    N,
    add_months,
    month_period,
    number,
    parse_day,
    quarter_before,
    quarter_of,
    quarter_period,
    recent_day,
    recent_month,
    span,
    weekday_before,
    written_year,
)
from domain.period import parse_period

_TO = r"\s+(?:and|to|through|thru|until|till|-)\s+"
_PREP = r"(?:in|for|during|of|over|through|throughout|from|since|until|between|and|to)"
# Month words that are also English words; bare, they need a preposition or a year ("may I ask").
_AMBIGUOUS_MONTHS = {"may", "mar", "march", "jan", "jun", "dec", "sep", "oct", "nov", "aug", "apr", "feb"}
_MONTH_YEAR = re.compile(M + r"(?:\s+\d{4})?")


@dataclass(frozen=True)
class PeriodMention:
    """One period named in a question: its span in the text and the resolved days."""

    span: tuple[int, int]
    period: str  # CLI period string
    first: date
    last: date
    calendar_end: date  # end of the named unit (this month → month end), for forecasts
    kind: str  # day | week | month | quarter | year | range | rolling | future | shift
    month: int | None = None  # a bare month name (no year): forecasts read it forward
    parts: tuple[PeriodMention, PeriodMention] | None = None  # "between September and October"
    shift: str | None = None  # "the week before": day | week | month, resolved against the thread


def _days(m: re.Match[str], first: date, last: date, kind: str, end: date | None = None) -> PeriodMention:
    return PeriodMention(m.span(), span(first, last), first, last, end or last, kind)


def _month(m: re.Match[str], year: int, month: int, bare: bool = False) -> PeriodMention:
    p = month_period(year, month)
    return PeriodMention(
        m.span(), p.start.strftime("%Y-%m"), p.start, p.end, p.end, "month", month if bare else None
    )


def _named(m: re.Match[str], name: str, today: date, kind: str, end: date | None = None) -> PeriodMention:
    p = parse_period(name, today)
    return PeriodMention(m.span(), name, p.start, p.end, end or p.end, kind)


# Handlers: (match, today) → mention. ValueError (an impossible date) drops the match with a note;
# LookupError drops it silently (the words were not a period after all).
Handler = Callable[[re.Match[str], date], PeriodMention]


def _date_range(m: re.Match[str], today: date) -> PeriodMention:
    left, right = m.group("a"), m.group("b")
    last = parse_day(right, today)
    first = parse_day(left, today, year=None if written_year(left) else (written_year(right) or last.year))
    if first > last and not written_year(left):
        first = parse_day(left, today, year=last.year - 1)  # "Dec 20 to Jan 5"
    return _days(m, min(first, last), max(first, last), "range")


def _month_day_range(m: re.Match[str], today: date) -> PeriodMention:
    month = MONTH_WORDS[m.group("m")]
    d1, d2 = sorted((int(m.group("d1")), int(m.group("d2"))))
    last = date(int(m.group("y")), month, d2) if m.group("y") else recent_day(month, d2, today)
    return _days(m, date(last.year, month, d1), last, "range")


def _since(m: re.Match[str], today: date) -> PeriodMention:
    what = m.group("what")
    if what.removeprefix("last ") in WEEKDAYS:
        first = weekday_before(today, WEEKDAYS[what.removeprefix("last ")])
    elif _MONTH_YEAR.fullmatch(what):
        month_word, _, year_text = what.partition(" ")
        month = MONTH_WORDS[month_word]
        first = date(int(year_text) if year_text else recent_month(month, today), month, 1)
    elif "week" in what:
        first = today - timedelta(days=today.weekday())
    elif "month" in what:
        first = today.replace(day=1)
    elif "quarter" in what:
        first = quarter_of(today).start
    elif "year" in what:
        first = date(today.year, 1, 1)
    else:
        first = parse_day(what, today)
    return _days(m, min(first, today), today, "range")


def _month_range(m: re.Match[str], today: date) -> PeriodMention:
    def one(word: str, year_text: str | None, back: int = 0) -> PeriodMention:
        month = MONTH_WORDS[word]
        year = (int(year_text) if year_text else recent_month(month, today)) - back
        return _month(m, year, month, bare=not year_text)

    a = one(m.group("ma"), m.group("ya") or m.group("yb"))
    b = one(m.group("mb"), m.group("yb"))
    if a.first > b.first and not m.group("ya"):
        a = one(m.group("ma"), str(b.first.year), back=1)  # "from November to February"
    whole = _days(m, min(a.first, b.first), max(a.last, b.last), "range")
    return replace(whole, parts=(a, b))


def _single_day(m: re.Match[str], today: date) -> PeriodMention:
    day = parse_day(m.group("d"), today)
    return _days(m, day, day, "day")


def _quarter(m: re.Match[str], today: date) -> PeriodMention:
    q = int(m.group("q")) if m.group("q") else ORDINAL_QUARTERS[m.group("o")]
    year_text = m.group("y") or m.groupdict().get("y2")
    if year_text:
        year = int(year_text)
    else:
        year = today.year if quarter_period(today.year, q).start <= today else today.year - 1
    p = quarter_period(year, q)
    last = min(p.end, today) if m.groupdict().get("sofar") else p.end
    return _days(m, p.start, last, "quarter", p.end)


def _relative_quarter(m: re.Match[str], today: date) -> PeriodMention:
    if m.group("which") in {"last", "previous", "prior"}:
        p = quarter_before(today)
        return _days(m, p.start, p.end, "quarter")
    current = quarter_of(today)
    return _days(m, current.start, today, "quarter", current.end)


def _half(m: re.Match[str], today: date) -> PeriodMention:
    first_half = (m.group("h") or ("1" if m.group("h2") == "first" else "2")) == "1"
    if m.group("y"):
        year = int(m.group("y"))
    else:
        year = today.year if first_half or today.month >= 7 else today.year - 1
    first = date(year, 1 if first_half else 7, 1)
    return _days(m, first, date(year, 6, 30) if first_half else date(year, 12, 31), "range")


def _month_year(m: re.Match[str], today: date) -> PeriodMention:
    if m.group("m"):
        return _month(m, int(m.group("y")), MONTH_WORDS[m.group("m")])
    return _month(m, int(m.group("yy")), int(m.group("mm")))


def _bare_month(m: re.Match[str], today: date) -> PeriodMention:
    word = m.group("m")
    if word in _AMBIGUOUS_MONTHS and not m.group("prep"):
        raise LookupError(word)  # "may I ask": not a period
    month = MONTH_WORDS[word]
    year = recent_month(month, today)
    if m.group("last") and (year, month) == (today.year, today.month):
        year -= 1  # "last November" in November: a year ago
    return _month(m, year, month, bare=True)


def _weekday(m: re.Match[str], today: date) -> PeriodMention:
    wd = WEEKDAYS[m.group("wd")]
    day = today - timedelta(days=today.weekday() - wd) if m.group("this") else weekday_before(today, wd)
    return _days(m, day, day, "day")


def _rolling(m: re.Match[str], today: date) -> PeriodMention:
    n = number(m.group("n") or "1") or 0
    unit = m.group("unit").rstrip("s")
    if n < 1:
        raise ValueError("zero")
    if unit in ("month", "year") and m.group("n") is None:  # "past month", "past year"
        return _named(m, "last-30d" if unit == "month" else "last-365d", today, "rolling")
    if unit in ("month", "year"):
        first = add_months(today, -(n if unit == "month" else 12 * n))
        return _days(m, first, today - timedelta(days=1), "rolling")
    days = n * {"day": 1, "week": 7, "fortnight": 14}[unit]
    return _named(m, f"last-{min(days, MAX_DAYS)}d", today, "rolling")


def _ago(m: re.Match[str], today: date) -> PeriodMention:
    n = number(m.group("n")) or 0
    day = today - timedelta(days=min(n * (7 if m.group("unit").startswith("week") else 1), MAX_DAYS))
    return _days(m, day, day, "day")


def _fixed(name: str, kind: str) -> Handler:
    def handler(m: re.Match[str], today: date) -> PeriodMention:
        ends = {
            "this-month": month_period(today.year, today.month).end,
            "this-week": today + timedelta(days=6 - today.weekday()),
        }
        return _named(m, name, today, kind, ends.get(name))

    return handler


def _before_last(m: re.Match[str], today: date) -> PeriodMention:
    text = m.group(0)
    if "day" in text:
        day = today - timedelta(days=2)
        return _days(m, day, day, "day")
    if "week" in text:
        monday = today - timedelta(days=today.weekday() + 14)
        return _days(m, monday, monday + timedelta(days=6), "week")
    first = add_months(today.replace(day=1), -2)
    return _month(m, first.year, first.month)


def _year(offset: int) -> Handler:
    def handler(m: re.Match[str], today: date) -> PeriodMention:
        year = today.year + offset
        return _days(m, date(year, 1, 1), date(year, 12, 31) if offset else today, "year", date(year, 12, 31))

    return handler


def _weekend(m: re.Match[str], today: date) -> PeriodMention:
    saturday = weekday_before(today, 5)
    return _days(m, saturday, min(saturday + timedelta(days=1), today), "range", saturday + timedelta(days=1))


def _year_named(m: re.Match[str], today: date) -> PeriodMention:
    year = int(m.group("y"))
    return _days(m, date(year, 1, 1), date(year, 12, 31), "year")


def _next(m: re.Match[str], today: date) -> PeriodMention:
    """ "next 14 days", "next month": spans after today, for forecasts."""
    n = number(m.group("n")) if m.group("n") else 1
    unit = m.group("unit").rstrip("s")
    if n is None or n < 1:
        raise ValueError(m.group(0))
    if unit in ("day", "week"):
        first, last = (
            today + timedelta(days=1),
            today + timedelta(days=min(n * (7 if unit == "week" else 1), MAX_DAYS)),
        )
    elif unit == "month" and not m.group("n"):
        p = month_period(add_months(today, 1).year, add_months(today, 1).month)
        first, last = p.start, p.end
    elif unit == "month":
        first, last = today + timedelta(days=1), add_months(today, n)
    elif unit == "quarter":
        p = quarter_of(quarter_of(today).end + timedelta(days=1))
        first, last = p.start, p.end
    else:
        first, last = date(today.year + 1, 1, 1), date(today.year + 1, 12, 31)
    return _days(m, first, last, "future")


def _end_of(m: re.Match[str], today: date) -> PeriodMention:
    """ "end of the month", "month-end", "rest of the month": today to the end of that unit."""
    what = m.group(0)
    if "quarter" in what:
        last = quarter_of(today).end
    elif "year" in what or "eoy" in what:
        last = date(today.year, 12, 31)
    else:
        last = month_period(today.year, today.month).end
    return _days(m, today, last, "future")


def _shift(m: re.Match[str], today: date) -> PeriodMention:
    unit = m.group("unit") or m.group("unit2")
    mention = _named(
        m, {"day": "yesterday", "week": "last-week", "month": "last-month"}[unit], today, "shift"
    )
    return replace(mention, shift=unit)


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + pattern + r"(?![\w-])")


# In priority order: an earlier pattern's match wins over an overlapping later one.
PATTERNS: tuple[tuple[re.Pattern[str], Handler], ...] = (
    (_r(r"(?P<a>\d{4}-\d{2}-\d{2})\.\.(?P<b>\d{4}-\d{2}-\d{2})"), _date_range),
    (_r(r"(?:(?:between|from)\s+)?(?:the\s+)?(?P<a>" + DAY + r")" + _TO + r"(?:the\s+)?(?P<b>" + DAY + ")"), _date_range),
    (_r(r"(?:(?:between|from)\s+)?(?P<m>" + M + r")\s+(?P<d1>\d{1,2})" + ORD + r"\s*(?:-|to|through|until|and)\s*(?P<d2>\d{1,2})" + ORD + r"(?:\s+(?P<y>\d{4}))?"), _month_day_range),
    (_r(r"since\s+(?:the\s+)?(?P<what>" + DAY + r"|(?:last\s+)?" + WD + r"|" + M + r"(?:\s+\d{4})?|(?:the\s+)?(?:start|beginning)\s+of\s+(?:the\s+|this\s+)?(?:week|month|quarter|year))"), _since),
    (_r(r"(?:between|from)\s+(?P<ma>" + M + r")(?:\s+(?P<ya>\d{4}))?" + _TO + r"(?P<mb>" + M + r")(?:\s+(?P<yb>\d{4}))?"), _month_range),
    (_r(r"(?:the\s+)?(?:day|week|month)\s+before\s+last|(?:the\s+)?day\s+before\s+yesterday"), _before_last),
    (_r(r"(?:on\s+)?(?:the\s+)?(?P<d>" + DAY + ")"), _single_day),
    (_r(r"(?:the\s+)?(?P<o>first|1st|second|2nd|third|3rd|fourth|4th)\s+quarter(?:\s+(?:of\s+)?(?P<y>\d{4}))?(?P<q>)?"), _quarter),
    (_r(r"(?:(?P<y2>\d{4})\s+)?q(?P<q>[1-4])(?:\s+(?P<y>\d{4}))?(?P<o>)?(?:\s+(?P<sofar>so\s+far|to\s+date))?"), _quarter),
    (_r(r"(?:the\s+)?(?:h(?P<h>[12])|(?P<h2>first|second)\s+half)(?:\s+(?:of\s+)?(?P<y>\d{4}))?"), _half),
    (_r(r"(?P<which>this|current|last|previous|prior)\s+quarter|quarter\s+to\s+date|qtd"), _relative_quarter),
    (_r(r"(?P<m>" + M + r")\s+(?P<y>\d{4})|(?P<yy>\d{4})[-/](?P<mm>0[1-9]|1[0-2])"), _month_year),
    (_r(r"(?:the\s+)?(?:previous|prior)\s+(?P<unit>day|week|month)|(?:the\s+)?(?P<unit2>day|week|month)\s+before(?:\s+that)?"), _shift),
    (_r(r"(?:so\s+far\s+)?today|today\s+so\s+far"), _fixed("today", "day")),
    (_r(r"yesterday"), _fixed("yesterday", "day")),
    (_r(r"(?:in\s+|over\s+|for\s+)?(?:the\s+)?(?:last|past)\s+(?:24|twenty[- ]four)\s+hours"), _fixed("last-1d", "day")),
    (_r(r"(?:so\s+far\s+)?(?:this|current)\s+week(?:\s+so\s+far)?|week\s+to\s+date|wtd"), _fixed("this-week", "week")),
    (_r(r"(?:last|previous|prior)\s+week"), _fixed("last-week", "week")),
    (_r(r"(?:so\s+far\s+)?(?:this|current)\s+month(?:\s+so\s+far)?|month\s+to\s+date|mtd"), _fixed("this-month", "month")),
    (_r(r"(?:last|previous|prior)\s+month"), _fixed("last-month", "month")),
    (_r(r"(?:so\s+far\s+)?this\s+year|(?:the\s+)?current\s+year|year\s+to\s+date|ytd"), _year(0)),
    (_r(r"(?:last|previous|prior)\s+year"), _year(-1)),
    (_r(r"(?:over\s+)?(?:the\s+|last\s+|this\s+)weekend"), _weekend),
    (_r(r"next\s+(?:(?P<n>" + N + r")\s+)?(?P<unit>days?|weeks?|months?|quarter|year)"), _next),
    (_r(r"(?:the\s+)?(?:end\s+of\s+(?:the\s+)?(?:this\s+)?(?:month|quarter|year)|month[-\s]end|quarter[-\s]end|year[-\s]end|eom|eoy|rest\s+of\s+(?:the\s+)?(?:this\s+)?month)"), _end_of),
    (_r(r"(?:the\s+|in\s+the\s+|over\s+the\s+|for\s+the\s+)?(?:last|past|previous|prior|trailing)\s+(?P<n>" + N + r")?\s*(?P<unit>days?|weeks?|fortnights?|months?|years?)"), _rolling),
    (_r(r"(?P<n>" + N + r")\s+(?P<unit>days?|weeks?)\s+ago"), _ago),
    (_r(r"(?:(?P<prep>" + _PREP + r")\s+(?:the\s+month\s+of\s+)?)?(?P<last>last\s+)?(?P<m>" + M + ")"), _bare_month),
    (_r(r"(?:on\s+|last\s+|(?P<this>this\s+))?(?P<wd>" + WD + ")"), _weekday),
    (_r(r"(?:in|for|during|of)\s+(?P<y>20\d{2}|19\d{2})"), _year_named),
)  # fmt: skip


def find_periods(text: str, today: date) -> tuple[list[PeriodMention], list[str]]:
    """Every period named in ``text`` (normalised), in order of appearance, plus notes."""
    taken: list[tuple[int, int]] = []
    found: list[PeriodMention] = []
    notes: list[str] = []
    for pattern, handler in PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span()
            if start == end or any(start < b and a < end for a, b in taken):
                continue
            try:
                mention = handler(m, today)
            except LookupError:
                continue
            except (ValueError, OverflowError):
                notes.append(f"{m.group(0)!r} is not a period I can use")
                taken.append((start, end))
                continue
            taken.append((start, end))
            if mention.first.year < MIN_YEAR or mention.last.year > MAX_YEAR:
                notes.append(f"{m.group(0)!r} is outside the years {MIN_YEAR}..{MAX_YEAR}")
                continue
            found.append(mention)
    found.sort(key=lambda p: p.span)
    return found, notes
