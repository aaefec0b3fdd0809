"""The same anomaly, forecast, mover and unit-cost answers on PostgreSQL as on DuckDB."""

from __future__ import annotations

from datetime import date

import ibis
import pytest

from domain.period import Period
from tools.anomalies import find_anomalies
from tools.forecast import forecast_spend
from tools.movers import movers
from tools.unit_costs import unit_costs
from warehouse.export import copy_facts

APRIL = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
WEEK = Period(start=date(2026, 4, 20), end=date(2026, 4, 26))


@pytest.mark.postgres
def test_duckdb_and_postgres_agree(backend, pg_url: str, pg_table_name: str) -> None:  # type: ignore[no-untyped-def]
    pg = ibis.connect(pg_url)
    try:
        copy_facts(backend, pg, pg_table_name)
        duck_report = find_anomalies(backend, APRIL, ["team", "service"])
        pg_report = find_anomalies(pg, APRIL, ["team", "service"], table=pg_table_name)
        assert pg_report.provenance.engine == "postgres"
        assert [a.model_dump() for a in pg_report.anomalies] == [
            a.model_dump() for a in duck_report.anomalies
        ]
        a = forecast_spend(backend, date(2026, 4, 15), ["team"], horizon=5)
        b = forecast_spend(pg, date(2026, 4, 15), ["team"], horizon=5, table=pg_table_name)
        assert [f.model_dump() for f in a.forecasts] == [f.model_dump() for f in b.forecasts]
        m1, m2 = movers(backend, WEEK, ["team"]), movers(pg, WEEK, ["team"], table=pg_table_name)
        assert m1.movers == m2.movers and m1.delta == m2.delta
        llm = Period(start=date(2026, 4, 14), end=date(2026, 4, 16))
        assert unit_costs(backend, llm).rows == unit_costs(pg, llm, table=pg_table_name).rows
    finally:
        pg.disconnect()
