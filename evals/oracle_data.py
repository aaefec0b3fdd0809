"""The oracle's reader: raw FOCUS exports and LLM gateway logs → one pandas frame of cost rows.

Independent of the product on purpose: it reads the files an eval workspace ingested with plain
``csv``/``gzip``/``json``/pandas, following the rules written in DESIGN.md and the sample data's
README (not the warehouse's code, which it must never import):

- FOCUS: null is an empty field or ``NULL``; column names are case-insensitive; allocation
  dimensions come from the ``Tags`` JSON through the workspace's tag aliases (first non-blank
  value, trimmed), ``(untagged)`` otherwise; money is exact (DECIMAL(38,12));
- the eval ingests every export in one command, so its files are parts of one export and none
  replaces another (DESIGN.md: restatements replace across ingest runs only);
- LLM logs (LiteLLM spend-log shape): one row per request; cost = the log's ``spend``, else (absent,
  or 0 for a request that used tokens) priced from the model price table; an unpriceable request
  is left out, as is a repeated ``request_id``; dimensions from ``request_tags`` (``key:value``),
  then ``metadata`` keys, then the team alias.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

UNTAGGED = "(untagged)"
NONE = "(none)"
AI_CATEGORY = "AI and Machine Learning"
MEASURES = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")
STORED = Decimal("1e-12")  # the warehouse keeps money as DECIMAL(38,12)
ALLOCATION = ("team", "feature", "env", "cost_center", "tenant")
# Friendly dimension → FOCUS column (DESIGN.md: team/env/… from tags, the rest are columns).
COLUMN_DIMENSIONS = {
    "service": "ServiceName",
    "category": "ServiceCategory",
    "provider": "ProviderName",
    "region": "RegionId",
    "account": "SubAccountName",
    "billing_account": "BillingAccountId",
    "resource": "ResourceId",
}
# LiteLLM's custom_llm_provider → FOCUS ProviderName (as the provider names itself on a bill).
LLM_PROVIDERS = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "azure": "Microsoft",
    "azure_ai": "Microsoft",
    "vertex_ai": "Google Cloud",
    "gemini": "Google",
    "bedrock": "AWS",
}


@dataclass(frozen=True)
class RawData:
    """Every cost row the workspace should hold, plus what the reader left out and why."""

    frame: pd.DataFrame
    focus_rows: int
    llm_rows: int
    llm_left_out: dict[str, int]


def _null(value: Any) -> str | None:
    if value is None or (not isinstance(value, str | Decimal) and pd.isna(value)):  # Parquet nulls: NaN, NaT
        return None
    text = str(value)
    return None if text == "" or text == "NULL" else text


def _money(value: Any) -> Decimal:
    text = _null(value)
    if text is None:
        return Decimal(0)
    amount = (
        value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else text)
    )
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -12:
        return amount  # already exact at the warehouse's scale
    return amount.quantize(STORED, rounding=ROUND_HALF_EVEN)


def allocation(tags: dict[str, Any], aliases: dict[str, list[str]]) -> dict[str, str]:
    """team/feature/env/… from a tag mapping: the first alias with a non-blank value, trimmed."""
    out = {}
    for dim in ALLOCATION:
        value = UNTAGGED
        for key in aliases.get(dim, []):
            raw = tags.get(key)
            if raw is None or isinstance(raw, dict | list):
                continue
            text = (("true" if raw else "false") if isinstance(raw, bool) else str(raw)).strip()
            if text:
                value = text
                break
        out[dim] = value
    return out


_READ = {"chargeperiodstart", "chargecategory", "chargeclass", "billingcurrency", "tags",
         *(m.lower() for m in MEASURES), *(c.lower() for c in COLUMN_DIMENSIONS.values())}  # fmt: skip


def _wanted(name: Any) -> bool:
    return str(name).strip().lower() in _READ


def _focus_table(path: Path) -> pd.DataFrame:
    """The columns the oracle reads, named in lower case; CSV values as text ('' when empty)."""
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        names = [n for n in pq.read_schema(path).names if _wanted(n)]
        table = pd.read_parquet(path, columns=names)
    else:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, compression="infer", usecols=_wanted)
    table.columns = [str(c).strip().lower() for c in table.columns]
    return table


def _timestamps(values: pd.Series) -> list[datetime]:
    """UTC wall times without zone; ISO text or typed Parquet timestamps."""
    stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    return list(stamps.dt.tz_localize(None).dt.to_pydatetime())


def _column(table: pd.DataFrame, name: str) -> list[str | None]:
    return [_null(v) for v in table[name]] if name in table.columns else [None] * len(table)


def _tags(text: str | None) -> dict[str, Any]:
    tags = json.loads(text) if text else {}
    return tags if isinstance(tags, dict) else {}


def read_focus(paths: list[Path], aliases: dict[str, list[str]]) -> pd.DataFrame:
    parts = []
    for path in sorted(paths):
        table = _focus_table(path)
        part = pd.DataFrame(
            {
                "ts": _timestamps(table["chargeperiodstart"]),
                "charge_category": [v or NONE for v in _column(table, "chargecategory")],
                "charge_class": [v or NONE for v in _column(table, "chargeclass")],
                "currency": _column(table, "billingcurrency"),
                **{m: [_money(v) for v in table[m.lower()]] for m in MEASURES if m.lower() in table.columns},
                **{
                    dim: [v or NONE for v in _column(table, col.lower())]
                    for dim, col in COLUMN_DIMENSIONS.items()
                },
            }
        )
        dims = pd.DataFrame([allocation(_tags(t), aliases) for t in _column(table, "tags")], index=part.index)
        part = pd.concat([part, dims], axis=1)
        part["_file"], part["model"], part["tokens"], part["requests"], part["source"] = (
            path,
            None,
            0,
            0,
            "focus",
        )
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _llm_records(path: Path) -> Iterator[dict[str, Any]]:
    if path.name.lower().endswith(".csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            for record in csv.DictReader(handle):
                yield {k: (None if v == "" else v) for k, v in record.items()}
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return 0 if value in (None, "") else int(Decimal(str(value)))


def price_of(
    prices: dict[str, dict[str, Any]], model: str, prompt: int, completion: int, read: int, create: int
) -> Decimal | None:
    """USD of one request from the LiteLLM price table (USD per token; cache prices fall back to
    the input price); None when the model is not in the table."""
    entry = prices.get(model) or (prices.get(model.split("/", 1)[1]) if "/" in model else None)
    if entry is None:
        return None

    def rate(key: str, fallback: str | None = None) -> Decimal:
        value = entry.get(key)
        if value is None and fallback is not None:
            value = entry[fallback]
        return Decimal(str(value))

    uncached = max(prompt - read - create, 0)
    return (
        uncached * rate("input_cost_per_token")
        + read * rate("cache_read_input_token_cost", "input_cost_per_token")
        + create * rate("cache_creation_input_token_cost", "input_cost_per_token")
        + completion * rate("output_cost_per_token")
    )


def llm_tags(record: dict[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in _json_value(record.get("request_tags")) or []:
        key, sep, value = str(item).partition(":")
        if sep and key and value:
            tags[key.strip()] = value.strip()
    metadata = _json_value(record.get("metadata")) or {}
    for key in (*ALLOCATION, "cost_center"):
        if isinstance(metadata.get(key), str) and metadata[key]:
            tags[key] = metadata[key]
    team = (
        metadata.get("user_api_key_team_alias")
        or record.get("team_id")
        or metadata.get("user_api_key_team_id")
    )
    if team and "team" not in tags:
        tags["team"] = str(team)
    return tags


def read_llm(
    paths: list[Path], aliases: dict[str, list[str]], prices: dict[str, dict[str, Any]]
) -> tuple[pd.DataFrame, dict[str, int]]:
    cols: dict[str, list[Any]] = {k: [] for k in ("ts", "model", "tokens", "cost", "provider", "dims")}
    seen: set[str] = set()
    left_out = {"unpriceable": 0, "duplicate request_id": 0}
    for path in sorted(paths):
        for record in _llm_records(path):
            request_id = str(record["request_id"])
            prompt, completion = _int(record.get("prompt_tokens")), _int(record.get("completion_tokens"))
            read, create = (
                _int(record.get("cache_read_input_tokens")),
                _int(record.get("cache_creation_input_tokens")),
            )
            spend = record.get("spend")
            cost = (
                None
                if spend in (None, "")
                else Decimal(repr(spend) if isinstance(spend, float) else str(spend))
            )
            if cost == 0 and prompt + completion > 0:
                cost = None  # a gateway logs 0 when it could not price a call
            if cost is None:
                cost = price_of(prices, str(record["model"]), prompt, completion, read, create)
            if cost is None:
                left_out["unpriceable"] += 1
                continue
            if request_id in seen:
                left_out["duplicate request_id"] += 1
                continue
            seen.add(request_id)
            provider_key = str(record.get("custom_llm_provider") or "unknown")
            cols["ts"].append(record["startTime"])
            cols["model"].append(str(record["model"]))
            cols["tokens"].append(prompt + completion)
            cols["cost"].append(cost.quantize(STORED, rounding=ROUND_HALF_EVEN))
            cols["provider"].append(LLM_PROVIDERS.get(provider_key.lower(), provider_key))
            cols["dims"].append(allocation(llm_tags(record), aliases))
    frame = pd.DataFrame(
        {
            "ts": _timestamps(pd.Series(cols["ts"], dtype=object)),
            "charge_category": "Usage",
            "charge_class": NONE,
            "currency": "USD",
            **{m: cols["cost"] for m in MEASURES},
            **dict.fromkeys(COLUMN_DIMENSIONS, NONE),
            "service": [f"{p} API" for p in cols["provider"]],
            "category": AI_CATEGORY,
            "provider": cols["provider"],
            "billing_account": "llm-gateway",
            "resource": cols["model"],
            "model": cols["model"],
            "tokens": cols["tokens"],
            "requests": 1,
            "source": "llm",
        }
    )
    dims = pd.DataFrame(cols["dims"], index=frame.index, columns=list(ALLOCATION))
    return pd.concat([frame, dims], axis=1), left_out


def read_raw(
    focus: list[Path], llm: list[Path], aliases: dict[str, list[str]], prices: dict[str, dict[str, Any]]
) -> RawData:
    """Both sources in one frame with a ``day`` column (UTC date of the charge)."""
    focus_frame = read_focus(focus, aliases)
    llm_frame, left_out = read_llm(llm, aliases, prices)
    parts = [f for f in (focus_frame, llm_frame) if not f.empty]
    if not parts:
        columns = ["ts", "charge_category", "charge_class", "currency", *MEASURES, *COLUMN_DIMENSIONS,
                   *ALLOCATION, "model", "tokens", "requests", "source"]  # fmt: skip
        return RawData(
            frame=pd.DataFrame(columns=[*columns, "day", "month"]),
            focus_rows=0,
            llm_rows=0,
            llm_left_out=left_out,
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["day"] = list(frame["ts"].dt.date)
    frame["month"] = [date(d.year, d.month, 1) for d in frame["day"]]
    return RawData(frame=frame, focus_rows=len(focus_frame), llm_rows=len(llm_frame), llm_left_out=left_out)


def load_prices(path: Path) -> dict[str, dict[str, Any]]:
    """A LiteLLM price table (JSON: model → USD-per-token fields)."""
    raw = json.loads(path.read_text())
    return raw.get("models", raw) if isinstance(raw, dict) else {}
