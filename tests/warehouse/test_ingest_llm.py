"""LLM usage logs become priced FOCUS rows; nothing is ever loaded at $0 silently."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from domain.errors import FileRejected
from warehouse.config import PriceOverride, WarehouseConfig
from warehouse.ingest_llm import ingest_llm_files
from warehouse.ingest_models import IngestStatus
from warehouse.prices import find_price

BASE = {
    "custom_llm_provider": "openai",
    "startTime": "2026-11-02T09:30:00Z",
    "endTime": "2026-11-02T09:30:02Z",
}


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def ingest(tmp_path: Path, *paths: Path, config: WarehouseConfig | None = None):  # type: ignore[no-untyped-def]
    return ingest_llm_files(
        tmp_path / "wh.duckdb", list(paths), config or WarehouseConfig(), tmp_path / "rejected"
    )


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_priced_from_the_table_with_cache_tokens(tmp_path: Path) -> None:
    # gpt-4o: input 2.5e-6, cache read 1.25e-6, output 1e-5 USD per token (LiteLLM 1.109.1).
    record = {
        **BASE,
        "request_id": "a",
        "model": "gpt-4o",
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "cache_read_input_tokens": 400,
        "team_id": "payments",
        "request_tags": ["feature:search-summary", "env:prod"],
        "metadata": {"cost_center": "cc-42"},
    }
    result = ingest(tmp_path, write_jsonl(tmp_path / "a.jsonl", [record])).files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1, 1, 0)
    (row,) = rows(
        tmp_path,
        "SELECT EffectiveCost, BilledCost, ServiceCategory, ConsumedUnit, ConsumedQuantity, "
        "x_model, x_prompt_tokens, x_cache_read_tokens, team, feature, env, cost_center, "
        "x_cost_source, ProviderName FROM cost_facts",
    )
    # 600 × 2.5e-6 + 400 × 1.25e-6 + 200 × 1e-5 = 0.0015 + 0.0005 + 0.002
    assert row == (
        Decimal("0.004"),
        Decimal("0.004"),
        "AI and Machine Learning",
        "tokens",
        Decimal(1200),
        "gpt-4o",
        1000,
        400,
        "payments",
        "search-summary",
        "prod",
        "cc-42",
        "price_table",
        "OpenAI",
    )


def test_anthropic_cache_creation_is_priced(tmp_path: Path) -> None:
    price = find_price("claude-haiku-4-5")
    assert price is not None and price.cache_creation_input_token_cost is not None
    record = {
        **BASE,
        "request_id": "c",
        "model": "claude-haiku-4-5",
        "custom_llm_provider": "anthropic",
        "prompt_tokens": 3000,
        "completion_tokens": 100,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 1500,
    }
    ingest(tmp_path, write_jsonl(tmp_path / "c.jsonl", [record]))
    expected = (
        500 * price.input_cost_per_token
        + 1000 * price.cache_read_input_token_cost
        + 1500 * price.cache_creation_input_token_cost
        + 100 * price.output_cost_per_token
    )
    assert rows(tmp_path, "SELECT EffectiveCost FROM cost_facts") == [(expected,)]


def test_spend_from_the_log_wins_but_zero_spend_is_repriced(tmp_path: Path) -> None:
    logged = {
        **BASE,
        "request_id": "l",
        "model": "gpt-4o-mini",
        "prompt_tokens": 10,
        "completion_tokens": 10,
        "spend": 0.125,
    }
    zero = {
        **BASE,
        "request_id": "z",
        "model": "gpt-4o-mini",
        "prompt_tokens": 1000,
        "completion_tokens": 0,
        "spend": 0,
    }
    ingest(tmp_path, write_jsonl(tmp_path / "s.jsonl", [logged, zero]))
    got = dict(rows(tmp_path, "SELECT x_request_id, EffectiveCost FROM cost_facts"))
    assert got == {"l": Decimal("0.125"), "z": Decimal("0.00015")}  # 1000 × 1.5e-7


def test_unknown_model_is_rejected_or_priced_from_config(tmp_path: Path) -> None:
    record = {
        **BASE,
        "request_id": "u",
        "model": "acme-llm-7b",
        "prompt_tokens": 100,
        "completion_tokens": 50,
    }
    result = ingest(tmp_path, write_jsonl(tmp_path / "u.jsonl", [record])).files[0]
    assert result.rows_rejected == 1 and result.rows_loaded == 0
    reason = list(csv.DictReader(Path(result.rejected_file).read_text().splitlines()))[0]
    assert reason["row"] == "1" and "unknown model 'acme-llm-7b'" in reason["reason"]

    config = WarehouseConfig(
        prices={
            "acme-llm-7b": PriceOverride(
                input_cost_per_token=Decimal("0.000001"), output_cost_per_token=Decimal("0.000002")
            )
        }
    )
    other = tmp_path / "other"
    ingest(other, write_jsonl(tmp_path / "u2.jsonl", [record]), config=config)
    assert rows(other, "SELECT EffectiveCost, x_cost_source FROM cost_facts") == [
        (Decimal("0.0002"), "custom_price")
    ]


def test_bad_records_each_get_a_reason(tmp_path: Path) -> None:
    good = {**BASE, "request_id": "g", "model": "gpt-4o-mini", "prompt_tokens": 10, "completion_tokens": 1}
    records = [
        good,
        "{not json",
        {**good, "request_id": "g"},  # duplicate
        {**good, "request_id": "n", "prompt_tokens": -5},
        {**good, "request_id": "t", "startTime": "soon"},
        {**good, "request_id": "k", "cache_read_input_tokens": 50},
        {**good, "request_id": None},
        {**good, "request_id": "s", "spend": "lots"},
    ]
    result = ingest(tmp_path, write_jsonl(tmp_path / "bad.jsonl", records)).files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (8, 1, 7)
    reasons = {
        r["row"]: r["reason"] for r in csv.DictReader(Path(result.rejected_file).read_text().splitlines())
    }
    assert reasons == {
        "2": "line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        "3": "duplicate request_id g (first at row 1)",
        "4": "prompt_tokens: negative token count -5",
        "5": "startTime: not a date/time: soon",
        "6": "cache tokens (50) exceed prompt_tokens (10)",
        "7": "missing request_id",
        "8": "spend: not a number: lots",
    }


def test_csv_logs_and_idempotent_reingest(tmp_path: Path) -> None:
    path = tmp_path / "logs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle,
            [
                "request_id",
                "startTime",
                "model",
                "prompt_tokens",
                "completion_tokens",
                "spend",
                "request_tags",
                "metadata",
            ],
        )
        writer.writeheader()
        writer.writerow(
            {
                "request_id": "x1",
                "startTime": "2026-11-02T10:00:00Z",
                "model": "gpt-4o",
                "prompt_tokens": "100",
                "completion_tokens": "10",
                "spend": "0.00035",
                "request_tags": '["feature:chat"]',
                "metadata": '{"user_api_key_team_alias": "growth"}',
            }
        )
    ingest(tmp_path, path)
    second = ingest(tmp_path, path).files[0]
    assert second.status is IngestStatus.already_ingested
    assert rows(tmp_path, "SELECT team, feature, EffectiveCost FROM cost_facts") == [
        ("growth", "chat", Decimal("0.00035"))
    ]


def test_request_loaded_from_another_file_is_not_counted_twice(tmp_path: Path) -> None:
    record = {
        **BASE,
        "request_id": "dup",
        "model": "gpt-4o",
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "spend": 1,
    }
    ingest(tmp_path, write_jsonl(tmp_path / "one.jsonl", [record]))
    result = ingest(
        tmp_path, write_jsonl(tmp_path / "two.jsonl", [record, {**record, "request_id": "new"}])
    ).files[0]
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert "request_id dup already loaded" in Path(result.rejected_file).read_text()


def test_a_parquet_or_binary_file_is_not_a_log(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_bytes(b"PAR1\x00\x00")
    with pytest.raises(FileRejected, match="not a jsonl / csv file"):
        ingest(tmp_path, bad)
    missing = tmp_path / "m.csv"
    missing.write_text("a,b\n1,2\n")
    with pytest.raises(FileRejected, match="missing column\\(s\\) request_id, startTime, model"):
        ingest(tmp_path, missing)
