"""Anomaly checks over the warehouse: injected truth found, exact money, root causes, bad input."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import DataError, InputError
from domain.money import round_cents
from domain.period import Period
from tests.tools.conftest import SHIFT, SPIKE, exact_cost
from tools.anomalies import find_anomalies

APRIL = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))


def test_finds_the_injected_spike_and_shift_only(backend, synthetic_rows_list) -> None:  # type: ignore[no-untyped-def]
    report = find_anomalies(backend, APRIL, ["team", "service"])
    assert report.status == "ok" and report.season == 7 and report.currency == "USD"
    found = {(a.series["team"], a.series["service"]): a for a in report.anomalies}
    assert set(found) == {(SPIKE[0], SPIKE[1]), (SHIFT[0], SHIFT[1])}
    spike = found[(SPIKE[0], SPIKE[1])]
    assert (spike.start, spike.end) == (SPIKE[2], SPIKE[3])
    want = exact_cost(
        synthetic_rows_list,
        lambda r: (
            r["ServiceName"] == SPIKE[1]
            and '"payments"' in r["Tags"]
            and SPIKE[2].isoformat() <= r["ChargePeriodStart"][:10] <= SPIKE[3].isoformat()
        ),
    )
    assert spike.actual == round_cents(want)
    assert spike.impact == spike.actual - spike.expected
    assert spike.impact == pytest.approx(Decimal(2 * SPIKE[5]), rel=Decimal("0.05"))
    # The spike was all in one region: it is the top root cause and carries nearly all of it.
    top = spike.root_causes[0]
    assert (top.dimension, top.value) == ("region", "us-east-1")
    assert top.contribution == pytest.approx(spike.impact, rel=Decimal("0.05"))
    assert all(c.dimension != "team" and c.dimension != "service" for c in spike.root_causes)
    shift = found[(SHIFT[0], SHIFT[1])]
    assert shift.start == SHIFT[2] and shift.end >= date(2026, 4, 26)
    assert report.anomalies[0].impact >= report.anomalies[1].impact  # largest first
    assert report.provenance.tool == "anomalies" and report.provenance.rows_scanned > 0


def test_filters_and_totals(backend) -> None:  # type: ignore[no-untyped-def]
    only_search = find_anomalies(backend, APRIL, ["service"], {"team": ["search"]})
    assert [a.series for a in only_search.anomalies] == [{"service": SHIFT[1]}]
    assert only_search.provenance.filters == {"team": "search"}
    total = find_anomalies(backend, Period(start=date(2026, 4, 8), end=date(2026, 4, 14)), [])
    assert [(a.series, a.start) for a in total.anomalies] == [({}, SPIKE[2])]
    assert {c.dimension for c in total.anomalies[0].root_causes} >= {"team", "service"}


def test_thresholds_can_silence_everything(backend) -> None:  # type: ignore[no-untyped-def]
    from tools.anomalies import DetectorSettings, ThresholdRule

    strict = DetectorSettings(rule=ThresholdRule(absolute=Decimal(100000), percent=None))
    assert find_anomalies(backend, APRIL, ["team"], settings=strict).anomalies == []


def test_bad_input(backend) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match=r"no cost rows in 2030-01-01\.\.2030-01-31"):
        find_anomalies(backend, Period(start=date(2030, 1, 1), end=date(2030, 1, 31)), ["team"])
    with pytest.raises(InputError, match="unknown dimension 'colour'"):
        find_anomalies(backend, APRIL, ["colour"])
    with pytest.raises(InputError, match="unknown dimension 'colour'"):
        find_anomalies(backend, APRIL, ["team"], {"colour": ["red"]})
    with pytest.raises(DataError, match="with team=nobody"):
        find_anomalies(backend, APRIL, ["team"], {"team": ["nobody"]})


def test_days_without_enough_history_are_named_in_a_note(backend) -> None:  # type: ignore[no-untyped-def]
    """Data starts 2026-01-01: its first two weeks have no same-weekday history to score against."""
    report = find_anomalies(backend, Period(start=date(2025, 12, 20), end=date(2026, 1, 31)), ["team"])
    assert report.status == "ok"
    assert "days 2026-01-01..2026-01-14 not checked: not enough history (needs 2 weeks before a day)" in (
        report.notes
    )
    later = find_anomalies(backend, Period(start=date(2026, 3, 1), end=date(2026, 3, 31)), ["team"])
    assert not any("not checked" in n for n in later.notes)
