"""Issue 14, item 10: hostile or careless ingest input is refused in one line, or rejected row by
row with a reason, and a command loads all of its files or none of them."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from domain.errors import CostpilotError, FileRejected, InputError
from domain.period import Period
from warehouse.config import WarehouseConfig
from warehouse.connection import open_backend
from warehouse.ingest_focus import ingest_focus_files
from warehouse.ingest_llm import ingest_llm_files
from warehouse.paths import expand_inputs
from warehouse.query import spend_breakdown

SEPTEMBER = Period(start=date(2024, 9, 1), end=date(2024, 9, 30))
AWS_ACCOUNT = "1234567890123"


def sample_rows(focus_sample: Path) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(focus_sample.open(newline="")))
    return header, rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def state(tmp_path: Path) -> tuple[int, Decimal, int, list[str]]:
    """Rows, total BilledCost and ingest records in the warehouse, and files in rejected/."""
    db = tmp_path / "wh.duckdb"
    rejected = (
        sorted(p.name for p in (tmp_path / "rejected").glob("*")) if (tmp_path / "rejected").exists() else []
    )
    if not db.exists():
        return 0, Decimal(0), 0, rejected
    con = duckdb.connect(str(db), read_only=True)
    try:
        count, total = con.execute("SELECT count(*), coalesce(sum(BilledCost), 0) FROM cost_facts").fetchone()
        ingests = con.execute("SELECT count(*) FROM ingests").fetchone()[0]
    finally:
        con.close()
    return count, Decimal(total), ingests, rejected


def focus(tmp_path: Path, *paths: Path, **kwargs):  # type: ignore[no-untyped-def]
    return ingest_focus_files(
        tmp_path / "wh.duckdb", list(paths), WarehouseConfig(), tmp_path / "rejected", **kwargs
    )


def llm(tmp_path: Path, *paths: Path):  # type: ignore[no-untyped-def]
    return ingest_llm_files(tmp_path / "wh.duckdb", list(paths), WarehouseConfig(), tmp_path / "rejected")


def reasons(result) -> dict[int, str]:  # type: ignore[no-untyped-def]
    with open(result.rejected_file, newline="") as handle:
        return {int(r["row"]): r["reason"] for r in csv.DictReader(handle)}


LLM_BASE = {
    "startTime": "2026-11-02T09:30:00Z",
    "model": "gpt-4o-mini",
    "prompt_tokens": 10,
    "completion_tokens": 2,
}


# ---- implausible magnitudes ------------------------------------------------------------------


def test_implausible_magnitudes_are_rejected_rows_with_a_reason(tmp_path: Path, focus_sample: Path) -> None:
    header, rows = sample_rows(focus_sample)
    col = {name: header.index(name) for name in ("BilledCost", "EffectiveCost", "ConsumedQuantity")}
    edits = {
        0: ("BilledCost", "1" + "0" * 25),  # 1e25, 26 digits: fits DECIMAL(38, 12), overflows sums
        1: ("BilledCost", "1" + "0" * 30),  # too long for the column at all
        2: ("EffectiveCost", "-1e16"),
        3: ("ConsumedQuantity", "1e20"),
        4: ("BilledCost", "999999999999999"),  # just under the bound: a (huge) real line
        5: ("BilledCost", "-1000000000000000"),  # exactly the bound: allowed
    }
    for index, (name, value) in edits.items():
        rows[index][col[name]] = value
    # Many rows at the bound must still sum without overflow: 300 × 1e15 = 3e17.
    for index in range(10, 310):
        rows[index][col["EffectiveCost"]] = "1000000000000000"
    result = focus(tmp_path, write_csv(tmp_path / "big.csv", header, rows)).files[0]

    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1000, 996, 4)
    limit = " (|value| must be at most 1e15)"
    assert reasons(result) == {
        1: "BilledCost: implausible magnitude 10000000000000000000000000" + limit,
        2: "BilledCost: implausible magnitude 1" + "0" * 30 + limit,
        3: "EffectiveCost: implausible magnitude -1e16" + limit,
        4: "ConsumedQuantity: implausible magnitude 1e20" + limit,
    }
    with localcontext(prec=60):  # Python's default 28 digits would round this oracle's sum
        expected = sum((Decimal(r[col["EffectiveCost"]]) for r in rows[4:]), Decimal(0))
    backend = open_backend(tmp_path / "wh.duckdb")
    try:
        (total,) = spend_breakdown(backend, SEPTEMBER, []).rows
        by_service = spend_breakdown(backend, SEPTEMBER, ["ServiceName"]).rows
    finally:
        backend.disconnect()
    # Sept. only: the one Oracle row charged in October's billing period is in September too.
    assert total["cost"] == expected and total["rows"] == 996
    with localcontext(prec=60):
        assert sum(r["cost"] for r in by_service) == expected


def test_implausible_magnitudes_in_typed_parquet_are_rejected_rows_not_a_failed_load(
    tmp_path: Path, focus_sample: Path
) -> None:
    options = pa_csv.ConvertOptions(null_values=["NULL"], strings_can_be_null=True)
    table = pa_csv.read_csv(focus_sample, convert_options=options)
    billed = table.column("BilledCost").to_pylist()
    billed[0], billed[1] = 1e30, float("nan")
    table = table.set_column(
        table.schema.get_field_index("BilledCost"), "BilledCost", pa.array(billed, pa.float64())
    )
    pq.write_table(table, tmp_path / "typed.parquet")
    result = focus(tmp_path, tmp_path / "typed.parquet").files[0]
    assert (result.rows_loaded, result.rows_rejected) == (998, 2)
    got = reasons(result)
    assert got[1] == "BilledCost: not representable as DECIMAL(38, 12): 1e+30"
    assert got[2] == "BilledCost: not representable as DECIMAL(38, 12): nan"


def test_implausible_llm_spend_and_token_counts_are_rejected_with_a_reason(tmp_path: Path) -> None:
    records = [
        {**LLM_BASE, "request_id": "ok", "spend": 0.5},
        {**LLM_BASE, "request_id": "huge", "spend": 1e25},
        {**LLM_BASE, "request_id": "tokens", "prompt_tokens": 10**20},
        {**LLM_BASE, "request_id": "exp", "completion_tokens": "1e999999999"},
        {**LLM_BASE, "request_id": "frac", "completion_tokens": 1.5},
    ]
    result = llm(tmp_path, write_jsonl(tmp_path / "u.jsonl", records)).files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 1, 4)
    assert reasons(result) == {
        2: "spend: implausible amount 1e+25 (at most 1e15 a request)",
        3: "prompt_tokens: implausible token count 100000000000000000000 (at most 1e15)",
        4: "completion_tokens: implausible token count 1e999999999 (at most 1e15)",
        5: "completion_tokens: not an integer: 1.5",
    }
    assert state(tmp_path)[1] == Decimal("0.5")


# ---- all-or-nothing ----------------------------------------------------------------------------


def test_one_command_is_all_or_nothing_across_its_files(tmp_path: Path, focus_sample: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    header, rows = sample_rows(focus_sample)
    write_csv(folder / "a-good.csv", header, rows)
    (folder / "b-bad.csv").write_bytes(b"\x00\x01\x02\xff binary, not a CSV")
    with pytest.raises(FileRejected) as caught:
        focus(tmp_path, *expand_inputs([folder], (".csv",)))
    message = str(caught.value)
    assert message == (
        f"{folder / 'b-bad.csv'}: not a csv / parquet file (binary content); "
        "nothing loaded from any of the 2 files (one ingest is all-or-nothing)"
    )
    assert state(tmp_path) == (0, Decimal(0), 0, [])
    # Without the bad file the same command loads the good one.
    report = focus(tmp_path, folder / "a-good.csv")
    assert report.rows_loaded == 1000 and state(tmp_path)[0] == 1000


def test_a_file_failing_after_others_were_written_rolls_them_all_back(tmp_path: Path) -> None:
    good = write_jsonl(
        tmp_path / "a.jsonl", [{**LLM_BASE, "request_id": f"r{i}", "spend": 1} for i in range(50)]
    )
    with_rejects = write_jsonl(
        tmp_path / "b.jsonl",
        [{**LLM_BASE, "request_id": "x", "spend": 2}, {**LLM_BASE, "request_id": "neg", "spend": -1}],
    )
    # A gzip file whose header is fine but whose data is cut off: found only when it is parsed,
    # after a.jsonl and b.jsonl (with its rejected rows file) were already written.
    payload = gzip.compress(
        b"".join(json.dumps({**LLM_BASE, "request_id": f"z{i}"}).encode() + b"\n" for i in range(2000))
    )
    broken = tmp_path / "c.jsonl.gz"
    broken.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(FileRejected) as caught:
        llm(tmp_path, good, with_rejects, broken)
    message = str(caught.value)
    assert message.startswith(f"{broken}: corrupt gzip data after record ")
    assert message.endswith("; nothing loaded from any of the 3 files (one ingest is all-or-nothing)")
    assert "\n" not in message
    assert state(tmp_path) == (0, Decimal(0), 0, [])
    report = llm(tmp_path, good, with_rejects)
    assert (report.rows_loaded, report.rows_rejected) == (51, 1)
    assert state(tmp_path)[:3] == (51, Decimal(52), 2)


# ---- duplicate column names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("BilledCost", "BilledCost (columns 2 and 45)"),
        ("billedcost", "BilledCost/billedcost (columns 2 and 45)"),
        (" BILLEDCOST ", "BilledCost/BILLEDCOST (columns 2 and 45)"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_duplicate_column_names_are_refused_with_one_line_naming_them(
    tmp_path: Path, focus_sample: Path, extra: str, named: str, fmt: str
) -> None:
    header, rows = sample_rows(focus_sample)
    rows = [[*r, "999"] for r in rows]
    path = write_csv(tmp_path / "dup.csv", [*header, extra], rows)
    if fmt == "csv.gz":
        path = tmp_path / "dup.csv.gz"
        path.write_bytes(gzip.compress((tmp_path / "dup.csv").read_bytes()))
    elif fmt == "parquet":
        path = tmp_path / "dup.parquet"
        columns = list(zip(*rows, strict=True))
        pq.write_table(pa.Table.from_arrays([pa.array(c) for c in columns], names=[*header, extra]), path)
    with pytest.raises(FileRejected) as caught:
        focus(tmp_path, path)
    assert str(caught.value) == (
        f"{path}: duplicate column names (compared case-insensitively): {named}; nothing loaded"
    )
    assert state(tmp_path) == (0, Decimal(0), 0, [])


def test_duplicate_column_names_in_an_llm_log_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("request_id,startTime,model,spend,Spend\nr1,2026-11-02T09:30:00Z,gpt-4o,1,2\n")
    with pytest.raises(
        FileRejected,
        match=r"log\.csv: duplicate column names \(compared case-insensitively\): spend/Spend \(columns 4 and 5\); nothing loaded$",
    ):
        llm(tmp_path, path)
    # In JSON lines a key given twice is one rejected record (json would keep the last silently).
    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"request_id": "a", "startTime": "2026-11-02T09:30:00Z", "model": "gpt-4o", "spend": 1, "spend": 900}\n'
        '{"request_id": "b", "startTime": "2026-11-02T09:30:00Z", "model": "gpt-4o", "spend": 1, "Spend": 900}\n'
        '{"request_id": "c", "startTime": "2026-11-02T09:30:00Z", "model": "gpt-4o", "spend": 1}\n'
    )
    result = llm(tmp_path, log).files[0]
    assert reasons(result) == {
        1: "line 1: not valid JSON (duplicate key 'spend')",
        2: "line 2: keys 'spend' and 'Spend' differ only in case",
    }
    assert state(tmp_path)[:2] == (1, Decimal(1))


# ---- negative LLM spend --------------------------------------------------------------------------


def test_negative_llm_spend_is_rejected_with_a_reason(tmp_path: Path) -> None:
    records = [
        {**LLM_BASE, "request_id": "a", "spend": 10.0},
        {**LLM_BASE, "request_id": "b", "spend": -5.0},
        {**LLM_BASE, "request_id": "c", "spend": "-0.000001"},
    ]
    result = llm(tmp_path, write_jsonl(tmp_path / "neg.jsonl", records)).files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 1, 2)
    assert reasons(result) == {
        2: "spend: negative amount -5.0 (a request cannot cost less than 0)",
        3: "spend: negative amount -0.000001 (a request cannot cost less than 0)",
    }
    assert state(tmp_path)[1] == Decimal("10")  # the total is not lowered


# ---- restatements that shrink a period --------------------------------------------------------------


def aws_export(tmp_path: Path, focus_sample: Path, name: str, keep: int | None = None) -> Path:
    header, rows = sample_rows(focus_sample)
    account = header.index("BillingAccountId")
    aws = [r for r in rows if r[account] == AWS_ACCOUNT]
    return write_csv(tmp_path / name, header, aws[:keep] if keep is not None else aws)


def test_a_restatement_that_shrinks_a_period_needs_allow_shrink(tmp_path: Path, focus_sample: Path) -> None:
    focus(tmp_path, aws_export(tmp_path, focus_sample, "aws-v1.csv"))
    before = state(tmp_path)
    assert before[0] == 942
    partial = aws_export(tmp_path, focus_sample, "aws-v2-partial.csv", keep=10)
    with pytest.raises(InputError) as caught:
        focus(tmp_path, partial)
    assert str(caught.value) == (
        f"{partial}: this export would replace the 942 rows of billing account '{AWS_ACCOUNT}', "
        "period 2024-09-01, with 10, a shrink of more than 50%: a partial export? "
        "Use --allow-shrink to replace anyway; nothing loaded"
    )
    assert state(tmp_path) == before
    # Said on purpose: the partial export replaces the older one, and the report says so.
    result = focus(tmp_path, partial, allow_shrink=True).files[0]
    assert [(r.path, r.rows_removed) for r in result.replaced] == [(str(tmp_path / "aws-v1.csv"), 942)]
    assert state(tmp_path)[0] == 10


def test_shrink_is_measured_in_rows_per_account_period_with_a_configurable_share(
    tmp_path: Path, focus_sample: Path
) -> None:
    focus(tmp_path, aws_export(tmp_path, focus_sample, "v1.csv"))
    # 472 of 942 rows (50.1%): not more than half gone, a plain restatement.
    result = focus(tmp_path, aws_export(tmp_path, focus_sample, "v2.csv", keep=472)).files[0]
    assert [r.rows_removed for r in result.replaced] == [942]
    # 100 of 472 rows (−79%) passes with max_shrink 0.8, is refused with the default.
    v3 = aws_export(tmp_path, focus_sample, "v3.csv", keep=100)
    with pytest.raises(InputError, match="a shrink of more than 50%"):
        focus(tmp_path, v3)
    assert focus(tmp_path, v3, max_shrink=Decimal("0.8")).files[0].replaced[0].rows_removed == 472
    with pytest.raises(InputError, match="max_shrink 1.5: must be a share between 0 and 1"):
        focus(tmp_path, v3, max_shrink=Decimal("1.5"))


def test_part_files_of_a_restatement_count_together(tmp_path: Path, focus_sample: Path) -> None:
    focus(tmp_path, aws_export(tmp_path, focus_sample, "v1.csv"))
    header, rows = sample_rows(focus_sample)
    aws = [r for r in rows if r[header.index("BillingAccountId")] == AWS_ACCOUNT]
    part1 = write_csv(tmp_path / "v2-part1.csv", header, aws[:300])
    part2 = write_csv(tmp_path / "v2-part2.csv", header, aws[300:])
    report = focus(tmp_path, part1, part2)  # each part alone would be a shrink; together they are not
    assert [[r.rows_removed for r in f.replaced] for f in report.files] == [[942], []]
    assert state(tmp_path)[0] == 942


def test_every_ingest_error_is_one_line(tmp_path: Path, focus_sample: Path) -> None:
    header, rows = sample_rows(focus_sample)
    cases = [
        write_csv(
            tmp_path / "nl.csv", [*header, "Bad\nName", "bad\nname"], [[*r, "1", "2"] for r in rows[:3]]
        ),
        write_csv(tmp_path / "esc.csv", ["\x1b[31mBilledCost", "x"], [["1", "2"]]),
    ]
    for path in cases:
        with pytest.raises(CostpilotError) as caught:
            focus(tmp_path, path)
        assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value), str(caught.value)
        assert str(caught.value).startswith(str(path))


def test_duplicates_are_found_from_duckdb_renames_when_the_header_cannot_be_split() -> None:
    from warehouse.ingest_focus import _duplicates_in

    names = ["BilledCost", "Id", "billedcost_1", "x_1", "BILLEDCOST_2"]
    assert _duplicates_in(names, None) == (
        "duplicate column names (compared case-insensitively): BilledCost/billedcost/BILLEDCOST (columns 1, 3 and 5)"
    )
    assert _duplicates_in(["a", "a_1"], ["a", "a_1"]) is None  # a real column called a_1
