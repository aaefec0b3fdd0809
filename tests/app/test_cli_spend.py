"""``costpilot ingest focus`` and ``costpilot spend`` as a user drives them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path


def test_ingest_then_spend_json(run_cli, workspace: Path, focus_sample: Path) -> None:  # type: ignore[no-untyped-def]
    ingest = run_cli("ingest", "focus", str(focus_sample), "--json")
    assert ingest.code == 0, ingest.err
    doc = ingest.json()
    assert (doc["rows_read"], doc["rows_loaded"], doc["rows_rejected"]) == (1000, 1000, 0)
    assert doc["files"][0]["extra_columns"] == ["x_id"]

    result = run_cli("spend", "--period", "2024-09", "--by", "env,provider", "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["period"] == {"start": "2024-09-01", "end": "2024-09-30"}
    assert (doc["currency"], doc["measure"], doc["total"]) == ("USD", "EffectiveCost", "14.97651418586")
    first = doc["rows"][0]
    assert set(first) == {"env", "provider", "cost", "share", "rows"}
    assert (first["env"], first["provider"], first["cost"], first["share"]) == ("dev", "AWS", "16", "1.0683")
    assert sum(Decimal(r["cost"]) for r in doc["rows"]) == Decimal(doc["total"])
    assert doc["provenance"]["rows_scanned"] == 1000 and "cost_facts" in doc["provenance"]["query"]


def test_filters_measures_and_relative_periods(run_cli, workspace: Path, focus_sample: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", "focus", str(focus_sample))
    billed = run_cli(
        "--as-of",
        "2024-10-15",
        "spend",
        "--period",
        "last-month",
        "--measure",
        "BilledCost",
        "--filter",
        "provider=AWS,Oracle",
        "--json",
    ).json()
    assert billed["period"] == {"start": "2024-09-01", "end": "2024-09-30"}
    assert billed["provenance"]["filters"] == {"provider": "AWS,Oracle"}
    import csv

    with focus_sample.open(newline="") as handle:
        want = sum(
            Decimal(r["BilledCost"]) for r in csv.DictReader(handle) if r["ProviderName"] in ("AWS", "Oracle")
        )
    assert Decimal(billed["total"]) == want
    text = run_cli("spend", "--period", "2024-09", "--by", "env")
    assert text.code == 0
    assert "EffectiveCost 2024-09-01..2024-09-30: 14.98 USD" in text.out
    assert "(untagged)" in text.out and "█" in text.out


def test_bad_input_is_one_line_and_exit_2(
    run_cli, workspace: Path, focus_sample: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    empty = run_cli("spend", "--period", "2024-09")
    assert empty.code == 2 and "no warehouse yet" in empty.err
    run_cli("ingest", "focus", str(focus_sample))
    cases = {
        ("spend", "--period", "2030-01"): "no cost rows in 2030-01-01..2030-01-31",
        ("spend", "--period", "someday"): "unknown period 'someday'",
        ("spend", "--period", "2024-09", "--by", "colour"): "unknown dimension 'colour'",
        ("spend", "--period", "2024-09", "--filter", "team"): "expected KEY=VALUE",
        (
            "spend",
            "--period",
            "2024-09",
            "--measure",
            "Price",
        ): "measure 'Price': Input should be 'EffectiveCost'",
        ("--as-of", "tomorrow", "spend"): "--as-of 'tomorrow': not a date",
        ("ingest", "focus", str(tmp_path / "nope.csv")): "nope.csv: no such file",
    }
    for args, message in cases.items():
        result = run_cli(*args)
        assert result.code == 2, args
        assert message in result.err, (args, result.err)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
        assert result.out == ""


def test_the_workspace_keeps_a_log_of_ingests_and_refusals(
    run_cli, workspace: Path, focus_sample: Path
) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", "focus", str(focus_sample))
    run_cli("spend", "--period", "2031-01")
    log = (workspace / "logs" / "costpilot.log").read_text()
    assert "read 1000, loaded 1000, rejected 0" in log
    assert "refused: no cost rows in 2031-01-01..2031-01-31" in log


def test_ingest_a_folder_of_exports(run_cli, workspace: Path, focus_sample: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exports" / "2024-09"
    folder.mkdir(parents=True)
    (folder / "part-1.csv").write_bytes(focus_sample.read_bytes())
    (folder / "notes.txt").write_text("not an export")
    result = run_cli("ingest", "focus", str(tmp_path / "exports"), "--json")
    assert result.code == 0, result.err
    assert [Path(f["path"]).name for f in result.json()["files"]] == ["part-1.csv"]
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = run_cli("ingest", "focus", str(empty))
    assert refused.code == 2 and "no .csv / .csv.gz / .parquet files in this folder" in refused.err


def test_repeated_by_options_add_up(run_cli, workspace: Path, focus_sample: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("ingest", "focus", str(focus_sample))
    doc = run_cli("spend", "--period", "2024-09", "--by", "env", "--by", "provider", "--json").json()
    assert doc["by"] == ["env", "provider"] and set(doc["rows"][0]) >= {"env", "provider"}
    twice = run_cli("spend", "--period", "2024-09", "--by", "env", "--by", "env")
    assert twice.code == 2 and "listed twice" in twice.err
