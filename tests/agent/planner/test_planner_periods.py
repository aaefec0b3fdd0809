"""Periods in words → CLI period strings, and the typo/normalisation layer under them."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from planner_calls import MID, MON

from agent.planner.days import add_months, shift_back
from agent.planner.periods import find_periods
from agent.planner.text import Lexicon, normalise, tokenise
from domain.period import parse_period

PERIODS: list[tuple[str, date, list[str]]] = [
    ("yesterday", MON, ["yesterday"]),
    ("today", MON, ["today"]),
    ("last week", MON, ["last-week"]),
    ("this week", MON, ["this-week"]),
    ("this month", MON, ["this-month"]),
    ("last month", MON, ["last-month"]),
    ("in October", MON, ["2026-10"]),
    ("October 2026", MON, ["2026-10"]),
    ("in december", MON, ["2025-12"]),
    ("in november", MID, ["2026-11"]),
    ("last november", MON, ["2025-11"]),
    ("Q3", MON, ["2026-07-01..2026-09-30"]),
    ("Q3 2026", MON, ["2026-07-01..2026-09-30"]),
    ("2025 q2", MON, ["2025-04-01..2025-06-30"]),
    ("q4", MON, ["2026-10-01..2026-12-31"]),
    ("q4 so far", MON, ["2026-10-01..2026-11-23"]),
    ("this quarter", MID, ["2026-10-01..2026-11-12"]),
    ("last quarter", MON, ["2026-07-01..2026-09-30"]),
    ("h1", MON, ["2026-01-01..2026-06-30"]),
    ("second half of 2025", MON, ["2025-07-01..2025-12-31"]),
    ("last 30 days", MON, ["last-30d"]),
    ("past two weeks", MON, ["last-14d"]),
    ("the last fortnight", MON, ["last-14d"]),
    ("past week", MON, ["last-7d"]),
    ("past month", MON, ["last-30d"]),
    ("last 24 hours", MON, ["last-1d"]),
    ("last 3 months", MON, ["2026-08-23..2026-11-22"]),
    ("since Monday", MON, ["2026-11-16..2026-11-23"]),
    ("since monday", MID, ["2026-11-09..2026-11-12"]),
    ("since the start of the month", MID, ["2026-11-01..2026-11-12"]),
    ("since october", MON, ["2026-10-01..2026-11-23"]),
    ("between 2026-10-01 and 2026-10-14", MON, ["2026-10-01..2026-10-14"]),
    ("from Oct 1 to Oct 14 2026", MON, ["2026-10-01..2026-10-14"]),
    ("from 1 oct 2026 to 31 oct 2026", MON, ["2026-10-01..2026-10-31"]),
    ("oct 1-14", MON, ["2026-10-01..2026-10-14"]),
    ("dec 20 to jan 5", MON, ["2025-12-20..2026-01-05"]),
    ("between september and october", MON, ["2026-09-01..2026-10-31"]),
    ("on 2026-11-03", MON, ["2026-11-03"]),
    ("nov 3rd", MON, ["2026-11-03"]),
    ("the 3rd of november 2026", MON, ["2026-11-03"]),
    ("last friday", MON, ["2026-11-20"]),
    ("on monday", MON, ["2026-11-16"]),
    ("3 days ago", MON, ["2026-11-20"]),
    ("the day before yesterday", MON, ["2026-11-21"]),
    ("week before last", MON, ["2026-11-09..2026-11-15"]),
    ("over the weekend", MON, ["2026-11-21..2026-11-22"]),
    ("ytd", MON, ["2026-01-01..2026-11-23"]),
    ("last year", MON, ["2025-01-01..2025-12-31"]),
    ("in 2025", MON, ["2025-01-01..2025-12-31"]),
    ("next 14 days", MON, ["2026-11-24..2026-12-07"]),
    ("end of the month", MON, ["2026-11-23..2026-11-30"]),
    ("next month", MON, ["2026-12-01..2026-12-31"]),
    ("compare october to september", MON, ["2026-10", "2026-09"]),
    ("may I ask about costs", MON, []),
    ("spend in may", MON, ["2026-05"]),
]


@pytest.mark.parametrize(("words", "today", "expected"), PERIODS, ids=[p[0] for p in PERIODS])
def test_period_words(words: str, today: date, expected: list[str]) -> None:
    mentions, notes = find_periods(" ".join(normalise(words)[0]), today)
    assert [m.period for m in mentions] == expected
    assert notes == []
    for m in mentions:
        p = parse_period(m.period, today)
        assert (p.start, p.end) == (m.first, m.last)


@pytest.mark.parametrize(
    ("words", "note"),
    [
        ("2026-02-30", "'2026-02-30' is not a period I can use"),
        ("last 0 days", "'last 0 days' is not a period I can use"),
        ("9999-12-31", "'9999-12-31' is outside the years 1990..2999"),
    ],
)
def test_impossible_periods_are_notes(words: str, note: str) -> None:
    assert find_periods(words, MON) == ([], [note])


@pytest.mark.parametrize(
    ("period", "unit", "before"),
    [
        ("last-week", "week", "2026-11-09..2026-11-15"),
        ("last-month", "month", "2026-09"),
        ("2026-03", "month", "2026-02"),
        ("yesterday", "day", "2026-11-21"),
    ],
)
def test_the_period_before_a_threads_period(period: str, unit: str, before: str) -> None:
    assert shift_back(period, unit, MON) == before


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2999, 1, 1)), st.integers(-40, 40))
def test_add_months_clamps_to_the_month_end(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or moved.day < day.day


@pytest.mark.parametrize(
    ("question", "read"),
    [
        ("What's Payments' spend, LAST week?!", "what payments spend last week"),
        ("spend 2026-10-01..2026-10-14.", "spend 2026-10-01..2026-10-14"),
        ("gpt-4.1-nano costs", "gpt-4.1-nano costs"),
        ("Oct 1 – Oct 14", "oct 1 to oct 14"),
        ("search's  cost", "search cost"),
    ],
)
def test_normalisation(question: str, read: str) -> None:
    assert " ".join(normalise(question)[0]) == read


@pytest.mark.parametrize(
    ("word", "fixed"),
    [
        ("paymnets", "payments"),
        ("forcast", "forecast"),
        ("anomolies", "anomalies"),
        ("yesturday", "yesterday"),
    ]
    + [("budjet", "budget"), ("octber", "october"), ("serach", "search"), ("spnd", "spend")],
)
def test_typos_are_corrected_towards_known_words(word: str, fixed: str) -> None:
    assert tokenise(word, Lexicon(["payments", "search"])).words == [fixed]


@pytest.mark.parametrize("word", ["pending", "sending", "logging", "developer", "mode", "pizza", "unicorns"])
def test_ordinary_words_are_left_alone(word: str) -> None:
    tokens = tokenise(word, Lexicon(["payments", "search", "login"]))
    assert tokens.words == [word] and tokens.corrections == []
