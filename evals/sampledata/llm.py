"""LLM gateway spend logs in LiteLLM's spend-log shape (JSONL, plus one CSV slice).

One row stands for one request *shape* but aggregates a bucket of requests of one feature in
one hour (token counts are the bucket's sums), which keeps the demo at tens of thousands of
rows. ``prompt_tokens`` includes the cache-read and cache-creation tokens; ``spend`` is priced
exactly from the LiteLLM price table:

    (prompt - cache_read - cache_creation) × input_cost_per_token
    + cache_read × cache_read_input_token_cost + cache_creation × cache_creation_input_token_cost
    + completion × output_cost_per_token

About 10% of rows carry ``spend: null`` (the ingester prices them), and three rows use a model
missing from the price table (the ingester must reject them with a reason).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from evals.sampledata import ai_catalog as ai
from evals.sampledata.catalog import team as team_entry
from evals.sampledata.focus import day_list

# The entries of LiteLLM's price table v1.109.1 (MIT, Berri AI) for the catalogue's models,
# copied verbatim (floats as in the source) so spend = Decimal(str(price)) × tokens is exact.
PRICE_TABLE = Path(__file__).with_name("model_prices_subset.json")
VOLUME = 3.0  # scales every feature's request volume
UNPRICED_SHARE = 0.10  # rows written with spend = null
CSV_FEATURE = "support-chat"  # its last CSV_DAYS days go to the CSV file instead of JSONL
CSV_DAYS = 7
MODEL_SWITCH = ("support-chat", "claude-sonnet-4-5", 60)  # used that model until N days before end
FIELDS = [
    "request_id",
    "call_type",
    "startTime",
    "endTime",
    "model",
    "custom_llm_provider",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "spend",
    "team_id",
    "end_user",
    "request_tags",
    "metadata",
]
_HOURLY = np.array(
    [
        0.3,
        0.25,
        0.2,
        0.2,
        0.25,
        0.35,
        0.6,
        0.9,
        1.2,
        1.45,
        1.55,
        1.6,
        1.55,
        1.6,
        1.65,
        1.6,
        1.5,
        1.35,
        1.15,
        0.95,
        0.8,
        0.65,
        0.5,
        0.4,
    ]
)
_HOURLY = _HOURLY / _HOURLY.sum()
_STAGING_HOURS = (9, 11, 14, 16)
_TEAM_NS = uuid.UUID("6b1f5c1e-2f4a-4d8e-9c3b-7a5e0d9f1c2b")


def load_prices(path: Path = PRICE_TABLE) -> dict[str, dict[str, Any]]:
    """Price-table entries (USD per token, JSON floats) keyed by model."""
    return json.loads(path.read_text(encoding="utf-8"))


def spend_usd(
    entry: dict[str, Any], prompt: int, completion: int, cache_read: int, cache_creation: int
) -> Decimal:
    """Exact USD cost of one log row from a price-table entry (prices as Decimal(str(float)))."""

    def price(key: str) -> Decimal:
        value = entry.get(key)
        return Decimal(str(value)) if value is not None else Decimal(0)

    fresh = prompt - cache_read - cache_creation
    return (
        fresh * price("input_cost_per_token")
        + cache_read * price("cache_read_input_token_cost")
        + cache_creation * price("cache_creation_input_token_cost")
        + completion * price("output_cost_per_token")
    )


def team_id(team_name: str) -> str:
    """LiteLLM team ids are UUIDs; the alias (team name) sits in metadata."""
    return str(uuid.uuid5(_TEAM_NS, team_name))


def _rid(rng: np.random.Generator) -> str:
    return "chatcmpl-" + "".join(f"{int(x):08x}" for x in rng.integers(0, 2**32, 3))


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _rows_for(
    f: ai.Feature,
    env: str,
    day: date,
    n_req: float,
    model_name: str,
    rng: np.random.Generator,
    prices: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    hours = list(range(24)) if env == "prod" else list(_STAGING_HOURS)
    weights = _HOURLY[hours] / _HOURLY[hours].sum()
    entry = prices[model_name]
    m = ai.model(model_name)
    k = len(hours)
    # one vectorised draw per quantity for the whole day (rows are built from plain ints after)
    requests = np.maximum(1, np.rint(n_req * weights)).astype(np.int64)
    prompts = (requests * f.prompt_tokens * rng.lognormal(0, 0.05, k)).astype(np.int64)
    completions = (requests * f.completion_tokens * rng.lognormal(0, 0.05, k)).astype(np.int64)
    reads = (prompts * f.cache_read_share * rng.uniform(0.85, 1.15, k)).astype(np.int64)
    writes = entry.get("cache_creation_input_token_cost") is not None
    creations = (prompts * 0.04 * rng.uniform(0.5, 1.5, k)).astype(np.int64) * writes
    offsets_ms = rng.integers(0, 3_600_000, k)
    latency_ms = rng.integers(400, 9000, k)
    ids = rng.integers(0, 2**32, (k, 3))
    calls = rng.random(k) < 0.85
    unpriced = rng.random(k) < UNPRICED_SHARE
    users = rng.integers(1, 60, k)
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows = []
    for i, hour in enumerate(hours):
        prompt, completion = int(prompts[i]), int(completions[i])
        cache_read, cache_creation = int(reads[i]), int(creations[i])
        start = midnight + timedelta(hours=hour, milliseconds=int(offsets_ms[i]))
        end = start + timedelta(milliseconds=int(latency_ms[i]))
        cost = spend_usd(entry, prompt, completion, cache_read, cache_creation)
        rows.append(
            {
                "request_id": "chatcmpl-" + "".join(f"{int(x):08x}" for x in ids[i]),
                "call_type": "acompletion" if calls[i] else "completion",
                "startTime": _stamp(start),
                "endTime": _stamp(end),
                "model": model_name,
                "custom_llm_provider": m.provider,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "cache_read_input_tokens": cache_read,
                "cache_creation_input_tokens": cache_creation,
                "spend": None if unpriced[i] else float(cost),
                "team_id": team_id(f.team),
                "end_user": f"tenant-{int(users[i]):04d}" if env == "prod" else "",
                "request_tags": [f"feature:{f.name}", f"env:{env}", f"team:{f.team}"],
                "metadata": {
                    "user_api_key_team_alias": f.team,
                    "user_api_key_alias": f"{f.name}-{env}",
                    "feature": f.name,
                    "env": env,
                    "cost_center": team_entry(f.team).cost_center,
                },
            }
        )
    return rows


def build_rows(end: date, seed: int, n_days: int) -> list[dict[str, Any]]:
    """Every log row, sorted by startTime (request ids are unique)."""
    rng = np.random.default_rng([seed, 4])
    prices = load_prices()
    days = day_list(end, n_days)
    rows: list[dict[str, Any]] = []
    for k, day in enumerate(days):
        weekday = day.weekday() < 5
        for f in ai.FEATURES:
            base = f.requests_per_day * VOLUME * (1.0 if weekday else 0.62) * (1 + 0.0012 * k)
            model_name = f.model
            if f.name == MODEL_SWITCH[0] and k < n_days - MODEL_SWITCH[2]:
                model_name = MODEL_SWITCH[1]
            for env, share in (("prod", 1.0), ("staging", f.staging_share)):
                n_req = base * share * rng.lognormal(0, 0.03)
                rows.extend(_rows_for(f, env, day, n_req, model_name, rng, prices))
    for k in (n_days - 40, n_days - 20, n_days - 5):  # a self-hosted model the price table lacks
        rows.append(_unpriced(days[k], rng))
    rows.sort(key=lambda r: (r["startTime"], r["request_id"]))
    return rows


def _unpriced(day: date, rng: np.random.Generator) -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, 10, tzinfo=UTC) + timedelta(
        seconds=int(rng.integers(0, 7200))
    )
    return {
        "request_id": _rid(rng),
        "call_type": "acompletion",
        "startTime": _stamp(start),
        "endTime": _stamp(start + timedelta(seconds=2)),
        "model": ai.UNPRICED_MODEL,
        "custom_llm_provider": "hosted_vllm",
        "prompt_tokens": 48000,
        "completion_tokens": 6000,
        "total_tokens": 54000,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "spend": None,
        "team_id": team_id("ml-platform"),
        "end_user": "",
        "request_tags": ["feature:code-review", "env:staging", "team:ml-platform"],
        "metadata": {"user_api_key_team_alias": "ml-platform", "feature": "code-review", "env": "staging"},
    }


def _csv_text(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in rows:
        writer.writerow(
            [
                json.dumps(r[k]) if isinstance(r[k], list | dict) else "" if r[k] is None else r[k]
                for k in FIELDS
            ]
        )
    return buf.getvalue()


def write_llm(out_dir: Path, end: date, seed: int, n_days: int) -> tuple[list[Path], int]:
    """JSONL per month (``litellm-spend-YYYY-MM.jsonl``) + one CSV slice; returns (paths, rows)."""
    rows = build_rows(end, seed, n_days)
    csv_from = (end - timedelta(days=CSV_DAYS - 1)).isoformat()
    in_csv = [
        r for r in rows if r["metadata"].get("feature") == CSV_FEATURE and r["startTime"][:10] >= csv_from
    ]
    csv_ids = {r["request_id"] for r in in_csv}
    by_month: dict[str, list[str]] = {}
    for r in rows:
        if r["request_id"] not in csv_ids:
            by_month.setdefault(r["startTime"][:7], []).append(json.dumps(r))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for month, lines in sorted(by_month.items()):
        path = out_dir / f"litellm-spend-{month}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    path = out_dir / f"litellm-spend-{CSV_FEATURE}-{csv_from}_{end.isoformat()}.csv"
    path.write_text(_csv_text(in_csv), encoding="utf-8")
    paths.append(path)
    return paths, len(rows)
