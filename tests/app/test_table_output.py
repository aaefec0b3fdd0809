"""Issue #15 item 8: in a log or a pipe, tables are not cut to 80 columns; ``--format csv|markdown``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from rich.table import Table

from app.render import SafeConsole

LONG = (
    "/subscriptions/9ec51cfd-5ca7-4d76-8101-dd0a4abc5674/resourcegroups/analyticsengine/providers/"
    "microsoft.containerservice/managedclusters/analyticsengine"
)


@pytest.fixture
def ingested(run_cli: Any, workspace: Path, focus_sample: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from app.render import console

    assert run_cli("ingest", "focus", str(focus_sample)).code == 0
    # What rich assumes of a pipe or a log (no terminal to ask): 80 columns.
    monkeypatch.setattr(console, "_width", 80)
    return workspace


def test_piped_table_keeps_long_series_names_and_amounts_whole(run_cli: Any, ingested: Path) -> None:
    result = run_cli("spend", "--period", "2024-09", "--by", "resource")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    row = next(line for line in lines if LONG in line)  # the whole name, on one line
    assert "1.58 USD" in row and "10.6%" in row
    assert not any("…" in line for line in lines)
    assert max(len(line) for line in lines) > 150


def test_csv_has_every_row_with_its_amount(run_cli: Any, ingested: Path) -> None:
    doc = run_cli("spend", "--period", "2024-09", "--by", "env,provider", "--json").json()
    out = run_cli("spend", "--period", "2024-09", "--by", "env,provider", "--format", "csv")
    assert out.code == 0, out.err
    rows = list(csv.reader(io.StringIO(out.out)))
    assert rows[0] == ["env", "provider", "cost (USD)", "share"]  # the bar column is decoration, left out
    assert len(rows) - 1 == len(doc["rows"])
    assert rows[1] == ["dev", "AWS", "16.00", "106.8%"]


def test_markdown_table_is_github_markdown(run_cli: Any, ingested: Path) -> None:
    out = run_cli("spend", "--period", "2024-09", "--by", "env", "--format", "markdown")
    assert out.code == 0, out.err
    lines = out.out.splitlines()
    assert lines[0] == "EffectiveCost 2024-09-01..2024-09-30: 14.98 USD"
    assert lines[2:4] == ["| env | cost | share |", "|---|---:|---:|"]
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[4:])
    assert any(line.startswith("| dev | 16.00 USD |") for line in lines)


def test_an_unknown_format_is_one_line_exit_2(run_cli: Any, ingested: Path) -> None:
    out = run_cli("spend", "--period", "2024-09", "--by", "env", "--format", "xlsx")
    assert out.code == 2 and out.out == ""
    assert out.err == "costpilot: error: --format 'xlsx': not a table format; valid: table, csv, markdown\n"


def test_the_format_does_not_leak_into_the_next_command(run_cli: Any, ingested: Path) -> None:
    run_cli("spend", "--period", "2024-09", "--by", "env", "--format", "csv")
    table = run_cli("spend", "--period", "2024-09", "--by", "env")
    assert "┃ env" in table.out  # a rich table again: the demo runs many commands in one process


def test_a_terminal_still_fits_its_width() -> None:
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, force_terminal=True, width=60, color_system=None)
    table = Table("series", "cost")
    table.add_row(LONG, "1.58 USD")
    console.print(table)
    assert max(len(line) for line in buffer.getvalue().splitlines()) <= 60


def test_csv_stdout_stays_csv(run_cli: Any, ingested: Path) -> None:
    total = run_cli("spend", "--period", "2024-09", "--format", "csv")
    assert total.code == 0, total.err
    assert total.out == "measure,period,total (USD)\nEffectiveCost,2024-09-01..2024-09-30,14.98\n"
    assert total.err == ""


def test_in_csv_mode_lines_beside_tables_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from app.render import console, reset_format, use_format

    use_format("csv")
    try:
        table = Table("team", "cost")
        table.add_row("payments", "1.00 USD")
        console.print("untagged team: 5.4% of spend")
        console.print(table)
    finally:
        reset_format()
    captured = capsys.readouterr()
    assert captured.out == "team,cost (USD)\npayments,1.00\n"
    assert captured.err == "untagged team: 5.4% of spend\n"


def test_csv_money_and_counts_are_plain_numbers_with_the_currency_in_the_header() -> None:
    from rich.table import Table

    from app.render import _csv

    table = Table()
    for name in ("team", "cost", "tokens", "share"):
        table.add_column(name)
    table.add_row("payments", "24,168.37 USD", "2,315,795", "13.8%")
    table.add_row("search", "-210.17 USD", "840", "3.6%")
    assert _csv(table).splitlines() == [
        "team,cost (USD),tokens,share",
        "payments,24168.37,2315795,13.8%",
        "search,-210.17,840,3.6%",
    ]
