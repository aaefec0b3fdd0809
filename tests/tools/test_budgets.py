"""Budgets: scopes, storage, alert levels, status from spend + forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import InputError
from domain.period import Period
from domain.provenance import Provenance
from store.budgets import BudgetRecord, list_budgets, upsert_budget
from store.db import create_engine_for, init_db
from tests.tools.conftest import exact_cost
from tools.budgets import (
    BudgetReport,
    budget_status,
    burn_findings,
    check_budget,
    check_scope_exists,
    evaluate,
    parse_scope,
    quarter_of,
)
from tools.forecast import Projection


def record(
    amount: str, soft: str | None = None, kind: str = "total", value: str = "", period: str = "month"
) -> BudgetRecord:
    return BudgetRecord(id=1, scope_kind=kind, scope_value=value, period=period, amount=Decimal(amount),
                        soft_amount=None if soft is None else Decimal(soft), updated_at=datetime.now(UTC))  # fmt: skip


def test_scopes_and_checks() -> None:
    assert parse_scope("total") == ("total", "")
    assert parse_scope(" team=payments ") == ("team", "payments")
    assert parse_scope("model=gpt-4o") == ("model", "gpt-4o")
    with pytest.raises(InputError, match="unknown scope; use total or one of: team=NAME, env=NAME"):
        parse_scope("colour=red")
    with pytest.raises(InputError, match="expected team=NAME"):
        parse_scope("team=")
    with pytest.raises(InputError, match="total takes no value"):
        parse_scope("total=1")
    with pytest.raises(InputError, match="amount 0: must be greater than 0"):
        check_budget(Decimal(0), None, "month")
    with pytest.raises(
        InputError, match="soft amount 200: must be greater than 0 and at most the amount 100"
    ):
        check_budget(Decimal(100), Decimal(200), "month")
    with pytest.raises(InputError, match="budget period 'year'"):
        check_budget(Decimal(100), None, "year")
    assert quarter_of(date(2026, 11, 23)) == Period(start=date(2026, 10, 1), end=date(2026, 12, 31))
    assert quarter_of(date(2026, 2, 1)) == Period(start=date(2026, 1, 1), end=date(2026, 3, 31))


def projection(spent_per_day: int, days_actual: int, days: int = 30) -> Projection:
    path = tuple((date(2026, 4, d), Decimal(spent_per_day)) for d in range(1, days + 1))
    actual = Decimal(spent_per_day * days_actual)
    total = Decimal(spent_per_day * days)
    return Projection(start=date(2026, 4, 1), end=date(2026, 4, 30), actual_through=date(2026, 4, days_actual),
                      actual_to_date=actual, projected=total, lo80=total - 50, hi80=total + 50, path=path)  # fmt: skip


@pytest.mark.parametrize(
    ("spent", "level", "overrun"),
    [
        ("400", None, False),
        ("500", 50, False),
        ("760", 75, False),
        ("950", 90, False),
        ("1000", 100, False),
        ("1000.01", 100, True),
    ],
)
def test_alert_levels(spent: str, level: int | None, overrun: bool) -> None:
    period = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
    # 30/day for 30 days projects 900; spend already above that is the projection (overrun past 1000).
    status = evaluate(record("1000", soft="600"), period, Decimal(spent), projection(30, 10), "ets(A,Ad,A)")
    assert status.alert_level == level and status.projected_overrun is overrun
    assert status.pct_used == (Decimal(spent) / 10).quantize(Decimal("0.01"))
    assert status.projected == max(Decimal(900), Decimal(spent))
    assert (status.soft_amount, any("soft budget 600 reached" in a for a in status.alerts)) == (
        Decimal(600), Decimal(spent) >= 600)  # fmt: skip


def test_crossing_dates_actual_versus_forecast() -> None:
    period = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
    ahead = evaluate(record("500", soft="200"), period, Decimal(300), projection(30, 10), "ets")
    assert (ahead.crossed_on, ahead.crossed_forecast) == (date(2026, 4, 17), True)
    assert ahead.soft_crossed_on == date(2026, 4, 7) and ahead.projected_overrun
    assert "projected overrun: 900 against 500" in ahead.alerts
    done = evaluate(record("200"), period, Decimal(300), projection(30, 10), "ets")
    assert (done.crossed_on, done.crossed_forecast, done.alert_level) == (date(2026, 4, 7), False, 100)
    unknown = evaluate(record("200"), period, Decimal(0), None, None, note="no data")
    assert (unknown.projected, unknown.crossed_on, unknown.alerts, unknown.note) == (
        None,
        None,
        [],
        "no data",
    )


def test_store_upserts_by_scope_and_period(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'state.sqlite'}")
    init_db(engine)
    first, created = upsert_budget(engine, "team", "ml", "month", Decimal("1000.10"), Decimal("800"))
    assert created and first.amount == Decimal("1000.10") and first.scope == "team=ml"
    again, created = upsert_budget(engine, "team", "ml", "month", Decimal("1200"), None)
    assert not created and again.id == first.id and again.soft_amount is None
    upsert_budget(engine, "team", "ml", "quarter", Decimal("3000"), None)
    upsert_budget(engine, "total", "", "month", Decimal("0.000000000001"), None)
    listed = list_budgets(engine)
    assert [(b.scope, b.period, b.amount) for b in listed] == [
        ("team=ml", "month", Decimal(1200)), ("team=ml", "quarter", Decimal(3000)),
        ("total", "month", Decimal("0.000000000001")),
    ]  # fmt: skip


def test_status_over_the_warehouse(backend, synthetic_rows_list) -> None:  # type: ignore[no-untyped-def]
    budgets = [record("20000", soft="15000"), record("10000", kind="team", value="ml", period="quarter"),
               record("10", kind="team", value="nobody")]  # fmt: skip
    report = budget_status(backend, budgets, date(2026, 4, 15))
    total, ml, nobody = report.budgets
    spent = exact_cost(
        synthetic_rows_list, lambda r: "2026-04-01" <= r["ChargePeriodStart"][:10] <= "2026-04-15"
    )
    llm = Decimal("0.01423") * 2  # gateway requests of 04-14 and 04-15 (04-16 is after the as-of day)
    assert total.spent == (spent + llm).quantize(Decimal("0.01"))
    assert total.period == Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
    month_truth = exact_cost(synthetic_rows_list, lambda r: r["ChargePeriodStart"][:7] == "2026-04")
    assert total.projected is not None and abs(total.projected - month_truth) / month_truth < Decimal("0.05")
    assert total.alert_level == 50 and total.projected_overrun and total.crossed_forecast
    assert ml.period == Period(start=date(2026, 4, 1), end=date(2026, 6, 30)) and ml.model == "ets(A,Ad,A)"
    assert nobody.projected is None and "team=nobody" in (nobody.note or "") and nobody.spent == 0


def test_amounts_are_whole_cents() -> None:
    check_budget(Decimal("10.50"), Decimal("0.01"), "month")
    with pytest.raises(InputError, match=r"amount 10.505: budgets are in whole cents"):
        check_budget(Decimal("10.505"), None, "month")
    with pytest.raises(InputError, match=r"soft amount 0.001: budgets are in whole cents"):
        check_budget(Decimal("10"), Decimal("0.001"), "month")


def test_scope_must_match_cost_rows(backend) -> None:  # type: ignore[no-untyped-def]
    check_scope_exists(backend, "team", "ml")
    check_scope_exists(backend, "total", "")
    with pytest.raises(InputError, match=r"scope team=nobody: no cost rows have team 'nobody'.*force it"):
        check_scope_exists(backend, "team", "nobody")


def test_burn_findings_projected_overrun_and_ahead_of_pace() -> None:
    """As of 04-16 (15 of 30 days gone = 50%): 60% used is ahead of pace (> 55%), 52% is not."""
    period = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
    fast = evaluate(record("1000", kind="team", value="ml"), period, Decimal(600), projection(20, 15), "ets")
    even = evaluate(record("1000"), period, Decimal(520), projection(30, 15), "ets")
    over = evaluate(record("800", kind="env", value="prod"), period, Decimal(400), projection(30, 15), "ets")
    report = BudgetReport(
        as_of=date(2026, 4, 16),
        budgets=[fast, even, over],
        provenance=Provenance(tool="budgets", engine="x", query="", rows_scanned=0),
    )
    burn = {b.scope: b for b in burn_findings(report)}
    assert set(burn) == {"team=ml", "env=prod"}
    assert burn["team=ml"].reasons == ["60.00% used with 50.00% of the period gone"]
    assert burn["team=ml"].pct_elapsed == 50.0 and burn["team=ml"].pct_used == 60.0
    assert burn["env=prod"].reasons == ["projected 900 at period end, over the budget of 800"]
    assert burn["env=prod"].crossed_on == date(2026, 4, 27)
