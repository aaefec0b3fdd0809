"""``costpilot anomalies | movers | unit-costs | forecast | budget`` as a user drives them."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.tools.conftest import SHIFT, SPIKE, synthetic_rows_list, synthetic_warehouse  # noqa: F401

AS_OF = "2026-04-21"


@pytest.fixture
def home(workspace: Path, synthetic_warehouse: Path) -> Path:  # noqa: F811
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copy(synthetic_warehouse, workspace / "warehouse.duckdb")
    return workspace


def test_anomalies_json(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("--as-of", AS_OF, "anomalies", "--period", "2026-04", "--by", "team,service", "--json")
    assert res.code == 0, res.err
    doc = res.json()
    assert set(doc) >= {"anomalies", "provenance", "status"}
    first = doc["anomalies"][0]
    assert set(first) >= {
        "series",
        "start",
        "end",
        "expected",
        "actual",
        "impact",
        "impact_pct",
        "score",
        "root_causes",
    }
    assert first["series"] == {"team": SPIKE[0], "service": SPIKE[1]}
    assert (first["start"], first["end"]) == (SPIKE[2].isoformat(), SPIKE[3].isoformat())
    assert Decimal(first["impact"]) == Decimal(first["actual"]) - Decimal(first["expected"])
    assert first["root_causes"][0] == {
        "dimension": "region", "value": "us-east-1", "contribution": first["root_causes"][0]["contribution"],
    }  # fmt: skip
    assert isinstance(first["root_causes"][0]["contribution"], str)
    assert [a["series"] for a in doc["anomalies"]][1] == {"team": SHIFT[0], "service": SHIFT[1]}
    # Thresholds from the command line: a $100k floor leaves nothing.
    quiet = run_cli(
        "--as-of", AS_OF, "anomalies", "--period", "2026-04", "--min-impact", "100000", "--json"
    ).json()
    assert quiet["anomalies"] == [] and quiet["settings"]["rule"]["min_impact"] == "100000"
    text = run_cli("--as-of", AS_OF, "anomalies", "--period", "2026-04")
    assert text.code == 0 and "2 anomalies" in text.out and "us-east-1" in text.out


def test_anomalies_on_a_series_file(run_cli, workspace: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = ["timestamp,value"] + [
        f"2026-03-{1 + i // 24:02d}T{i % 24:02d}:00:00Z,{100 + (i % 24)}" for i in range(24 * 10)
    ]
    lines[24 * 9 + 5] = "2026-03-10T04:00:00Z,900"
    path = tmp_path / "requests.csv"
    path.write_text("\n".join(lines) + "\n")
    res = run_cli("anomalies", "--series", str(path), "--json")
    assert res.code == 0, res.err
    doc = res.json()
    assert [(a["series"], a["start"], a["end"]) for a in doc["anomalies"]] == [
        ({"series": "requests.csv"}, "2026-03-10T04:00:00", "2026-03-10T04:00:00")
    ]
    assert doc["season"] == 24
    path.write_text("timestamp,value\n2026-03-01T00:00,1\n2026-03-01T01:00,2\n2026-03-01T01:07,3\n")
    irregular = run_cli("anomalies", "--series", str(path), "--json")
    assert irregular.code == 0 and any("steps between rows vary" in n for n in irregular.json()["notes"])
    path.write_text("timestamp,value\n2026-03-01T00:00,1\n2026-03-01T01:00,abc\n2026-03-01T02:00,3\n")
    bad = run_cli("anomalies", "--series", str(path))
    assert (
        bad.code == 2
        and bad.err.startswith("costpilot: error: ")
        and "row 3: 'abc' is not a number" in bad.err
    )
    assert bad.err.count("\n") == 1 and bad.out == ""


def test_forecast_json(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("--as-of", AS_OF, "forecast", "--by", "team", "--horizon", "7", "--json")
    assert res.code == 0, res.err
    doc = res.json()
    assert {json.dumps(f["series"]) for f in doc["forecasts"]} == {
        json.dumps({"team": t}) for t in ("payments", "search", "ml")
    }
    f = doc["forecasts"][0]
    assert f["model"] == "ets(A,Ad,A)" and len(f["points"]) == 7
    assert f["points"][0]["date"] == "2026-04-21" and doc["left_out"] == ["2026-04-21"]
    p = f["points"][0]
    assert (
        Decimal(p["lo95"])
        <= Decimal(p["lo80"])
        <= Decimal(p["mean"])
        <= Decimal(p["hi80"])
        <= Decimal(p["hi95"])
    )
    m = f["month_end"]
    assert Decimal(m["lo80"]) <= Decimal(m["projected"]) <= Decimal(m["hi80"])
    assert Decimal(m["actual_to_date"]) < Decimal(m["projected"])
    text = run_cli("--as-of", AS_OF, "forecast")
    assert text.code == 0 and "ets(A,Ad,A)" in text.out and "left out 2026-04-21" in text.out


def test_movers_and_unit_costs(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli(
        "--as-of", AS_OF, "movers", "--period", "2026-04-20..2026-04-26", "--by", "team,service", "--json"
    )
    assert res.code == 0, res.err
    doc = res.json()
    assert doc["compare"] == {"start": "2026-04-13", "end": "2026-04-19"}
    top = doc["movers"][0]
    assert (top["team"], top["service"]) == (SHIFT[0], SHIFT[1]) and Decimal(top["share_of_delta"]) > Decimal(
        "0.8"
    )
    assert Decimal(doc["delta"]) == Decimal(doc["current_total"]) - Decimal(doc["previous_total"])
    res = run_cli(
        "movers", "--period", "2026-04-20..2026-04-26", "--compare", "2026-03-20..2026-03-26", "--json"
    )
    assert res.json()["compare"]["start"] == "2026-03-20"
    units = run_cli("unit-costs", "--period", "2026-04-14..2026-04-16", "--json")
    assert units.code == 0, units.err
    rows = {(r["feature"], r["model"]): r for r in units.json()["rows"]}
    assert rows[("support-bot", "gpt-4o")]["cost_per_1k_tokens"] == "0.0035"
    assert rows[("support-bot", "gpt-4o")]["cost_per_request"] == "0.00875"
    text = run_cli("unit-costs", "--period", "2026-04-14..2026-04-16")
    assert text.code == 0 and "support-bot" in text.out


def test_budgets(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("budget", "status").err.strip() == (
        "costpilot: error: no budgets yet; add one with `costpilot budget set --scope total --amount N`"
    )
    made = run_cli("budget", "set", "--scope", "total", "--amount", "20000", "--soft", "15000", "--json")
    assert made.code == 0, made.err
    assert made.json()["created"] is True and made.json()["budget"]["amount"] == "20000"
    # Re-setting without --soft keeps the stored soft amount; --clear-soft removes it.
    again = run_cli("budget", "set", "--scope", "total", "--amount", "30000", "--json").json()
    assert again["created"] is False and again["budget"]["soft_amount"] == "15000"
    below = run_cli("budget", "set", "--scope", "total", "--amount", "10000")
    assert below.code == 2 and "below the stored soft amount 15000" in below.err
    cleared = run_cli(
        "budget", "set", "--scope", "total", "--amount", "30000", "--clear-soft", "--json"
    ).json()
    assert cleared["budget"]["soft_amount"] is None
    run_cli("budget", "set", "--scope", "team=ml", "--amount", "10000", "--period", "quarter")
    listed = run_cli("budget", "list", "--json").json()["budgets"]
    assert [(b["scope_kind"], b["scope_value"], b["period"], b["amount"]) for b in listed] == [
        ("team", "ml", "quarter", "10000"), ("total", "", "month", "30000"),
    ]  # fmt: skip
    status = run_cli("--as-of", AS_OF, "budget", "status", "--json")
    assert status.code == 0, status.err
    by_scope = {b["scope"]: b for b in status.json()["budgets"]}
    total = by_scope["total"]
    assert total["period"] == {"start": "2026-04-01", "end": "2026-04-30"}
    assert Decimal(total["pct_used"]) == (Decimal(total["spent"]) / 300).quantize(Decimal("0.01"))
    assert total["alert_level"] == 50 and total["projected_overrun"] is False
    assert by_scope["team=ml"]["period"]["end"] == "2026-06-30"
    text = run_cli("--as-of", AS_OF, "budget", "status")
    assert text.code == 0 and "team=ml" in text.out
    # Data ends 2026-04-30: as of mid-June, status says so instead of a silent 0 spent.
    stale = run_cli("--as-of", "2026-06-15", "budget", "status", "--json")
    assert stale.code == 0, stale.err
    june = {b["scope"]: b for b in stale.json()["budgets"]}["total"]
    assert june["spent"] == "0" and "no data since 2026-05-01" in june["note"]
    assert "no data since 2026-05-01" in run_cli("--as-of", "2026-06-15", "budget", "status").out


def test_budget_scope_must_match_cost_rows_unless_forced(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("budget", "set", "--scope", "team=nobody", "--amount", "100")
    assert res.code == 2 and res.err.count("\n") == 1
    assert "scope team=nobody: no cost rows have team 'nobody'" in res.err and "force it" in res.err
    assert run_cli("budget", "list", "--json").json()["budgets"] == []
    forced = run_cli("budget", "set", "--scope", "team=nobody", "--amount", "100", "--force", "--json")
    assert forced.code == 0 and forced.json()["budget"]["scope_value"] == "nobody"
    assert run_cli("budget", "set", "--scope", "team=ml", "--amount", "100").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("anomalies", "--period", "2030-01"), "no cost rows in 2030-01-01..2030-01-31"),
        (("anomalies", "--period", "2026-04", "--by", "colour"), "unknown dimension 'colour'"),
        (("anomalies", "--period", "2026-04", "--filter", "colour=red"), "unknown dimension 'colour'"),
        (
            ("anomalies", "--period", "2026-04", "--combine", "xor"),
            "combine 'xor': Input should be 'and' or 'or'",
        ),
        (("anomalies", "--period", "someday"), "unknown period 'someday'"),
        (("forecast", "--horizon", "0"), "horizon 0: Input should be greater than or equal to 1"),
        (("forecast", "--by", "team,day"), "--by day: series are daily already"),
        (("anomalies", "--by", "month"), "--by month: series are daily already"),
        (("forecast", "--by", "colour"), "unknown dimension 'colour'"),
        (("forecast", "--filter", "team=nobody"), "with team=nobody"),
        (("forecast", "--engine", "prophet"), "--engine 'prophet'"),
        (("movers", "--period", "2031-01"), "no cost rows in 2031-01-01..2031-01-31 nor in"),
        (("unit-costs", "--period", "2026-01"), "no LLM usage rows"),
        (("budget", "set", "--scope", "colour=red", "--amount", "5"), "unknown scope"),
        (("budget", "set", "--scope", "total", "--amount", "-5"), "amount -5: must be greater than 0"),
        (("budget", "set", "--scope", "total", "--amount", "five"), "--amount 'five': not a number"),
        (("budget", "set", "--scope", "total", "--amount", "5", "--soft", "9"), "soft amount 9"),
        (("budget", "set", "--scope", "total", "--amount", "5", "--period", "year"), "--period 'year'"),
        (
            ("budget", "set", "--scope", "total", "--amount", "5.005"),
            "amount 5.005: budgets are in whole cents",
        ),
        (
            ("budget", "set", "--scope", "total", "--amount", "5", "--soft", "1.001"),
            "soft amount 1.001: budgets are in",
        ),
        (
            ("budget", "set", "--scope", "total", "--amount", "5", "--soft", "1", "--clear-soft"),
            "one or the other",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_cli, home: Path, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("--as-of", AS_OF, *args)
    assert res.code == 2, res.out
    assert res.err.startswith("costpilot: error: ") and message in res.err and res.err.count("\n") == 1


def test_forecast_budget_crossing(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    doc = run_cli("--as-of", AS_OF, "forecast", "--budget", "20000", "--json").json()
    month = doc["forecasts"][0]["month_end"]
    assert month["budget"] == "20000"
    # Cumulative April spend passes 20,000 on a forecast day before the month ends.
    assert "2026-04-21" <= month["budget_crossed_on"] <= "2026-04-30"
    assert Decimal(month["projected"]) > 20000
    never = run_cli("--as-of", AS_OF, "forecast", "--budget", "99999999", "--json").json()
    assert never["forecasts"][0]["month_end"]["budget_crossed_on"] is None
    text = run_cli("--as-of", AS_OF, "forecast", "--budget", "20000")
    assert "budget 20,000.00 USD crossed 2026-04-" in text.out
    bad = run_cli("--as-of", AS_OF, "forecast", "--budget", "-1")
    assert bad.code == 2 and "--budget '-1': must be a positive amount" in bad.err


def test_anomalies_report_budget_burn(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    """Check 3: budgets projected to overrun or ahead of pace are listed beside the anomalies."""
    plain = run_cli("--as-of", AS_OF, "anomalies", "--period", "2026-04", "--json").json()
    assert plain["budget_burn"] == []
    assert run_cli("budget", "set", "--scope", "team=ml", "--amount", "1000").code == 0
    assert run_cli("budget", "set", "--scope", "team=search", "--amount", "1000000").code == 0
    doc = run_cli("--as-of", AS_OF, "anomalies", "--period", "2026-04", "--json").json()
    assert [b["scope"] for b in doc["budget_burn"]] == ["team=ml"]
    burn = doc["budget_burn"][0]
    assert burn["period_start"] == "2026-04-01" and burn["pct_elapsed"] == pytest.approx(66.67)
    assert Decimal(burn["spent"]) > 1000 and burn["pct_used"] > 100
    assert burn["reasons"][0].startswith("projected ") and "over the budget of 1000" in burn["reasons"][0]
    assert "% of the period gone" in burn["reasons"][1]
    assert burn["crossed_on"] < AS_OF
    text = run_cli("--as-of", AS_OF, "anomalies", "--period", "2026-04")
    assert "budget burn: team=ml (month 2026-04-01..2026-04-30)" in text.out


def test_forecast_on_stale_data_names_the_gap(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("--as-of", "2026-06-15", "forecast", "--horizon", "5", "--json")
    assert res.code == 0, res.err
    doc = res.json()
    assert doc["left_out"] == ["2026-06-15"] and doc["no_data_since"] == "2026-05-01"
    assert doc["forecast_start"] == "2026-06-15" and doc["forecasts"][0]["points"][0]["date"] == "2026-06-15"
    assert doc["forecasts"][0]["month_end"]["actual_to_date"] == "0"
    assert "all of it is forecast" in doc["forecasts"][0]["month_end"]["note"]
    text = run_cli("--as-of", "2026-06-15", "forecast", "--horizon", "5").out
    assert "Forecast from 2026-06-15" in text and "no data since 2026-05-01" in text


def test_anomaly_options_reach_the_detector(run_cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = ("--as-of", AS_OF, "anomalies", "--period", "2026-04", "--by", "team,service", "--json")
    usage = run_cli(*base).json()
    every = run_cli(*base, "--baseline", "all", "--no-drill-down", "--volatility", "mad").json()
    assert usage["settings"]["volatility"] == "tail" and every["settings"]["volatility"] == "mad"
    assert (usage["baseline"], every["baseline"]) == ("usage", "all")
    assert usage["drill_dimension"] is not None and every["drill_dimension"] is None
    # The injected spike is found whatever the options; the options are not silently dropped.
    assert usage["anomalies"][0]["series"] == every["anomalies"][0]["series"]
    bad = run_cli(*base, "--baseline", "credits")
    assert bad.code == 2 and "baseline" in bad.err and bad.err.count("\n") == 1
    lines = ["timestamp,value"] + [
        f"2026-03-{1 + i // 24:02d}T{i % 24:02d}:00,{100 + i % 24}" for i in range(240)
    ]
    path = tmp_path / "local.csv"
    path.write_text("\n".join(lines) + "\n")
    berlin = run_cli(
        "anomalies", "--series", str(path), "--timezone", "Europe/Berlin", "--aggregate", "sum", "--json"
    )
    assert berlin.code == 0, berlin.err
    assert berlin.json()["anomalies"] == [] and berlin.json()["season"] == 24
    mars = run_cli("anomalies", "--series", str(path), "--timezone", "Mars/Olympus")
    assert mars.code == 2 and "timezone 'Mars/Olympus': not an IANA zone name" in mars.err
