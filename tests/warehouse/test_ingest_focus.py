"""FOCUS ingest: exact totals, every row loaded or rejected with a reason, whole-file failures."""

from __future__ import annotations

import csv
import gzip
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from domain.errors import FileRejected
from warehouse.config import WarehouseConfig
from warehouse.ingest_focus import ingest_focus_files
from warehouse.ingest_models import IngestStatus


def independent_totals(path: Path) -> tuple[Decimal, Decimal, int]:
    """BilledCost and EffectiveCost summed with the csv module and Decimal (not our code)."""
    billed = effective = Decimal(0)
    count = 0
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            billed += Decimal(row["BilledCost"])
            effective += Decimal(row["EffectiveCost"])
            count += 1
    return billed, effective, count


def totals(db: Path) -> tuple[Decimal, Decimal, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        billed, effective, count = con.execute(
            "SELECT coalesce(sum(BilledCost), 0), coalesce(sum(EffectiveCost), 0), count(*) FROM cost_facts"
        ).fetchone()
    finally:
        con.close()
    return Decimal(billed), Decimal(effective), count


def ingest(tmp_path: Path, *paths: Path, config: WarehouseConfig | None = None):  # type: ignore[no-untyped-def]
    return ingest_focus_files(
        tmp_path / "wh.duckdb", list(paths), config or WarehouseConfig(), tmp_path / "rejected"
    )


def test_reference_sample_totals_match_to_the_cent(tmp_path: Path, focus_sample: Path) -> None:
    report = ingest(tmp_path, focus_sample)
    result = report.files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1000, 1000, 0)
    assert result.extra_columns == ["x_id"]
    billed, effective, count = totals(tmp_path / "wh.duckdb")
    want_billed, want_effective, want_count = independent_totals(focus_sample)
    assert count == want_count == 1000
    # Exact, not only to the cent: 20.52022672899 and 14.97651418586.
    assert billed == want_billed == Decimal("20.52022672899")
    assert effective == want_effective == Decimal("14.97651418586")


def test_same_file_twice_is_a_no_op(tmp_path: Path, focus_sample: Path) -> None:
    ingest(tmp_path, focus_sample)
    before = totals(tmp_path / "wh.duckdb")
    again = ingest(tmp_path, focus_sample).files[0]
    assert again.status is IngestStatus.already_ingested
    assert "already ingested" in again.summary_line()
    assert totals(tmp_path / "wh.duckdb") == before


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet"])
def test_gzip_and_parquet_give_the_same_totals(tmp_path: Path, focus_sample: Path, fmt: str) -> None:
    target = tmp_path / f"sample.{fmt}"
    if fmt == "csv.gz":
        with focus_sample.open("rb") as src, gzip.open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT * FROM read_csv('{focus_sample}', all_varchar=true, nullstr='NULL')) TO '{target}' (FORMAT parquet)"
        )
        con.close()
    ingest(tmp_path, target)
    want_billed, want_effective, _ = independent_totals(focus_sample)
    assert totals(tmp_path / "wh.duckdb") == (want_billed, want_effective, 1000)


def test_column_names_are_case_insensitive(tmp_path: Path, focus_sample: Path, focus_variant) -> None:  # type: ignore[no-untyped-def]
    lower = focus_variant("lower.csv", header_map=str.lower)
    result = ingest(tmp_path, lower).files[0]
    assert result.rows_loaded == 1000
    assert totals(tmp_path / "wh.duckdb")[0] == independent_totals(focus_sample)[0]


