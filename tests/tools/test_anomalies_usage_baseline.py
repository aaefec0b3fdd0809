"""Usage baselines and the level below --by, on a small bill with credits, a refund and a
small service line that jumps 5× (see tests/tools/conftest.py for the base bill)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.period import Period
from tests.tools.conftest import FIRST_DAY, SHIFT, SPIKE, WEEK, ingest, synthetic_rows, write_focus
from tools.anomalies import find_anomalies
from warehouse.query import open_backend

APRIL = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
LAMBDA_SPIKE = (date(2026, 4, 22), date(2026, 4, 23), 30.0)  # +$30 a day on a $10 line
CREDIT_DAYS = [FIRST_DAY + timedelta(days=4 + 28 * k) for k in range(5)]  # every 4th Monday
REFUND_DAY = date(2026, 4, 15)


def _row(template: dict[str, str], day: date, **changes: str) -> dict[str, str]:
    row = dict(template)
    row.update(
        ChargePeriodStart=f"{day.isoformat()} 00:00:00",
        ChargePeriodEnd=f"{(day + timedelta(days=1)).isoformat()} 00:00:00",
    )
    row.update(changes)
    return row


def _money(amount: float) -> dict[str, str]:
    text = f"{amount:.6f}"
    return {"BilledCost": text, "EffectiveCost": text, "ListCost": text, "ContractedCost": text}


@pytest.fixture(scope="module")
def bill(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rows = synthetic_rows()
    template = rows[0]
    payments = json.dumps({"team": "payments", "env": "prod"})
    for i in range(120):
        day = FIRST_DAY + timedelta(days=i)
        cost = 10.0 * WEEK[day.weekday()] * (1 + 0.01 * ((i * 7) % 5 - 2))
        if LAMBDA_SPIKE[0] <= day <= LAMBDA_SPIKE[1]:
            cost += LAMBDA_SPIKE[2]
        rows.append(
            _row(
                template,
                day,
                **_money(cost),
                ServiceName="AWS Lambda",
                ServiceCategory="Compute",
                Tags=payments,
            )
        )
    for day in CREDIT_DAYS:  # a monthly credit on payments × EC2: -40% of that line's day
        rows.append(
            _row(
                template,
                day,
                **_money(-120.0),
                ChargeCategory="Credit",
                ServiceName="Amazon EC2",
                Tags=payments,
            )
        )
    search = json.dumps({"team": "search", "env": "prod"})
    rows.append(
        _row(
            template,
            REFUND_DAY,
            **_money(-80.0),
            ChargeClass="Correction",
            ServiceName="Amazon S3",
            Tags=search,
        )
    )
    folder = tmp_path_factory.mktemp("usage-baseline")
    ingest(folder / "warehouse.duckdb", [write_focus(folder / "bill.csv", rows)], folder / "rejected")
    backend = open_backend(folder / "warehouse.duckdb")
    yield backend
    backend.disconnect()


def test_credits_and_refunds_stay_out_of_the_baseline_and_are_reported_apart(bill) -> None:  # type: ignore[no-untyped-def]
    report = find_anomalies(bill, APRIL, ["team", "service"])
    found = {(a.series["team"], a.series["service"], a.start) for a in report.anomalies}
    assert found == {
        (SPIKE[0], SPIKE[1], SPIKE[2]),
        (SHIFT[0], SHIFT[1], SHIFT[2]),
        ("payments", "AWS Lambda", LAMBDA_SPIKE[0]),
    }
    assert report.baseline == "usage"
    charges = {(c.series["team"], c.series["service"], c.charge): c for c in report.non_usage}
    credit = charges[("payments", "Amazon EC2", "Credit")]
    assert (credit.amount, credit.days, credit.first_day) == (Decimal("-120.00"), 1, CREDIT_DAYS[4])
    refund = charges[("search", "Amazon S3", "Correction")]
    assert (refund.amount, refund.largest_day) == (Decimal("-80.00"), REFUND_DAY)
    assert (
        "not in the baseline (reported under non_usage): Correction -80.00 USD, Credit -120.00 USD"
        in report.notes
    )
    # The spike's actual is usage only: the credit of another day is not netted into it.
    spike = next(a for a in report.anomalies if a.series == {"team": SPIKE[0], "service": SPIKE[1]})
    assert spike.impact == pytest.approx(Decimal(2 * SPIKE[5]), rel=Decimal("0.05"))


def test_baseline_all_keeps_every_charge(bill) -> None:  # type: ignore[no-untyped-def]
    report = find_anomalies(bill, APRIL, ["team", "service"], baseline="all")
    assert report.baseline == "all" and report.non_usage == []
    split = find_anomalies(bill, APRIL, ["charge_category"])
    assert split.baseline == "all"  # asked by charge kind: nothing to leave out


def test_a_small_service_jump_is_found_below_the_team_and_rolled_up(bill) -> None:  # type: ignore[no-untyped-def]
    """+$30 a day on a $10 Lambda line is +300% there and ~7% of payments: found one level down."""
    report = find_anomalies(bill, APRIL, ["team"])
    assert report.drill_dimension == "service"
    hit = next(a for a in report.anomalies if a.start == LAMBDA_SPIKE[0])
    assert hit.series == {"team": "payments"} and hit.found_in == {"service": "AWS Lambda"}
    assert (hit.start, hit.end) == LAMBDA_SPIKE[:2]
    assert hit.impact == hit.actual - hit.expected
    assert float(hit.impact) == pytest.approx(2 * LAMBDA_SPIKE[2], rel=0.15)
    assert hit.impact_pct is not None and hit.impact_pct < 15  # too small a share of payments alone
    assert (hit.root_causes[0].dimension, hit.root_causes[0].value) == ("service", "AWS Lambda")
    flat = find_anomalies(bill, APRIL, ["team"], drill_down=False)
    assert flat.drill_dimension is None
    assert not [a for a in flat.anomalies if a.start == LAMBDA_SPIKE[0]]
