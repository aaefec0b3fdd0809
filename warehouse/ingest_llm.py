"""``costpilot ingest llm-usage``: LLM gateway logs (LiteLLM spend-log shape) as FOCUS rows.

Each request becomes one FOCUS row: ServiceCategory "AI and Machine Learning", ConsumedUnit
"tokens", token counts in ``x_`` columns. Cost comes from the log's ``spend`` when it is there
(and non-zero for a request that used tokens), else from the model price table or a configured
custom price; a request that cannot be priced is rejected with a reason, never loaded at $0.
"""

from __future__ import annotations

import csv
import gzip
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from domain.errors import FileRejected
from domain.money import decimal_str, to_decimal
from warehouse.config import ALLOCATION_DIMENSIONS, WarehouseConfig
from warehouse.connection import connect_duckdb
from warehouse.facts import FACT_TABLE
from warehouse.files import file_sha256, sniff_format
from warehouse.ingest_models import IngestReport, IngestResult
from warehouse.loader import SourceSpec, already_ingested, load_source
from warehouse.prices import find_price

SERVICE_CATEGORY = "AI and Machine Learning"
REQUIRED_FIELDS = ("request_id", "startTime", "model")
_PROVIDER_NAMES = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "azure": "Microsoft",
    "azure_ai": "Microsoft",
    "vertex_ai": "Google Cloud",
    "gemini": "Google",
    "bedrock": "AWS",
    "mistral": "Mistral AI",
    "groq": "Groq",
    "deepseek": "DeepSeek",
}
COLUMNS = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "ServiceCategory",
    "ServiceSubcategory",
    "ServiceName",
    "ResourceId",
    "ResourceName",
    "SkuId",
    "Tags",
    "x_model",
    "x_prompt_tokens",
    "x_completion_tokens",
    "x_cache_read_tokens",
    "x_cache_creation_tokens",
    "x_requests",
    "x_request_id",
    "x_end_user",
    "x_cost_source",
)


_EMPTY = pa.table({"__row": pa.array([], pa.int64())})


class RowRejected(ValueError):
    """One log record cannot become a cost row; the message is the reason."""