def test_bad_rows_are_rejected_with_row_and_reason(tmp_path: Path, focus_variant) -> None:  # type: ignore[no-untyped-def]
    def edit(rows):  # type: ignore[no-untyped-def]
        rows[0]["BilledCost"] = "12,5 EUR"
        rows[1]["ChargePeriodStart"] = "yesterday-ish"
        rows[2]["ServiceName"] = "NULL"
        rows[3]["BillingCurrency"] = "EUR"
        rows[4]["Tags"] = "[1, 2]"
        rows[5]["EffectiveCost"] = "-1.25"  # a credit: valid
        rows[6]["ChargeCategory"] = "Bogus"
        rows[7]["ChargeCategory"] = "usage"  # case differs from the spec: accepted as Usage

    path = focus_variant("bad.csv", edit)
    result = ingest(tmp_path, path).files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1000, 994, 6)
    assert result.rows_read == result.rows_loaded + result.rows_rejected
    with open(result.rejected_file, newline="") as handle:
        rejected = {int(r["row"]): r["reason"] for r in csv.DictReader(handle)}
    assert rejected == {
        1: "BilledCost: not a number: 12,5 EUR",
        2: "ChargePeriodStart: not a date/time: yesterday-ish",
        3: "missing ServiceName",
        4: "BillingCurrency EUR differs from the dataset currency USD",
        5: "Tags: not a JSON object",
        7: "ChargeCategory: not one of Usage, Purchase, Tax, Credit, Adjustment: Bogus",
    }
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    credit, category = con.execute(
        "SELECT (SELECT EffectiveCost FROM cost_facts WHERE x_source_row = 6), "
        "(SELECT ChargeCategory FROM cost_facts WHERE x_source_row = 8)"
    ).fetchone()
    con.close()
    assert (credit, category) == (Decimal("-1.25"), "Usage")


