"""``costpilot ingest`` into PostgreSQL (COSTPILOT_WAREHOUSE_URL=postgresql://…): the same rules
and, on the same files, the same totals to the cent as the DuckDB warehouse."""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import ibis
import psycopg
import pytest

from domain.period import Period
from tests.tools.conftest import llm_records, synthetic_rows, write_focus
from tools.anomalies import find_anomalies
from tools.forecast import forecast_spend
from tools.movers import movers
from tools.unit_costs import unit_costs
from warehouse.query import daily_costs, open_backend, spend_breakdown

pytestmark = pytest.mark.postgres

APRIL = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
WEEK = Period(start=date(2026, 4, 20), end=date(2026, 4, 26))
LLM_DAYS = Period(start=date(2026, 4, 14), end=date(2026, 4, 16))


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[str]:
    """A fresh database on the local server (URL), dropped afterwards."""
    name = f"costpilot_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_workspace(workspace: Path, pg_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COSTPILOT_WAREHOUSE_URL", pg_db)
    return pg_db


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pg-files")
    logs = folder / "llm.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in llm_records()))
    return {"bill": write_focus(folder / "bill.csv", synthetic_rows()), "llm": logs}


def pg_state(url: str) -> tuple[int, Decimal, int]:
    """(fact rows, sum of EffectiveCost, ingests) in the PostgreSQL warehouse (zeros before any)."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('cost_facts') IS NOT NULL").fetchone()[0]  # type: ignore[index]
        if not exists:
            return 0, Decimal(0), 0
        count, total = conn.execute('SELECT count(*), sum("EffectiveCost") FROM cost_facts').fetchone()  # type: ignore[misc]
        ingests = conn.execute("SELECT count(*) FROM ingests").fetchone()[0]  # type: ignore[index]
    return count, total or Decimal(0), ingests


def test_ingest_into_postgres_gives_duckdbs_answers_to_the_cent(  # type: ignore[no-untyped-def]
    run_cli, pg_workspace: str, files: dict[str, Path], focus_sample: Path, tmp_path: Path, monkeypatch
) -> None:
    sources = [str(files["bill"]), str(focus_sample)]
    loaded = run_cli("ingest", "focus", *sources, "--json")
    assert loaded.code == 0, loaded.err
    assert (loaded.json()["rows_loaded"], loaded.json()["rows_rejected"]) == (2440, 0)
    assert run_cli("ingest", "llm-usage", str(files["llm"])).code == 0
    with psycopg.connect(pg_workspace) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns c "
                "JOIN pg_attribute a ON a.attrelid = 'cost_facts'::regclass AND a.attname = c.column_name "
                "WHERE c.table_name = 'cost_facts'"
            ).fetchall()
        )
    assert types["EffectiveCost"] == types["BilledCost"] == "numeric(38,12)"
    assert types["ChargePeriodStart"] == "timestamp without time zone"
    assert types["x_prompt_tokens"] == "bigint" and types["x_id"] == "character varying"
    pg_spend = run_cli("spend", "--period", "2026-04", "--by", "team,service", "--json")
    assert pg_spend.code == 0, pg_spend.err

    # The same files into the workspace's DuckDB file.
    monkeypatch.delenv("COSTPILOT_WAREHOUSE_URL")
    assert run_cli("ingest", "focus", *sources).code == 0
    assert run_cli("ingest", "llm-usage", str(files["llm"])).code == 0
    duck_spend = run_cli("spend", "--period", "2026-04", "--by", "team,service", "--json")
    assert duck_spend.json()["rows"] == pg_spend.json()["rows"]
    assert duck_spend.json()["total"] == pg_spend.json()["total"]
    assert (pg_spend.json()["provenance"]["engine"], duck_spend.json()["provenance"]["engine"]) == (
        "postgres",
        "duckdb",
    )

    duck = open_backend(Path(os.environ["COSTPILOT_HOME"]) / "warehouse.duckdb")
    pg = ibis.connect(pg_workspace)
    try:
        september = Period(start=date(2024, 9, 1), end=date(2024, 9, 30))
        a, b = spend_breakdown(duck, september, ["provider"]), spend_breakdown(pg, september, ["provider"])
        assert a.rows == b.rows and str(sum(r["cost"] for r in b.rows).normalize()) == "14.97651418586"
        m1, m2 = movers(duck, WEEK, ["team"]), movers(pg, WEEK, ["team"])
        assert (m1.movers, m1.delta) == (m2.movers, m2.delta)
        assert unit_costs(duck, LLM_DAYS).rows == unit_costs(pg, LLM_DAYS).rows
        assert unit_costs(pg, LLM_DAYS).rows  # the LLM rows are there and priced
        # Anomaly and forecast inputs (daily series), then the answers built on them.
        frame_duck = daily_costs(duck, APRIL, ["team", "service"])
        frame_pg = daily_costs(pg, APRIL, ["team", "service"])
        assert frame_duck.to_dict("records") == frame_pg.to_dict("records")
        duck_anomalies = find_anomalies(duck, APRIL, ["team", "service"]).anomalies
        assert [x.model_dump() for x in duck_anomalies] == [
            x.model_dump() for x in find_anomalies(pg, APRIL, ["team", "service"]).anomalies
        ]
        assert duck_anomalies  # the injected spike is found on both
        f1 = forecast_spend(duck, date(2026, 4, 15), ["team"], horizon=5).forecasts
        f2 = forecast_spend(pg, date(2026, 4, 15), ["team"], horizon=5).forecasts
        assert [f.model_dump() for f in f1] == [f.model_dump() for f in f2]
    finally:
        duck.disconnect()
        pg.disconnect()


def test_reingest_and_restatement_follow_the_duckdb_rules(  # type: ignore[no-untyped-def]
    run_cli, pg_workspace: str, focus_sample: Path, tmp_path: Path
) -> None:
    with focus_sample.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    aws = [r for r in rows if r["ProviderName"] == "AWS"]

    def export(name: str, keep: list[dict[str, str]], cost: str | None = None) -> Path:
        path = tmp_path / name
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows({**r, "EffectiveCost": cost} if cost else r for r in keep)
        return path

    v1 = export("aws-v1.csv", aws)
    assert run_cli("ingest", "focus", str(v1)).code == 0
    before = pg_state(pg_workspace)
    assert before[0] == 942
    again = run_cli("ingest", "focus", str(v1))
    assert again.code == 0 and "already ingested" in again.out + again.err
    assert pg_state(pg_workspace) == before

    # A restated export of the same account and month replaces the older one, and says so.
    v2 = export("aws-v2.csv", aws, cost="1.00")
    restated = run_cli("ingest", "focus", str(v2), "--json")
    assert restated.code == 0, restated.err
    assert [(r["path"], r["rows_removed"]) for r in restated.json()["files"][0]["replaced"]] == [
        (str(v1), 942)
    ]
    assert pg_state(pg_workspace)[:2] == (942, Decimal(942))

    # A partial export is refused (one line, exit 2, nothing changed) unless --allow-shrink.
    partial = export("aws-v3-partial.csv", aws[:10])
    refused = run_cli("ingest", "focus", str(partial))
    assert refused.code == 2 and refused.out == ""
    assert refused.err.strip().endswith("Use --allow-shrink to replace anyway; nothing loaded")
    assert len(refused.err.strip().splitlines()) == 1
    assert pg_state(pg_workspace) == (942, Decimal(942), 2)
    assert run_cli("ingest", "focus", str(partial), "--allow-shrink").code == 0
    assert pg_state(pg_workspace)[0] == 10


def test_a_failing_batch_leaves_postgres_unchanged(  # type: ignore[no-untyped-def]
    run_cli, pg_workspace: str, files: dict[str, Path], focus_sample: Path, tmp_path: Path
) -> None:
    assert run_cli("ingest", "focus", str(focus_sample)).code == 0
    before = pg_state(pg_workspace)
    # A file that is not FOCUS stops the whole batch before anything is written.
    bad = tmp_path / "not-focus.csv"
    bad.write_text("a,b\n1,2\n")
    result = run_cli("ingest", "focus", str(files["bill"]), str(bad))
    assert result.code == 2 and "nothing loaded from any of the 2 files" in result.err
    assert pg_state(pg_workspace) == before
    # The server refuses midway (after the rows were copied in): the transaction rolls back.
    with psycopg.connect(pg_workspace, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk quota exceeded (test)'; END $$"
        )
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON ingests FOR EACH ROW EXECUTE FUNCTION refuse()")
    refused = run_cli("ingest", "focus", str(files["bill"]))
    assert refused.code == 2, refused.err
    assert refused.err.strip().endswith("PostgreSQL warehouse: disk quota exceeded (test); nothing loaded")
    assert len(refused.err.strip().splitlines()) == 1
    assert pg_state(pg_workspace) == before
    assert not list((Path(tmp_path) / "ws" / "tmp").glob("pg-copy-*"))  # the COPY file is gone


def test_request_ids_already_in_postgres_are_rejected(  # type: ignore[no-untyped-def]
    run_cli, pg_workspace: str, files: dict[str, Path], tmp_path: Path
) -> None:
    assert run_cli("ingest", "llm-usage", str(files["llm"])).code == 0
    copy = tmp_path / "llm-again.jsonl"  # another file (other hash) with the same requests + one new
    records = llm_records()[:2] + [{**llm_records()[0], "request_id": "req-new"}]
    copy.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run_cli("ingest", "llm-usage", str(copy), "--json")
    assert result.code == 0, result.err
    doc = result.json()["files"][0]
    assert (doc["rows_read"], doc["rows_loaded"], doc["rows_rejected"]) == (3, 1, 2)
    reasons = Path(doc["rejected_file"]).read_text()
    assert "request_id req-2026-04-14-0 already loaded from another file" in reasons
    assert pg_state(pg_workspace)[0] == 13


def test_part_files_need_append_and_concurrent_ingests_take_turns(
    pg_db: str, focus_sample: Path, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from warehouse.config import WarehouseConfig
    from warehouse.ingest_focus import ingest_focus_files

    with focus_sample.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)

    def part(name: str, keep: list[dict[str, str]]) -> Path:
        path = tmp_path / name
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(keep)
        return path

    def ingest(path: Path, append: bool = False):  # type: ignore[no-untyped-def]
        return ingest_focus_files(pg_db, [path], WarehouseConfig(), tmp_path / "rejected", append=append)

    first, second = part("part1.csv", rows[:500]), part("part2.csv", rows[500:])
    ingest(first)
    assert ingest(second, append=True).files[0].replaced == []  # joins the previous export
    assert pg_state(pg_db)[0] == 1000
    # Two exports of the same accounts and month at once (two replicas, a CronJob): they take
    # turns, so the later one replaces the earlier instead of both being added.
    a, b = part("export-a.csv", rows), part("export-b.csv", rows[::-1])
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda p: ingest(p, False), [a, b]))
    assert pg_state(pg_db)[0] == 1000
    assert sorted(len(r.files[0].replaced) for r in reports) == [1, 2]


def test_the_memoized_fact_table_follows_ingests(  # type: ignore[no-untyped-def]
    pg_db: str, files: dict[str, Path], focus_sample: Path, tmp_path: Path, monkeypatch
) -> None:
    import warehouse.table_cache as table_cache
    from domain.errors import InputError
    from warehouse.config import WarehouseConfig
    from warehouse.ingest_focus import ingest_focus_files

    september = Period(start=date(2024, 9, 1), end=date(2024, 9, 30))
    ingest_focus_files(pg_db, [files["bill"]], WarehouseConfig(), tmp_path / "rejected")
    backend = open_backend(pg_db)
    try:
        assert spend_breakdown(backend, september, []).rows == []  # memoized: no x_id column yet
        # An ingest in this process (the sample brings its Id column as x_id) invalidates it.
        ingest_focus_files(pg_db, [focus_sample], WarehouseConfig(), tmp_path / "rejected")
        by_id = spend_breakdown(backend, september, ["x_id"])
        assert sum(r["rows"] for r in by_id.rows) == 1000
        # A column another process adds is seen once the memo is older than MAX_AGE_SECONDS.
        with psycopg.connect(pg_db, autocommit=True) as conn:
            conn.execute("ALTER TABLE cost_facts ADD COLUMN x_elsewhere VARCHAR")
        with pytest.raises(InputError, match="unknown dimension 'x_elsewhere'"):
            spend_breakdown(backend, september, ["x_elsewhere"])
        monkeypatch.setattr(table_cache, "MAX_AGE_SECONDS", 0.0)
        assert spend_breakdown(backend, september, ["x_elsewhere"]).rows[0]["x_elsewhere"] == "(none)"
    finally:
        backend.disconnect()
