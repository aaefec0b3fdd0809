"""Top movers between periods, untagged share, and AI unit costs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DataError, InputError
from domain.period import Period
from tests.tools.conftest import LLM_DAYS, LLM_REQUESTS, exact_cost
from tools.movers import compute_movers, movers
from tools.unit_costs import compute_unit_costs, unit_costs

WEEK = Period(start=date(2026, 4, 20), end=date(2026, 4, 26))


def test_movers_pure() -> None:
    now = [{"team": "a", "cost": Decimal("150")}, {"team": "(untagged)", "cost": Decimal("50")}]
    before = [{"team": "a", "cost": Decimal("100")}, {"team": "b", "cost": Decimal("40")}]
    rows, total_now, total_before, untagged = compute_movers(now, before, ["team"])
    assert (total_now, total_before) == (Decimal(200), Decimal(140))
    assert [(m.dims["team"], m.delta, m.share_of_delta) for m in rows] == [
        ("(untagged)", Decimal(50), Decimal("0.8333")),
        ("a", Decimal(50), Decimal("0.8333")),
        ("b", Decimal(-40), Decimal("-0.6667")),
    ]
    assert rows[0].delta_pct is None and rows[1].delta_pct == Decimal("0.5000")
    assert untagged == {"team": Decimal("0.2500")}
    assert rows[1].model_dump(mode="json") == {
        "team": "a", "current": "150", "previous": "100", "delta": "50", "delta_pct": "0.5", "share_of_delta": "0.8333",
    }  # fmt: skip


@given(st.lists(st.tuples(st.sampled_from("abcde"), st.integers(-10**6, 10**6)), max_size=12),
       st.lists(st.tuples(st.sampled_from("abcde"), st.integers(-10**6, 10**6)), max_size=12))  # fmt: skip
def test_movers_deltas_add_up(now: list[tuple[str, int]], before: list[tuple[str, int]]) -> None:
    rows, total_now, total_before, _ = compute_movers(
        [{"k": k, "cost": Decimal(v) / 100} for k, v in now], [{"k": k, "cost": Decimal(v) / 100} for k, v in before],
        ["k"], top=100,
    )  # fmt: skip
    assert sum((m.delta for m in rows), Decimal(0)) == total_now - total_before
    assert [abs(m.delta) for m in rows] == sorted((abs(m.delta) for m in rows), reverse=True)


def test_movers_over_the_warehouse(backend, synthetic_rows_list) -> None:  # type: ignore[no-untyped-def]
    result = movers(backend, WEEK, ["team", "service"], top=3)
    assert result.compare == Period(start=date(2026, 4, 13), end=date(2026, 4, 19))
    top = result.movers[0]
    assert top.dims == {"team": "search", "service": "Amazon S3"}  # the level shift
    want_now = exact_cost(
        synthetic_rows_list, lambda r: "2026-04-20" <= r["ChargePeriodStart"][:10] <= "2026-04-26"
    )
    assert result.current_total == want_now and len(result.movers) == 3
    assert result.delta == result.current_total - result.previous_total
    assert top.share_of_delta is not None and top.share_of_delta > Decimal("0.8")
    assert result.untagged_share == {"team": Decimal("0")}
    explicit = movers(backend, WEEK, ["team"], compare=Period(start=date(2026, 3, 20), end=date(2026, 3, 26)))
    assert explicit.compare.start == date(2026, 3, 20)


def test_movers_bad_input(backend) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="unknown dimension 'colour'"):
        movers(backend, WEEK, ["colour"])
    with pytest.raises(DataError, match="no cost rows in 2031-01-01..2031-01-07 nor in"):
        movers(backend, Period(start=date(2031, 1, 1), end=date(2031, 1, 7)), ["team"])


def test_unit_costs_pure_rounding_and_zero_division() -> None:
    rows = compute_unit_costs([
        {"feature": "f", "model": "m", "cost": Decimal("0.30"), "x_prompt_tokens": 900, "x_completion_tokens": 100,
         "x_cache_read_tokens": 0, "x_cache_creation_tokens": 0, "requests": 3},
        {"feature": "g", "model": "m", "cost": Decimal("0"), "requests": 0},
    ])  # fmt: skip
    assert (rows[0].tokens, rows[0].cost_per_1k_tokens, rows[0].cost_per_request) == (
        1000,
        Decimal("0.3"),
        Decimal("0.1"),
    )
    assert rows[1].cost_per_1k_tokens is None and rows[1].cost_per_request is None


def test_unit_costs_over_the_warehouse(backend) -> None:  # type: ignore[no-untyped-def]
    result = unit_costs(backend, Period(start=date(2026, 4, 14), end=date(2026, 4, 16)))
    by_key = {(r.feature, r.model): r for r in result.rows}
    assert set(by_key) == {("search-summary", "gpt-4o-mini"), ("search-summary", "gpt-4o"), ("support-bot", "gpt-4o"),
                           ("(untagged)", "gpt-4o-mini")}  # fmt: skip
    bot = by_key[("support-bot", "gpt-4o")]
    days = len(LLM_DAYS)
    assert bot.cost == Decimal("0.008750") * days and bot.requests == days
    assert bot.tokens == (2000 + 500) * days and bot.cache_read_tokens == 1000 * days
    assert bot.cost_per_1k_tokens == Decimal("0.0035") and bot.cost_per_request == Decimal("0.00875")
    total = sum((Decimal(r[5]) for r in LLM_REQUESTS), Decimal(0)) * days
    assert result.total == total
    assert result.untagged_share == (Decimal("0.000120") * days / total).quantize(Decimal("0.0001"))
    assert result.other_ai_cost == 0
    with pytest.raises(DataError, match="no LLM usage rows in 2026-01-01..2026-01-31"):
        unit_costs(backend, Period(start=date(2026, 1, 1), end=date(2026, 1, 31)))


def test_comparison_notes_warn_about_unlike_or_empty_periods() -> None:
    from datetime import date

    from domain.period import Period
    from tools.movers import comparison_notes

    week = Period(start=date(2026, 11, 16), end=date(2026, 11, 22))
    month = Period(start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert comparison_notes(week, week.previous(), 10, 12) == []
    assert comparison_notes(week, month, 10, 0) == [
        "the periods differ in length (7 vs 31 days)",
        "no cost rows in 2026-10-01..2026-10-31: every cost counts as new",
    ]
