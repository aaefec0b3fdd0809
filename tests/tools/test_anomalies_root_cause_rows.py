"""The root-cause search reads its rows with one compiled query; they must be exactly the rows
``warehouse.query.daily_costs`` gives (same values, types and order), so the ranking is unchanged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from domain.period import Period
from tools.anomalies.root_causes import ROOT_CAUSE_DIMENSIONS, root_cause_rows
from warehouse.facts import FACT_TABLE
from warehouse.query import daily_costs, open_backend


@pytest.mark.parametrize(
    ("by", "filters"),
    [
        ([], {}),
        (["team"], {"ChargeCategory": ["Usage"]}),
        (["team", "env"], {"team": ["payments", "search"]}),
        (["service"], {"region": ["us-east-1"]}),
        ([], {"team": ["no-such-team"]}),
    ],
)
def test_root_cause_rows_equal_daily_costs(
    synthetic_warehouse: Path, by: list[str], filters: dict[str, list[str]]
) -> None:
    backend = open_backend(synthetic_warehouse)
    period = Period(start=date(2026, 3, 1), end=date(2026, 4, 20))
    dims = [*by, *(d for d in ROOT_CAUSE_DIMENSIONS if d not in by)]
    expected = daily_costs(backend, period, dims, filters)
    got = root_cause_rows(backend, period, dims, filters, FACT_TABLE)
    backend.disconnect()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.empty == (filters.get("team") == ["no-such-team"])
    if not got.empty:
        assert {type(v).__name__ for v in got["cost"]} == {"Decimal"}
