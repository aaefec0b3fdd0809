"""Runs → findings (drill-down roll-up, tag hygiene), charge baselines, event scoring."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from domain.errors import InputError
from tools.anomalies.charges import baseline_for, is_usage, summarise_non_usage, usage_filters
from tools.anomalies.events import EventCounts, count_events, merge_events, rolling_zscore_flags, runs_of
from tools.anomalies.findings import Run, classify, drill_dimension

D = date(2026, 4, 10)
U = "(untagged)"


def run(
    key: tuple[str, ...], impact: float, direction: str = "up", sub: str | None = None, day: date = D
) -> Run:
    return Run(key, sub, day, day, direction, 100.0, 100.0 + impact, 5.0)


def test_drill_dimension_is_the_first_one_not_asked() -> None:
    assert drill_dimension([]) == "service"
    assert drill_dimension(["team", "env"]) == "service"
    assert drill_dimension(["team", "service"]) == "env"
    assert drill_dimension(["service", "team", "env", "account", "region"]) is None


def test_a_run_below_is_reported_unless_its_parent_already_has_one() -> None:
    parent = run(("payments", "prod"), 900.0)
    covered = run(("payments", "prod"), 850.0, sub="Amazon EC2")
    below = run(("search", "prod"), 60.0, sub="AWS Lambda")
    found = classify([parent], [covered, below], "up", lambda r: False)
    assert found.anomalies == [parent, below] and found.hygiene == []


def test_an_untagged_jump_of_moved_spend_is_hygiene_and_explains_its_drop() -> None:
    jump = run((U, "Amazon RDS"), 450.0)
    drop = run(("payments", "Amazon RDS"), -440.0, direction="down")
    unrelated = run(("search", "Amazon S3"), -500.0, direction="down")
    found = classify([jump, drop, unrelated], [], "both", lambda r: True)
    assert [h.run for h in found.hygiene] == [jump]
    assert found.hygiene[0].sources == (drop,)  # the sibling series, not any drop that day
    assert found.anomalies == [unrelated]  # the explained drop is not a saving


def test_an_untagged_jump_of_new_spend_stays_an_anomaly_and_untagged_drops_are_not_reported() -> None:
    jump = run((U, "Amazon RDS"), 450.0)
    fixed = run((U, "Amazon S3"), -200.0, direction="down")
    found = classify([jump, fixed], [], "both", lambda r: False)
    assert found.anomalies == [jump] and found.hygiene == []


def test_drops_are_reported_only_when_asked() -> None:
    drop = run(("payments", "Amazon RDS"), -440.0, direction="down")
    assert classify([drop], [], "up", lambda r: False).anomalies == []
    assert classify([drop], [], "both", lambda r: False).anomalies == [drop]


def test_baselines() -> None:
    assert baseline_for("usage", ["team"], {})[0] == "usage"
    # A query that already splits or filters by charge kind is left as asked.
    assert baseline_for("usage", ["charge_category"], {})[0] == "all"
    assert baseline_for("usage", ["team"], {"ChargeClass": ["Correction"]})[0] == "all"
    with pytest.raises(InputError, match="baseline 'net': use one of usage, all"):
        baseline_for("net", [], {})
    _, usage = baseline_for("usage", [], {})
    assert usage_filters({"team": ["a"]}, usage) == {
        "team": ["a"],
        "charge_category": ["Usage", "Purchase"],
        "ChargeClass": ["(none)"],
    }
    frame = pd.DataFrame(
        {
            "charge_category": ["Usage", "Usage", "Credit", "Tax", "Purchase"],
            "ChargeClass": ["(none)", "Correction", "(none)", "(none)", "(none)"],
        }
    )
    assert is_usage(frame, usage).tolist() == [True, False, False, False, True]


def test_non_usage_is_summed_per_series_and_kind_largest_first() -> None:
    days = [D + timedelta(days=i) for i in range(3)]
    frame = pd.DataFrame(
        {
            "day": [days[0], days[1], days[2], days[0], days[1]],
            "team": ["a", "a", "a", "b", "b"],
            "charge_category": ["Credit", "Credit", "Tax", "Usage", "Adjustment"],
            "ChargeClass": ["(none)", "(none)", "(none)", "Correction", "(none)"],
            "cost": [Decimal("-10.004"), Decimal("-30"), Decimal("5"), Decimal("-50"), Decimal("1")],
        }
    )
    charges, per_kind, total = summarise_non_usage(frame, ["team"], D)
    assert total == 4 and per_kind == {
        "Credit": Decimal("-40.00"),
        "Correction": Decimal("-50.00"),
        "Tax": Decimal("5.00"),
        "Adjustment": Decimal("1.00"),
    }
    assert [(c.series, c.charge, c.amount) for c in charges][:2] == [
        ({"team": "b"}, "Correction", Decimal("-50.00")),
        ({"team": "a"}, "Credit", Decimal("-40.00")),
    ]
    credit = charges[1]
    assert (credit.days, credit.largest_day, credit.largest_amount) == (2, days[1], Decimal("-30.00"))


T0 = datetime(2026, 1, 1)
STEP = timedelta(minutes=5)


def at(i: int) -> datetime:
    return T0 + i * STEP


def test_detections_closer_than_three_steps_are_one_event() -> None:
    events = merge_events([(at(10), at(11)), (at(13), at(13)), (at(16), at(16)), (at(40), at(41))], STEP)
    assert events == [(at(10), at(13)), (at(16), at(16)), (at(40), at(41))]


def test_event_counts_and_their_conventions() -> None:
    windows = [(at(0), at(20)), (at(100), at(120))]
    counts = count_events([(at(10), at(13)), (at(16), at(16)), (at(60), at(61))], windows)
    assert counts == EventCounts(windows=2, windows_found=1, events=3, events_in_window=2)
    assert (counts.recall, counts.precision) == (0.5, pytest.approx(2 / 3))
    assert counts.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert EventCounts().f1 == 1.0  # no windows, no events: nothing missed, nothing wrong
    assert EventCounts(events=1).f1 == 0.0  # anomaly-free data: one event is all wrong
    total = counts + EventCounts(windows=1, windows_found=1, events=1, events_in_window=1)
    assert (total.windows, total.windows_found, total.events, total.events_in_window) == (3, 2, 4, 3)


def test_rolling_zscore_baseline() -> None:
    rng = np.random.default_rng(1)
    values = 10 + rng.standard_normal(600)
    values[500] = 30
    flags = rolling_zscore_flags(values, 288)
    assert flags[500] and flags[:150].sum() == 0
    assert not rolling_zscore_flags(np.full(50, 5.0), 10).any()  # flat: never a score
    stamps = [at(i) for i in range(600)]
    assert (at(500), at(500)) in runs_of(flags, stamps)
