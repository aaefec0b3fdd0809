"""The query layer on Apache Spark (Ibis' PySpark backend, ``local[2]``) over FOCUS Parquet gives
DuckDB's answers to the cent, with exact DECIMAL(38, 12) sums.

One SparkSession for the module (the JVM starts once), a handful of queries."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import ibis
import pytest

from domain.errors import ConfigError, DataError
from domain.period import Period
from tests.tools.conftest import llm_records, synthetic_rows, write_focus
from tools.anomalies import find_anomalies
from tools.forecast import forecast_spend
from tools.movers import movers
from tools.unit_costs import unit_costs
from warehouse.config import WarehouseConfig
from warehouse.connection import open_backend
from warehouse.ingest_focus import ingest_focus_files
from warehouse.ingest_llm import ingest_llm_files
from warehouse.query import daily_costs, spend_breakdown
from warehouse.spark import parse_spark_url

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]

APRIL = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
WEEK = Period(start=date(2026, 4, 20), end=date(2026, 4, 26))
LLM_DAYS = Period(start=date(2026, 4, 14), end=date(2026, 4, 16))
MAY = Period(start=date(2026, 5, 1), end=date(2026, 5, 3))
SEPTEMBER_2024 = Period(start=date(2024, 9, 1), end=date(2024, 9, 30))
# Amounts a double cannot sum exactly: 10^14 plus 10^-12 steps, tiny negatives (adjustments).
AWKWARD = (
    "123456789012345.000000000001",
    "0.000000000001",
    "-0.000000000003",
    "0.1",
    "0.2",
    "99.999999999999",
)


def awkward_rows() -> list[dict[str, str]]:
    template = synthetic_rows(days=1)[0]
    rows = []
    for day in (1, 2, 3):
        for n, amount in enumerate(AWKWARD):
            rows.append({
                **template, "EffectiveCost": amount, "BilledCost": amount, "ListCost": amount,
                "ContractedCost": amount, "BillingPeriodStart": "2026-05-01 00:00:00",
                "BillingPeriodEnd": "2026-06-01 00:00:00", "BillingAccountId": "acct-awkward",
                "ChargePeriodStart": f"2026-05-0{day} 0{n}:00:00", "ChargePeriodEnd": f"2026-05-0{day} 0{n}:30:00",
                "Tags": json.dumps({"team": f"t{n % 2}"}),
            })  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, focus_sample: Path) -> dict[str, Path]:
    """A DuckDB warehouse and the same cost_facts as a Parquet folder (two part files), plus the
    reference FOCUS sample as a provider would drop it: costs as DOUBLE, times as UTC instants
    (TIMESTAMP WITH TIME ZONE), no team/env columns."""
    folder = tmp_path_factory.mktemp("lake")
    logs = folder / "llm.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in llm_records()))
    bill = write_focus(folder / "bill.csv", synthetic_rows())
    awkward = write_focus(folder / "awkward.csv", awkward_rows())
    warehouse = folder / "wh.duckdb"
    ingest_focus_files(warehouse, [bill, awkward], WarehouseConfig(), folder / "rejected")
    ingest_llm_files(warehouse, [logs], WarehouseConfig(), folder / "rejected")
    table = folder / "cost_facts"
    table.mkdir()
    raw = folder / "raw_focus"
    raw.mkdir()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for part, where in enumerate(
            ("ChargePeriodStart < '2026-03-01'", "ChargePeriodStart >= '2026-03-01'")
        ):
            con.execute(
                f"COPY (SELECT * FROM cost_facts WHERE {where}) TO '{table}/part-{part}.parquet' (FORMAT parquet)"
            )
        doubles = ", ".join(
            f'CAST("{c}" AS DOUBLE) AS "{c}"'
            for c in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
        )
        con.execute(
            f"COPY (SELECT * REPLACE ({doubles}) FROM read_csv('{focus_sample}', nullstr='NULL', "
            f"types={{'ChargePeriodStart': 'TIMESTAMPTZ', 'ChargePeriodEnd': 'TIMESTAMPTZ'}})) "
            f"TO '{raw}/export.parquet' (FORMAT parquet)"
        )
    finally:
        con.close()
    sample_warehouse = folder / "sample.duckdb"
    ingest_focus_files(sample_warehouse, [focus_sample], WarehouseConfig(), folder / "rejected")
    return {"duckdb": warehouse, "parquet": table, "raw": raw, "sample_duckdb": sample_warehouse}


@pytest.fixture(scope="module")
def spark(lake: dict[str, Path]) -> Iterator[ibis.BaseBackend]:
    if shutil.which("java") is None:
        pytest.fail("Java is missing: run scripts/test-services.sh (installs openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    # The one session, tuned for a short run on a shared 2-core machine (a JVM that compiles
    # less, few shuffle partitions); open_backend reuses it as it reuses a cluster's session.
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    backend = open_backend(f"spark+parquet://{lake['parquet']}?master=local[2]")
    yield backend
    backend.disconnect()  # a session costpilot found running is not costpilot's to stop…
    assert not session.sparkContext._jsc.sc().isStopped()
    session.stop()  # …its owner stops it


@pytest.fixture(scope="module")
def duck(lake: dict[str, Path]) -> Iterator[ibis.BaseBackend]:
    backend = open_backend(lake["duckdb"])
    yield backend
    backend.disconnect()


def test_spark_gives_duckdbs_totals_to_the_cent(spark: ibis.BaseBackend, duck: ibis.BaseBackend) -> None:
    assert spark.name == "pyspark"
    a = spend_breakdown(duck, APRIL, ["team", "service"])
    b = spend_breakdown(spark, APRIL, ["team", "service"])
    assert (
        b.rows == a.rows and (b.currency, b.rows_scanned) == ("USD", a.rows_scanned) and b.engine == "pyspark"
    )
    m1, m2 = movers(duck, WEEK, ["team"]), movers(spark, WEEK, ["team"])
    assert (m2.movers, m2.delta) == (m1.movers, m1.delta) and m2.movers
    u1, u2 = unit_costs(duck, LLM_DAYS), unit_costs(spark, LLM_DAYS)
    assert u2.rows == u1.rows and u2.rows
    # The daily series anomalies and forecasts are computed from.
    f1, f2 = daily_costs(duck, APRIL, ["team"]), daily_costs(spark, APRIL, ["team"])
    assert f2.to_dict("records") == f1.to_dict("records") and len(f2) == 90
    # And the answers built on them.
    a1 = find_anomalies(duck, APRIL, ["team", "service"], with_root_causes=False).anomalies
    a2 = find_anomalies(spark, APRIL, ["team", "service"], with_root_causes=False).anomalies
    assert [x.model_dump() for x in a2] == [x.model_dump() for x in a1] and a2
    p1 = forecast_spend(duck, date(2026, 4, 15), ["team"], horizon=5).forecasts
    p2 = forecast_spend(spark, date(2026, 4, 15), ["team"], horizon=5).forecasts
    assert [f.model_dump() for f in p2] == [f.model_dump() for f in p1] and p2


def test_decimal_sums_are_exact_on_spark(spark: ibis.BaseBackend, duck: ibis.BaseBackend) -> None:
    """DECIMAL(38, 12) sums to the last digit: no double on the way (a double sum of these is off)."""
    oracle: dict[tuple[date, str], Decimal] = {}
    for row in awkward_rows():
        key = (date.fromisoformat(row["ChargePeriodStart"][:10]), json.loads(row["Tags"])["team"])
        oracle[key] = oracle.get(key, Decimal(0)) + Decimal(row["EffectiveCost"])
    got = spend_breakdown(spark, MAY, ["day", "team"], {"billing_account": ["acct-awkward"]})
    assert {(r["day"], r["team"]): r["cost"] for r in got.rows} == oracle
    total = spend_breakdown(spark, MAY, [], {"billing_account": ["acct-awkward"]}).rows[0]["cost"]
    assert total == sum(oracle.values()) == Decimal("370370367037335.899999999994")
    assert spend_breakdown(duck, MAY, [], {"billing_account": ["acct-awkward"]}).rows[0]["cost"] == total


def test_a_raw_focus_export_in_parquet(spark: ibis.BaseBackend, lake: dict[str, Path]) -> None:
    """Provider Parquet: costs as DOUBLE become exact decimals, UTC instants cut into UTC days,
    env comes from Tags as on ingest."""
    raw = open_backend(f"spark+parquet://{lake['raw']}")  # the running session is reused
    sample = open_backend(lake["sample_duckdb"])
    try:
        a = spend_breakdown(sample, SEPTEMBER_2024, ["env", "provider"])
        b = spend_breakdown(raw, SEPTEMBER_2024, ["env", "provider"])
        assert b.rows == a.rows
        assert str(sum(r["cost"] for r in b.rows).normalize()) == "14.97651418586"
    finally:
        sample.disconnect()
        raw.disconnect()  # a no-op: the session was running before


def test_bad_spark_urls_are_one_line_errors(spark: ibis.BaseBackend, tmp_path: Path) -> None:
    assert (
        parse_spark_url("spark+parquet://s3a://bucket/focus/?master=yarn").location == "s3a://bucket/focus/"
    )
    with pytest.raises(ConfigError, match="unknown option 'colour'"):
        parse_spark_url("spark+parquet:///lake?colour=red")
    with pytest.raises(DataError, match="cannot read the FOCUS Parquet table"):
        open_backend(f"spark+parquet://{tmp_path / 'missing'}")
    not_focus = tmp_path / "other"
    not_focus.mkdir()
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{not_focus}/x.parquet' (FORMAT parquet)")
    with pytest.raises(DataError, match="not a FOCUS table"):
        open_backend(f"spark+parquet://{not_focus}/x.parquet")
