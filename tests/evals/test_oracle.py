"""The independent oracle: raw files → the numbers an answer must show, without the product's code."""

from __future__ import annotations

import ast
import gzip
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.oracle import Budget, Expect, Oracle, resolve_period
from evals.oracle_data import read_raw

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)  # a Monday
ALIASES = {
    "team": ["team", "Team", "user:team"],
    "feature": ["feature", "user:feature"],
    "env": ["env", "user:env"],
    "cost_center": ["cost_center"],
    "tenant": ["tenant"],
}
PRICES = {
    "gpt-4o": {
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "cache_read_input_token_cost": 1.25e-06,
    },
    "mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
}
HEADER = '"ChargePeriodStart","EffectiveCost","BilledCost","ListCost","ContractedCost","ChargeCategory","ServiceName","ServiceCategory","ProviderName","RegionId","SubAccountName","Tags"'


def _row(day: str, cost: str, service: str, tags: str, category: str = "Usage") -> str:
    tag_field = "" if tags == "" else '"' + tags.replace('"', '""') + '"'
    return (
        f'"{day}T00:00:00Z","{cost}","{cost}","{cost}","{cost}","{category}","{service}","Compute","AWS",'
        f'"eu-west-1","acme-prod",{tag_field}'
    )


@pytest.fixture
def raw(tmp_path: Path) -> dict[str, list[Path]]:
    focus = tmp_path / "focus"
    focus.mkdir()
    rows = [
        _row("2026-11-16", "100.0000000001", "EC2", '{"user:team": " payments ", "user:env": "prod"}'),
        _row("2026-11-16", "50.5", "EC2", '{"team": "", "Team": "search", "env": "prod"}'),
        _row("2026-11-17", "25.25", "S3", "{}"),
        _row("2026-11-18", "10", "S3", ""),
        _row("2026-11-09", "80", "EC2", '{"team": "payments"}'),
        _row("2026-11-10", "-5", "EC2", '{"team": "payments"}', category="Credit"),
    ]
    (focus / "aws.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    # The same columns in another case and gzip: read the same way.
    (focus / "more.csv.gz").write_bytes(
        gzip.compress((HEADER.lower() + "\n" + _row("2026-11-19", "1", "EC2", "NULL") + "\n").encode())
    )
    llm = tmp_path / "llm"
    llm.mkdir()
    records = [
        {"request_id": "a", "startTime": "2026-11-20T10:00:00Z", "model": "gpt-4o", "custom_llm_provider": "openai",
         "prompt_tokens": 1000, "completion_tokens": 100, "spend": 0.125,
         "request_tags": ["feature:chat", "team:search"], "metadata": {"feature": "summary"}},
        {"request_id": "b", "startTime": "2026-11-20T11:00:00Z", "model": "gpt-4o", "custom_llm_provider": "openai",
         "prompt_tokens": 1000, "completion_tokens": 100, "cache_read_input_tokens": 400, "spend": None,
         "metadata": {"user_api_key_team_alias": "search", "feature": "summary"}},
        {"request_id": "c", "startTime": "2026-11-21T11:00:00Z", "model": "mini", "custom_llm_provider": "openai",
         "prompt_tokens": 2000, "completion_tokens": 0, "spend": 0, "metadata": {"feature": "rewrite"}},
        {"request_id": "d", "startTime": "2026-11-21T12:00:00Z", "model": "unknown-llm", "prompt_tokens": 5,
         "completion_tokens": 5, "spend": None},
        {"request_id": "a", "startTime": "2026-11-21T13:00:00Z", "model": "gpt-4o", "prompt_tokens": 1,
         "completion_tokens": 1, "spend": 9.0},
    ]  # fmt: skip
    (llm / "log.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return {"focus": sorted(focus.iterdir()), "llm": [llm / "log.jsonl"]}


def _oracle(raw: dict[str, list[Path]], **kwargs) -> Oracle:  # type: ignore[no-untyped-def]
    return Oracle(read_raw(raw["focus"], raw["llm"], ALIASES, PRICES), TODAY, **kwargs)


def _shown(expects: list[Expect]) -> list[str]:
    return [e.shown() for e in expects]


def test_focus_rows_take_the_first_non_blank_alias_trimmed_and_untagged_otherwise(raw) -> None:
    data = read_raw(raw["focus"], [], ALIASES, PRICES)
    frame = data.frame.sort_values(["day", "EffectiveCost"])
    assert data.focus_rows == 7
    assert list(frame["team"]) == [
        "payments",
        "payments",
        "search",
        "payments",
        "(untagged)",
        "(untagged)",
        "(untagged)",
    ]
    assert frame["EffectiveCost"].iloc[3] == Decimal("100.0000000001")  # exact, not a float


def test_llm_costs_come_from_the_log_else_the_price_table_and_unpriceable_or_repeated_requests_are_left_out(
    raw,
) -> None:
    data = read_raw([], raw["llm"], ALIASES, PRICES)
    rows = sorted(zip(data.frame["EffectiveCost"], data.frame["feature"], strict=True))
    # c: spend 0 with tokens → priced (2000 × 1.5e-07); b: 600 input + 400 cache-read + 100 output
    # priced; a: the log's spend. "summary" from metadata beats "chat" from request_tags.
    assert rows == [
        (Decimal("0.0003"), "rewrite"),
        (Decimal("0.003"), "summary"),
        (Decimal("0.125"), "summary"),
    ]
    assert data.llm_left_out == {"unpriceable": 1, "duplicate request_id": 1}
    assert set(data.frame["team"]) == {"search", "(untagged)"}  # the team alias fills in when no tag
    assert set(data.frame["service"]) == {"OpenAI API"}


def test_spend_expectations_total_rows_and_shares(raw) -> None:
    oracle = _oracle(raw)
    assert _shown(oracle.expectations("spend", {"period": "2026-11-16..2026-11-19", "by": []})) == ["186.75"]
    by_team = oracle.expectations("spend", {"period": "last-week", "by": ["team"]})
    assert [(e.label, e.shown()) for e in by_team] == [
        ("total 2026-11-16..2026-11-22", "186.88"),
        ("payments", "100.00"), ("share of payments", "53.5%"),
        ("search", "50.63"), ("share of search", "27.1%"),
        ("(untagged)", "36.25"), ("share of (untagged)", "19.4%"),
    ]  # fmt: skip
    top = oracle.expectations("spend", {"period": "last-week", "by": ["team"], "top": 1})
    assert _shown(top) == ["186.88", "100.00", "53.5%"]
    filtered = oracle.expectations("spend", {"period": "last-week", "filters": {"team": ["search"]}})
    assert _shown(filtered) == ["50.63"]
    with pytest.raises(ValueError, match="cannot filter by 'colour'"):
        oracle.expectations("spend", {"period": "last-week", "filters": {"colour": ["red"]}})


def test_movers_compare_the_period_before_and_rank_by_absolute_change(raw) -> None:
    oracle = _oracle(raw)
    found = oracle.expectations("movers", {"period": "last-week", "by": ["team"]})
    labels = [(e.label, e.shown()) for e in found][:6]
    assert labels == [
        ("current total 2026-11-16..2026-11-22", "186.88"),
        ("previous total 2026-11-09..2026-11-15", "75.00"),
        ("total change", "111.88"),
        ("search change", "50.63"),
        ("search before", "0.00"),
        ("search now", "50.63"),
    ]


def test_unit_costs_per_1k_tokens_and_per_request(raw) -> None:
    oracle = _oracle(raw)
    found = {e.label: e.shown() for e in oracle.expectations("unit_costs", {"period": "last-7d"})}
    assert found["summary on gpt-4o"] == "0.13"  # 0.125 + 0.003
    assert found["summary on gpt-4o per 1k tokens"] == "0.058182"  # 0.128 × 1000 / 2200, half-even
    assert found["summary on gpt-4o per request"] == "0.064000"
    assert found["rewrite on mini per request"] == "0.000300"


def test_anomaly_expectations_are_the_spikes_inside_window_and_scope(raw) -> None:
    truth = [
        {"start": "2026-11-16", "end": "2026-11-16", "kind": "spike", "series": {"team": "payments", "service": "EC2"}},
        {"start": "2026-10-01", "end": "2026-10-02", "kind": "spike", "series": {"team": "payments", "service": "EC2"}},
        {"start": "2026-11-17", "end": "2026-11-17", "kind": "tag_loss", "series": {"team": "(untagged)", "service": "S3"}},
    ]  # fmt: skip
    oracle = _oracle(raw, truth=truth)
    by_team = oracle.expectations("anomalies", {"period": "last-7d", "by": ["team"], "filters": {}})
    assert [(e.label, e.shown()) for e in by_team] == [("spike payments 2026-11-16..2026-11-16", "100.00")]
    assert (
        oracle.expectations("anomalies", {"period": "last-7d", "by": [], "filters": {"team": ["search"]}})
        == []
    )
    # a credit is not usage: the same day's total usage only
    assert _shown(oracle.expectations("anomalies", {"period": "last-7d", "by": [], "filters": {}})) == [
        "150.50"
    ]


def test_budget_and_forecast_expectations_are_month_to_date(raw) -> None:
    oracle = _oracle(raw, budgets=[Budget("total", Decimal(1000)), Budget("team=payments", Decimal(200))])
    assert _shown(oracle.expectations("budget_status", {})) == ["261.88", "1,000.00", "175.00", "200.00"]
    assert _shown(oracle.expectations("forecast", {"filters": {"team": ["payments"]}})) == ["175.00"]
    assert oracle.expectations("rightsize", {}) == []  # checked for grounding only


def test_idle_counts_nonprod_workloads_near_zero_cpu(tmp_path: Path) -> None:
    stamps = pd.date_range("2026-11-15", periods=7 * 288, freq="5min", tz="UTC")
    frames = []
    for ns, workload, cpu in (("a-dev", "quiet", 0.002), ("a-dev", "busy", 0.5), ("a-prod", "quiet", 0.002)):
        frames.append(pd.DataFrame({"timestamp": stamps, "cluster": "c", "namespace": ns, "workload_kind": "Deployment",
                                    "workload": workload, "container": "app", "container_type": "regular", "cpu_cores": cpu}))  # fmt: skip
    path = tmp_path / "u.parquet"
    pd.concat(frames).to_parquet(path)
    oracle = Oracle(read_raw([], [], ALIASES, PRICES), TODAY, utilization=path)
    assert _shown(oracle.expectations("idle", {"days": 7})) == ["1"]


@given(st.integers(1, 400), st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_last_n_days_end_yesterday_and_hold_n_days(n: int, today: date) -> None:
    start, end = resolve_period(f"last-{n}d", today)
    assert end == today - timedelta(days=1)
    assert (end - start).days + 1 == n


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_named_periods(today: date) -> None:
    start, end = resolve_period("last-week", today)
    assert start.weekday() == 0 and (end - start).days == 6 and end < today <= end + timedelta(days=7)
    start, end = resolve_period("last-month", today)
    assert start.day == 1 and end == today.replace(day=1) - timedelta(days=1)
    assert resolve_period("this-month", today) == (today.replace(day=1), today)
    assert resolve_period(f"{today:%Y-%m}", today)[0] == today.replace(day=1)
    assert resolve_period("2026-10-01..2026-10-14", today) == (date(2026, 10, 1), date(2026, 10, 14))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_oracle_never_imports_the_products_query_code() -> None:
    forbidden = ("warehouse", "tools", "services", "agent", "guardrails", "domain")
    seen, todo, offenders = set(), ["evals.oracle"], []
    while todo:  # follow evals.* imports transitively
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in _imports(ROOT / (module.replace(".", "/") + ".py")):
            if name.split(".")[0] in forbidden:
                offenders.append(f"{module} imports {name}")
            elif name.startswith("evals."):
                todo.append(name)
    assert seen >= {"evals.oracle", "evals.oracle_data"}
    assert offenders == []
