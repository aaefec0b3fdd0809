"""Hypothesis fuzzing of the FOCUS and LLM-usage parsers (issue 14): arbitrary rows, cells and
encodings never give a traceback, never a partial write, and rows read = loaded + rejected."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import CostpilotError
from tests.conftest import FOCUS_SAMPLE
from warehouse.config import WarehouseConfig
from warehouse.ingest_focus import ingest_focus_files
from warehouse.ingest_llm import ingest_llm_files
from warehouse.ingest_models import IngestReport, IngestStatus

with FOCUS_SAMPLE.open(newline="") as _handle:
    HEADER, *_ROWS = list(csv.reader(_handle))
BASE_ROWS = _ROWS[:12]  # a few rows of each provider's shape are enough; speed matters here
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]

cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "NULL",
            "null",
            "nan",
            "inf",
            "-1e16",
            "1" + "0" * 25,
            "1" * 40,
            "0x10",
            "1,5",
            '"',
            "\n",
            "\r\n",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


class Warehouse:
    """One warehouse for all examples of a test: each example meets the state the earlier ones
    left (restatements, request ids already loaded), and must leave it intact when refused."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state = snapshot(folder)  # after the last example: read once, not twice, per example


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Warehouse]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Warehouse(Path(tmp))


def snapshot(folder: Path) -> tuple[int, int, list[str]]:
    if not (folder / "wh.duckdb").exists():
        return 0, 0, []
    con = duckdb.connect(str(folder / "wh.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT count(*) FROM cost_facts").fetchone()[0]
        ingests = con.execute("SELECT count(*) FROM ingests").fetchone()[0]
    finally:
        con.close()
    rejected = (
        sorted(p.name for p in (folder / "rejected").glob("*")) if (folder / "rejected").exists() else []
    )
    return rows, ingests, rejected


def check_ingest(
    run: Callable[[list[Path]], IngestReport],
    warehouse: Warehouse,
    paths: list[Path],
    expected_rows: int | None,
) -> None:
    """One command: a one-line error naming a file and nothing written, or every file loaded
    (or already there) with every count reconciling, in the report and in the warehouse."""
    folder, before = warehouse.folder, warehouse.state
    try:
        report = run(paths)
    except CostpilotError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message
        assert message.startswith(tuple(str(p) for p in paths)), message
        # Never a partial write: the same rows, ingest records and rejected-rows files, no scratch.
        assert snapshot(folder) == before
        return
    warehouse.state = snapshot(folder)
    assert [f.path for f in report.files] == [str(p) for p in paths]
    for result in report.files:
        assert result.rows_read == result.rows_loaded + result.rows_rejected
        if result.rows_rejected:
            with open(result.rejected_file, newline="", encoding="utf-8", errors="replace") as handle:
                rejected = list(csv.DictReader(handle))
            assert len(rejected) == result.rows_rejected
            assert all(r["reason"] for r in rejected)
        else:
            assert result.rejected_file is None
    if expected_rows is not None and report.files[-1].status is IngestStatus.loaded:
        assert report.files[-1].rows_read == expected_rows
    rows, ingests, files = warehouse.state
    removed = sum(r.rows_removed for f in report.files for r in f.replaced)
    assert rows == before[0] + report.rows_loaded - removed
    assert ingests == before[1] + sum(f.status is IngestStatus.loaded for f in report.files)
    assert files == sorted(
        {*before[2], *(Path(f.rejected_file).name for f in report.files if f.rejected_file)}
    )
    assert not [f for f in files if f.endswith(".tmp")]


@st.composite
def focus_files(draw: st.DrawFn) -> tuple[bytes, int | None]:
    """(file bytes, number of data records written when that number is knowable)."""
    header = list(HEADER)
    rows = [list(r) for r in draw(st.lists(st.sampled_from(BASE_ROWS), min_size=0, max_size=8))]
    knowable = True
    for row in rows:
        for _ in range(draw(st.integers(0, 4))):
            row[draw(st.integers(0, len(row) - 1))] = draw(cells)
        if draw(st.integers(0, 9)) == 0:  # a ragged row: the reader rejects it
            row.extend(draw(st.lists(cells, min_size=1, max_size=2))) if draw(st.booleans()) else row.pop()
    header_edit = draw(st.sampled_from(["none", "none", "drop", "duplicate", "case", "rename"]))
    column = draw(st.integers(0, len(header) - 1))
    if header_edit == "drop":
        del header[column]
        rows = [r[:column] + r[column + 1 :] for r in rows]
    elif header_edit == "duplicate":
        header.append(
            draw(st.sampled_from([header[column], header[column].lower(), f" {header[column].upper()}"]))
        )
        rows = [[*r, draw(cells)] for r in rows]
    elif header_edit == "case":
        header[column] = header[column].swapcase()
    elif header_edit == "rename":
        header[column] = draw(st.text(max_size=12))
    buffer = io.StringIO(newline="")
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    csv.writer(buffer, quoting=quoting, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(
        [header, *rows]
    )
    data = buffer.getvalue().encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    if draw(st.integers(0, 5)) == 0:  # raw bytes spliced in anywhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
        knowable = False
    if draw(st.integers(0, 4)) == 0:
        data = gzip.compress(data)
    return data, len(rows) if knowable else None


@pytest.mark.slow
@settings(max_examples=30)
@given(
    case=focus_files(), with_good=st.booleans(), tag=st.uuids(), append=st.booleans(), shrink=st.booleans()
)
def test_focus_parser_never_tracebacks_never_writes_partially_and_reconciles(
    warehouse: Warehouse,
    case: tuple[bytes, int | None],
    with_good: bool,
    tag: uuid.UUID,
    append: bool,
    shrink: bool,
) -> None:
    data, expected_rows = case
    folder = warehouse.folder
    fuzzed = folder / f"fuzzed-{tag}.csv"
    fuzzed.write_bytes(data)
    paths = [fuzzed]
    if with_good:  # a good file first: refusing the fuzzed one must take it back out
        good = folder / f"good-{tag}.csv"
        with good.open("w", newline="") as handle:
            rows = [r[:] for r in _ROWS[100:110]]
            rows[0][HEADER.index("Id")] = str(tag)  # a new file every time, not one already ingested
            csv.writer(handle).writerows([HEADER, *rows])
        paths.insert(0, good)

    def run(paths: list[Path]) -> IngestReport:
        return ingest_focus_files(
            folder / "wh.duckdb",
            paths,
            WarehouseConfig(),
            folder / "rejected",
            append=append,
            allow_shrink=shrink,
        )

    check_ingest(run, warehouse, paths, expected_rows)


LLM_FIELDS = [
    "request_id",
    "startTime",
    "endTime",
    "model",
    "custom_llm_provider",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "spend",
    "team_id",
    "end_user",
    "request_tags",
    "metadata",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "gpt-4o",
            "2026-11-02T09:30:00Z",
            "9999-12-31T23:00:00+00:00",
            "0001-01-01T00:00:00+05:00",
            "1e999999999",
            "NaN",
            "-5.0",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
GOOD_RECORD = {
    "request_id": "r",
    "startTime": "2026-11-02T09:30:00Z",
    "model": "gpt-4o",
    "prompt_tokens": 10,
    "completion_tokens": 2,
}


@st.composite
def llm_records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = dict(GOOD_RECORD) if draw(st.booleans()) else {}
    record["request_id"] = draw(st.text(max_size=6) | st.integers(0, 5))
    for key in draw(st.lists(st.sampled_from(LLM_FIELDS), max_size=6)):
        record[key] = draw(json_values)
    if draw(st.integers(0, 6)) == 0:
        record["metadata"] = json.dumps(draw(json_values))  # metadata as a JSON string, as CSV logs carry it
    return record


@st.composite
def llm_files(draw: st.DrawFn) -> tuple[bytes, str, int | None]:
    records = draw(st.lists(llm_records(), max_size=8))
    fmt = draw(st.sampled_from(["jsonl", "csv"]))
    knowable = True
    if fmt == "jsonl":
        lines = [json.dumps(r, ensure_ascii=draw(st.booleans())) for r in records]
        for _ in range(draw(st.integers(0, 2))):  # lines that are not JSON objects
            lines.insert(
                draw(st.integers(0, len(lines))),
                draw(
                    st.sampled_from(
                        ["{broken", "[1, 2]", '"text"', "{" * 3000 + "}" * 3000, '{"a": 1, "a": 2}']
                    )
                ),
            )
        text = "\n".join(lines) + "\n"
        rows = len(lines)
    else:
        fields = [
            "request_id",
            "startTime",
            "model",
            *sorted({k for r in records for k in r} - {"request_id", "startTime", "model"}),
        ]
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        for r in records:
            writer.writerow({k: v if isinstance(v, str) else json.dumps(v) for k, v in r.items()})
        text = buffer.getvalue()
        rows = len(records)
    data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
        knowable = False
    if draw(st.integers(0, 4)) == 0:
        data = gzip.compress(data)
    return data, fmt, rows if knowable else None


@pytest.mark.slow
@settings(max_examples=30)
@given(case=llm_files(), with_good=st.booleans(), tag=st.uuids())
def test_llm_parser_never_tracebacks_never_writes_partially_and_reconciles(
    warehouse: Warehouse, case: tuple[bytes, str, int | None], with_good: bool, tag: uuid.UUID
) -> None:
    data, fmt, expected_rows = case
    folder = warehouse.folder
    fuzzed = folder / f"fuzzed-{tag}.{fmt}"
    fuzzed.write_bytes(data)
    paths = [fuzzed]
    if with_good:
        good = folder / f"good-{tag}.jsonl"
        good.write_text(json.dumps({**GOOD_RECORD, "request_id": str(tag), "spend": 1}) + "\n")
        paths.insert(0, good)

    def run(paths: list[Path]) -> IngestReport:
        return ingest_llm_files(folder / "wh.duckdb", paths, WarehouseConfig(), folder / "rejected")

    # A row count is knowable for JSON lines; a CSV cell may hold a newline in any encoding.
    check_ingest(run, warehouse, paths, expected_rows if fmt == "jsonl" else None)
