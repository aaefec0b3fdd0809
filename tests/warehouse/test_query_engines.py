"""The Ibis query layer gives identical answers on DuckDB and on PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pytest

from domain.errors import DataError, InputError
from domain.period import Period
from warehouse.config import WarehouseConfig
from warehouse.export import copy_facts
from warehouse.ingest_focus import ingest_focus_files
from warehouse.query import daily_costs, open_backend, spend_breakdown

SEPTEMBER = Period(start=date(2024, 9, 1), end=date(2024, 9, 30))


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory, focus_sample: Path) -> ibis.BaseBackend:
    folder = tmp_path_factory.mktemp("engines")
    ingest_focus_files(folder / "wh.duckdb", [focus_sample], WarehouseConfig(), folder / "rejected")
    return open_backend(folder / "wh.duckdb")


QUERIES = [
    ([], {}, "EffectiveCost"),
    (["env", "provider"], {}, "EffectiveCost"),
    (["service"], {"provider": ["AWS"]}, "BilledCost"),
    (["day"], {}, "ListCost"),
    (["region", "env"], {"env": ["dev", "(untagged)"]}, "EffectiveCost"),
    (["month", "cost_center"], {}, "ContractedCost"),
]


@pytest.mark.postgres
def test_duckdb_and_postgres_agree_exactly(duck: ibis.BaseBackend, pg_url: str, pg_table_name: str) -> None:
    pg = ibis.connect(pg_url)
    assert copy_facts(duck, pg, pg_table_name) == 1000
    for by, filters, measure in QUERIES:
        a = spend_breakdown(duck, SEPTEMBER, by, filters, measure)
        b = spend_breakdown(pg, SEPTEMBER, by, filters, measure, table=pg_table_name)
        assert a.rows == b.rows, (by, filters, measure)
        assert (a.currency, a.rows_scanned) == (b.currency, b.rows_scanned)
        assert (a.engine, b.engine) == ("duckdb", "postgres")
    totals = spend_breakdown(pg, SEPTEMBER, [], table=pg_table_name).rows[0]["cost"]
    assert str(totals.normalize()) == "14.97651418586"


def test_daily_costs_frame(duck: ibis.BaseBackend) -> None:
    frame = daily_costs(duck, SEPTEMBER, ["provider"])
    assert list(frame.columns) == ["day", "provider", "cost", "rows"]
    assert frame["rows"].sum() == 1000
    assert frame["day"].min() == date(2024, 9, 1) and frame["day"].max() == date(2024, 9, 30)
    assert str(sum(frame["cost"]).normalize()) == "14.97651418586"


def test_unknown_filter_and_mixed_currency(
    duck: ibis.BaseBackend, tmp_path: Path, focus_sample: Path
) -> None:
    with pytest.raises(InputError, match="unknown dimension 'colour'"):
        spend_breakdown(duck, SEPTEMBER, [], {"colour": ["red"]})
    with pytest.raises(InputError, match="unknown measure"):
        spend_breakdown(duck, SEPTEMBER, [], {}, "Cost")
    # Two currencies in one selection is an error, not a silent sum.
    import duckdb

    db = tmp_path / "mixed.duckdb"
    ingest_focus_files(db, [focus_sample], WarehouseConfig(), tmp_path / "rej")
    con = duckdb.connect(str(db))
    con.execute("UPDATE cost_facts SET BillingCurrency = 'EUR' WHERE ProviderName = 'Oracle'")
    con.close()
    with pytest.raises(DataError, match=r"mixes currencies \(EUR, USD\)"):
        spend_breakdown(open_backend(db), SEPTEMBER, ["provider"])