def _records(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(row number, record) pairs; a record that cannot be parsed comes as the reason string."""
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
        if fmt == "jsonl":
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, f"line {number}: not valid JSON ({exc.msg})"
                    continue
                yield number, record if isinstance(record, dict) else f"line {number}: not a JSON object"
        else:
            reader = csv.DictReader(handle)
            missing = [f for f in REQUIRED_FIELDS if f not in (reader.fieldnames or [])]
            if missing:
                raise FileRejected(str(path), f"not an LLM usage log: missing column(s) {', '.join(missing)}")
            for number, row in enumerate(reader, start=1):
                if None in row:
                    yield number, f"row {number}: more values than header columns"
                    continue
                yield number, {k: v for k, v in row.items() if v not in ("", None)}


def _json_field(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise RowRejected(f"{name}: not valid JSON") from None
    return value


def _int(record: dict[str, Any], name: str, default: int | None = 0) -> int:
    value = record.get(name)
    if value in (None, ""):
        if default is None:
            raise RowRejected(f"missing {name}")
        return default
    try:
        number = int(Decimal(str(value)))
    except Exception:
        raise RowRejected(f"{name}: not an integer: {str(value)[:40]}") from None
    if number < 0:
        raise RowRejected(f"{name}: negative token count {number}")
    return number


def _timestamp(value: Any, name: str) -> datetime:
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
        stamp = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise RowRejected(f"{name}: not a date/time: {str(value)[:40]}") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


def _tags(record: dict[str, Any]) -> dict[str, str]:
    """Allocation tags from LiteLLM fields: metadata, request_tags ("key:value") and team."""
    tags: dict[str, str] = {}
    metadata = _json_field(record.get("metadata"), "metadata") or {}
    if not isinstance(metadata, dict):
        raise RowRejected("metadata: not a JSON object")
    request_tags = _json_field(record.get("request_tags"), "request_tags") or []
    if not isinstance(request_tags, list):
        raise RowRejected("request_tags: not a JSON list")
    for item in request_tags:
        key, sep, value = str(item).partition(":")
        if sep and key and value:
            tags[key.strip()] = value.strip()
    for key in (*ALLOCATION_DIMENSIONS, "cost_center"):
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


def _cache_tokens(record: dict[str, Any]) -> tuple[int, int]:
    read = _int(record, "cache_read_input_tokens")
    create = _int(record, "cache_creation_input_tokens")
    if not read and not create:
        # LiteLLM also keeps them inside metadata.usage_object (OpenAI: prompt_tokens_details).
        usage = (_json_field(record.get("metadata"), "metadata") or {}).get("usage_object") or {}
        if isinstance(usage, dict):
            details = usage.get("prompt_tokens_details") or {}
            read = (
                _int(usage, "cache_read_input_tokens") or _int(details, "cached_tokens")
                if isinstance(details, dict)
                else 0
            )
            create = _int(usage, "cache_creation_input_tokens")
    return read, create


def convert_record(record: dict[str, Any], config: WarehouseConfig) -> dict[str, str | None]:
    """One LiteLLM spend-log record → one FOCUS row (strings). Raises RowRejected."""
    for name in REQUIRED_FIELDS:
        if record.get(name) in (None, ""):
            raise RowRejected(f"missing {name}")
    model = str(record["model"])
    start = _timestamp(record["startTime"], "startTime")
    end = _timestamp(record["endTime"], "endTime") if record.get("endTime") else start
    prompt = _int(record, "prompt_tokens")
    completion = _int(record, "completion_tokens")
    cache_read, cache_creation = _cache_tokens(record)
    if cache_read + cache_creation > prompt:
        raise RowRejected(f"cache tokens ({cache_read + cache_creation}) exceed prompt_tokens ({prompt})")
    spend_raw = record.get("spend")
    cost: Decimal | None = None
    source = "log"
    if spend_raw not in (None, ""):
        try:
            cost = to_decimal(spend_raw)
        except ValueError:
            raise RowRejected(f"spend: not a number: {str(spend_raw)[:40]}") from None
        if cost == 0 and prompt + completion > 0:
            cost = None  # LiteLLM logs 0 when it could not price a call: price it ourselves.
    if cost is None:
        price = find_price(model, config.prices)
        if price is None:
            raise RowRejected(
                f"unknown model {model!r} and no spend in the log: add a custom price under [prices] in costpilot.toml"
            )
        cost = price.cost(prompt, completion, cache_read, cache_creation)
        source = price.source
    provider_key = str(
        record.get("custom_llm_provider") or (model.split("/", 1)[0] if "/" in model else "unknown")
    )
    provider = _PROVIDER_NAMES.get(provider_key.lower(), provider_key)
    month_start = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month_end = month_start.replace(
        year=month_start.year + (month_start.month == 12), month=month_start.month % 12 + 1
    )
    amount = decimal_str(cost)
    total = prompt + completion
    return {
        "BilledCost": amount,
        "EffectiveCost": amount,
        "ListCost": amount,
        "ContractedCost": amount,
        "BillingAccountId": "llm-gateway",
        "BillingAccountName": "LLM gateway",
        "BillingCurrency": "USD",
        "BillingPeriodStart": month_start.isoformat(),
        "BillingPeriodEnd": month_end.isoformat(),
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": f"{model} tokens",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": start.isoformat(),
        "ChargePeriodEnd": end.isoformat(),
        "ConsumedQuantity": str(total),
        "ConsumedUnit": "tokens",
        "PricingQuantity": str(total),
        "PricingUnit": "tokens",
        "ProviderName": provider,
        "PublisherName": provider,
        "InvoiceIssuerName": provider,
        "ServiceCategory": SERVICE_CATEGORY,
        "ServiceSubcategory": "Generative AI",
        "ServiceName": f"{provider} API",
        "ResourceId": model,
        "ResourceName": model,
        "SkuId": model,
        "Tags": json.dumps(_tags(record), sort_keys=True),
        "x_model": model,
        "x_prompt_tokens": str(prompt),
        "x_completion_tokens": str(completion),
        "x_cache_read_tokens": str(cache_read),
        "x_cache_creation_tokens": str(cache_creation),
        "x_requests": "1",
        "x_request_id": str(record["request_id"]),
        "x_end_user": str(record.get("end_user") or record.get("user") or "") or None,
        "x_cost_source": source,
    }


def read_llm_file(path: Path, config: WarehouseConfig) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Convert a whole log file: an Arrow table of FOCUS rows plus (row, reason) rejects."""
    fmt = sniff_format(path, ("jsonl", "csv"))
    rows: dict[str, list[Any]] = {name: [] for name in ("__row", *COLUMNS)}
    rejects: list[tuple[int, str]] = []
    first_seen: dict[str, int] = {}
    for number, record in _records(path, fmt):
        if isinstance(record, str):
            rejects.append((number, record))
            continue
        try:
            converted = convert_record(record, config)
        except RowRejected as exc:
            rejects.append((number, str(exc)))
            continue
        request_id = converted["x_request_id"] or ""
        if request_id in first_seen:
            rejects.append(
                (number, f"duplicate request_id {request_id} (first at row {first_seen[request_id]})")
            )
            continue
        first_seen[request_id] = number
        rows["__row"].append(number)
        for name in COLUMNS:
            rows[name].append(converted[name])
    if not rows["__row"] and not rejects:
        raise FileRejected(str(path), "no records")
    schema = pa.schema([("__row", pa.int64()), *[(name, pa.string()) for name in COLUMNS]])
    return pa.table(rows, schema=schema), rejects


def ingest_llm_files(
    warehouse_path: Path,
    paths: Sequence[Path],
    config: WarehouseConfig,
    rejected_dir: Path,
    on_file: Callable[[IngestResult], None] | None = None,
) -> IngestReport:
    results: list[IngestResult] = []
    con = connect_duckdb(warehouse_path)
    try:
        for raw_path in paths:
            path = Path(raw_path)
            sniff_format(path, ("jsonl", "csv"))
            sha = file_sha256(path)
            # A file already loaded is not even parsed again.
            table, rejects = (_EMPTY, []) if already_ingested(con, sha) else read_llm_file(path, config)
            view = f"__llm_{uuid.uuid4().hex[:8]}"
            con.register(view, table)
            spec = SourceSpec(
                path=path,
                sha256=sha,
                kind="llm-usage",
                from_sql=view,
                columns=list(COLUMNS),
                structural_rejects=rejects,
                restate=False,
                extra_reasons=[
                    f"CASE WHEN x_request_id IN (SELECT x_request_id FROM {FACT_TABLE} WHERE x_request_id IS NOT NULL) "
                    "THEN 'request_id ' || x_request_id || ' already loaded from another file' END"
                ],
            )
            try:
                result = load_source(con, spec, config, rejected_dir)
            finally:
                con.unregister(view)
            results.append(result)
            if on_file:
                on_file(result)
    finally:
        con.close()
    return IngestReport(files=results)