def test_lines_with_wrong_column_count_are_rejected_not_dropped(tmp_path: Path, focus_sample: Path) -> None:
    lines = focus_sample.read_text().splitlines()
    lines.insert(3, '"only","three","values"')
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    result = ingest(tmp_path, path).files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1001, 1000, 1)
    reasons = Path(result.rejected_file).read_text()
    assert "line 4: missing columns" in reasons


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary\xff", "binary content"),
        (b"a,b,c\n1,2,3\n", "missing mandatory column(s) BilledCost"),
        (b"", "empty file"),
    ],
)
def test_unusable_files_load_nothing(
    tmp_path: Path, focus_sample: Path, content: bytes, message: str
) -> None:
    ingest(tmp_path, focus_sample)
    before = totals(tmp_path / "wh.duckdb")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(FileRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest(tmp_path, bad)
    assert totals(tmp_path / "wh.duckdb") == before


def test_a_failing_load_leaves_nothing_behind(tmp_path: Path, focus_variant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import warehouse.loader as loader

    path = focus_variant("x.csv", lambda rows: rows[0].update(BilledCost="oops"))
    monkeypatch.setattr(loader, "_insert_sql", lambda *args: "INSERT INTO cost_facts SELECT nonsense")
    with pytest.raises(Exception, match="nothing loaded"):
        ingest(tmp_path, path)
    monkeypatch.undo()
    assert totals(tmp_path / "wh.duckdb") == (Decimal(0), Decimal(0), 0)
    assert not list((tmp_path / "rejected").glob("*"))
    # And the file was not marked as ingested: a retry loads it.
    assert ingest(tmp_path, path).files[0].rows_loaded == 999


def test_newer_export_of_same_account_and_month_replaces_the_older(tmp_path: Path, focus_variant) -> None:  # type: ignore[no-untyped-def]
    def only_azure(rows):  # type: ignore[no-untyped-def]
        rows[:] = [r for r in rows if r["ProviderName"] == "Microsoft"]

    def restated(rows):  # type: ignore[no-untyped-def]
        only_azure(rows)
        for r in rows:
            r["EffectiveCost"] = "1.00"

    old = focus_variant("azure-v1.csv", only_azure)
    new = focus_variant("azure-v2.csv", restated)
    aws = focus_variant(
        "aws.csv", lambda rows: rows.__setitem__(slice(None), [r for r in rows if r["ProviderName"] == "AWS"])
    )
    ingest(tmp_path, old)
    ingest(tmp_path, aws)
    _, effective_before, count_before = totals(tmp_path / "wh.duckdb")
    result = ingest(tmp_path, new).files[0]
    assert len(result.replaced) == 1
    replaced = result.replaced[0]
    assert replaced.path == str(old) and replaced.rows_removed == 51
    assert "replaced 51 rows of older export" in result.summary_line()
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    azure = con.execute(
        "SELECT sum(EffectiveCost), count(*) FROM cost_facts WHERE ProviderName='Microsoft'"
    ).fetchone()
    aws_count = con.execute("SELECT count(*) FROM cost_facts WHERE ProviderName='AWS'").fetchone()[0]
    con.close()
    assert azure == (Decimal("51"), 51)  # only the new export's rows
    assert aws_count == 942  # another account is untouched


def test_files_given_together_are_one_export(tmp_path: Path, focus_variant) -> None:  # type: ignore[no-untyped-def]
    part1 = focus_variant("part1.csv", lambda rows: rows.__setitem__(slice(None), rows[:500]))
    part2 = focus_variant("part2.csv", lambda rows: rows.__setitem__(slice(None), rows[500:]))
    report = ingest(tmp_path, part1, part2)
    assert [f.replaced for f in report.files] == [[], []]
    assert totals(tmp_path / "wh.duckdb")[2] == 1000


def test_tag_aliases_fill_allocation_dimensions(tmp_path: Path, focus_sample: Path) -> None:
    config = WarehouseConfig(
        tag_aliases={
            "team": ["org"],
            "env": ["environment", "env"],
            "feature": ["application"],
            "cost_center": ["business_unit", "CostCenter"],
            "tenant": [],
        }
    )
    ingest(tmp_path, focus_sample, config=config)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    envs = dict(con.execute("SELECT env, count(*) FROM cost_facts GROUP BY env").fetchall())
    teams = dict(con.execute("SELECT team, count(*) FROM cost_facts GROUP BY team").fetchall())
    con.close()
    assert set(envs) >= {"dev", "prod", "(untagged)"}
    assert sum(envs.values()) == 1000  # untagged spend is kept, not dropped
    assert "trey" in teams and "(untagged)" in teams


def test_timestamps_with_offsets_are_converted_to_utc(tmp_path: Path, focus_variant) -> None:  # type: ignore[no-untyped-def]
    def edit(rows):  # type: ignore[no-untyped-def]
        rows[0]["ChargePeriodStart"] = "2024-09-18T23:30:00+02:00"
        rows[1]["ChargePeriodStart"] = "2024-09-18T21:30:00Z"
        rows[2]["ChargePeriodStart"] = "2024-09-18 21:30:00"
        rows[3]["ChargePeriodStart"] = "2024-09-18T16:30:00-0500"

    ingest(tmp_path, focus_variant("tz.csv", edit))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    got = con.execute(
        "SELECT strftime(ChargePeriodStart, '%Y-%m-%d %H:%M') FROM cost_facts WHERE x_source_row <= 4 ORDER BY x_source_row"
    ).fetchall()
    con.close()
    assert got == [("2024-09-18 21:30",)] * 4


def test_row_numbers_stay_right_when_a_large_csv_is_read_in_parallel(
    tmp_path: Path, focus_sample: Path
) -> None:
    # ~70 MB: several reader buffers, so DuckDB parses it on more than one thread.
    header, *lines = focus_sample.read_text().splitlines()
    body = lines * 100
    bad_row = 73_001
    body[bad_row - 1] = body[bad_row - 1].replace(",0.", ",zero.", 1)
    path = tmp_path / "large.csv"
    path.write_text("\n".join([header, *body]) + "\n")
    result = ingest(tmp_path, path).files[0]
    assert (result.rows_read, result.rows_rejected) == (100_000, 1)
    rejected = list(csv.DictReader(Path(result.rejected_file).read_text().splitlines()))
    assert rejected[0]["row"] == str(bad_row) and "not a number: zero." in rejected[0]["reason"]
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT min(x_source_row), max(x_source_row), count(DISTINCT x_source_row) FROM cost_facts"
    ).fetchone()
    con.close()
    assert rows == (1, 100_000, 99_999)


def test_part_files_ingested_in_separate_runs_need_append(tmp_path: Path, focus_variant) -> None:  # type: ignore[no-untyped-def]
    part1 = focus_variant("part1.csv", lambda rows: rows.__setitem__(slice(None), rows[:500]))
    part2 = focus_variant("part2.csv", lambda rows: rows.__setitem__(slice(None), rows[500:]))
    db, rejected = tmp_path / "wh.duckdb", tmp_path / "rejected"
    ingest_focus_files(db, [part1], WarehouseConfig(), rejected)
    second = ingest_focus_files(db, [part2], WarehouseConfig(), rejected, append=True).files[0]
    assert second.replaced == []
    assert totals(db)[2] == 1000
    # Without --append a later file of the same account and month is a restatement: it replaces.
    again = ingest_focus_files(tmp_path / "other.duckdb", [part1], WarehouseConfig(), rejected)
    assert again.files[0].rows_loaded == 500
    restated = ingest_focus_files(tmp_path / "other.duckdb", [part2], WarehouseConfig(), rejected).files[0]
    assert restated.replaced and "replaced" in restated.summary_line()
