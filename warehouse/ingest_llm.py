"""``costpilot ingest llm-usage``: LLM gateway logs (LiteLLM spend-log shape) as FOCUS rows.

Each request becomes one FOCUS row: ServiceCategory "AI and Machine Learning", ConsumedUnit
"tokens", token counts in ``x_`` columns. Cost comes from the log's ``spend`` when it is there
(and non-zero for a request that used tokens), else from the model price table or a configured
custom price; a request that cannot be priced is rejected with a reason, never loaded at $0.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from domain.money import decimal_str, to_decimal
from warehouse.config import ALLOCATION_DIMENSIONS, WarehouseConfig
from warehouse.facts import FACT_TABLE, MAX_ABS_TEXT, MAX_ABS_VALUE
from warehouse.files import file_sha256, parse_json, read_records, rejected, shown, sniff_format
from warehouse.ingest_models import IngestReport, IngestResult
from warehouse.loader import Prepare, SourceSpec, already_ingested, load_batch
from warehouse.prices import find_price
from warehouse.targets import open_ingest_target

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


def _json_field(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return parse_json(value)
        except ValueError as exc:
            raise RowRejected(f"{name}: not valid JSON ({exc})") from None
    return value


def _metadata(record: dict[str, Any]) -> dict[str, Any]:
    metadata = _json_field(record.get("metadata"), "metadata") or {}
    if not isinstance(metadata, dict):
        raise RowRejected("metadata: not a JSON object")
    return metadata


def _int(record: dict[str, Any], name: str) -> int:
    """A token count: a whole number from 0 to MAX_ABS_VALUE (0 when absent)."""
    value = record.get(name)
    if value is None or value == "":
        return 0
    number: int | Decimal | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float | str):
        try:
            number = to_decimal(value)  # "1e999999999" stays a small Decimal, never a huge int
        except ValueError:
            number = None
    if isinstance(number, Decimal) and number != number.to_integral_value():
        number = None  # 1.5 tokens is not a count
    if number is None:
        raise RowRejected(f"{name}: not an integer: {shown(value, 40)}")
    if number < 0:
        raise RowRejected(f"{name}: negative token count {shown(value, 40)}")
    if number > MAX_ABS_VALUE:
        raise RowRejected(f"{name}: implausible token count {shown(value, 40)} (at most {MAX_ABS_TEXT})")
    return int(number)


def _timestamp(value: Any, name: str) -> datetime:
    """UTC wall time from an ISO string or epoch seconds; the month after must exist too."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(value)
        if isinstance(value, int | float):
            stamp = datetime.fromtimestamp(float(value), UTC)
        else:
            stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(UTC).replace(tzinfo=None)
        if stamp.year >= 9999 and stamp.month == 12:
            raise OverflowError(value)  # its billing period would end in the year 10000
    except (ValueError, OverflowError, OSError):
        raise RowRejected(f"{name}: not a date/time: {shown(value, 40)}") from None
    return stamp


def _tags(record: dict[str, Any]) -> dict[str, str]:
    """Allocation tags from LiteLLM fields: metadata, request_tags ("key:value") and team."""
    tags: dict[str, str] = {}
    metadata = _metadata(record)
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
        usage = _metadata(record).get("usage_object") or {}
        if isinstance(usage, dict):
            details = usage.get("prompt_tokens_details") or {}
            read = (
                _int(usage, "cache_read_input_tokens") or _int(details, "cached_tokens")
                if isinstance(details, dict)
                else 0
            )
            create = _int(usage, "cache_creation_input_tokens")
    return read, create


def _spend(value: Any) -> Decimal | None:
    """The log's own cost (USD): absent, or a number from 0 to MAX_ABS_VALUE."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, dict | list):
            raise ValueError(value)
        cost = to_decimal(value)
    except ValueError:
        raise RowRejected(f"spend: not a number: {shown(value, 40)}") from None
    if cost < 0:
        # A gateway log records what a request cost; refunds and credits belong on the bill.
        raise RowRejected(f"spend: negative amount {shown(value, 40)} (a request cannot cost less than 0)")
    if cost > MAX_ABS_VALUE:
        raise RowRejected(f"spend: implausible amount {shown(value, 40)} (at most {MAX_ABS_TEXT} a request)")
    return cost


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
    cost = _spend(record.get("spend"))
    source = "log"
    if cost == 0 and prompt + completion > 0:
        cost = None  # LiteLLM logs 0 when it could not price a call: price it ourselves.
    if cost is None:
        price = find_price(model, config.prices)
        if price is None:
            raise RowRejected(
                f"unknown model {shown(model)!r} and no spend in the log: add a custom price under [prices] in costpilot.toml"
            )
        cost = price.cost(prompt, completion, cache_read, cache_creation)
        source = price.source
        if cost > MAX_ABS_VALUE:
            raise RowRejected(f"priced cost {cost:.2E} USD is implausible (at most {MAX_ABS_TEXT} a request)")
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


def _text_ok(row: dict[str, str | None]) -> bool:
    """Whether every value is valid Unicode (a JSON escape can make a lone surrogate)."""
    try:
        "".join(v for v in row.values() if v).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_llm_file(path: Path, config: WarehouseConfig) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Convert a whole log file: an Arrow table of FOCUS rows plus (row, reason) rejects."""
    fmt = sniff_format(path, ("jsonl", "csv"))
    rows: dict[str, list[Any]] = {name: [] for name in ("__row", *COLUMNS)}
    rejects: list[tuple[int, str]] = []
    first_seen: dict[str, int] = {}
    for number, record in read_records(path, fmt, REQUIRED_FIELDS):
        if isinstance(record, str):
            rejects.append((number, record))
            continue
        try:
            converted = convert_record(record, config)
        except RowRejected as exc:
            rejects.append((number, str(exc)))
            continue
        if not _text_ok(converted):
            rejects.append((number, "not valid Unicode text (a lone surrogate escape)"))
            continue
        request_id = converted["x_request_id"] or ""
        if request_id in first_seen:
            rejects.append(
                (number, f"duplicate request_id {shown(request_id)} (first at row {first_seen[request_id]})")
            )
            continue
        first_seen[request_id] = number
        rows["__row"].append(number)
        for name in COLUMNS:
            rows[name].append(converted[name])
    if not rows["__row"] and not rejects:
        raise rejected(path, "no records")
    schema = pa.schema([("__row", pa.int64()), *[(name, pa.string()) for name in COLUMNS]])
    return pa.table(rows, schema=schema), rejects


def _prepare(
    con: duckdb.DuckDBPyConnection,
    config: WarehouseConfig,
    known_request_ids: Callable[[list[str]], list[str]] | None = None,
) -> Prepare:
    """Whole-file checks first (format, CSV header); the parse when the batch gets to the file.
    ``known_request_ids`` asks a warehouse staged elsewhere (PostgreSQL) which ids it holds."""

    def prepare(path: Path) -> Callable[[], SourceSpec]:
        fmt = sniff_format(path, ("jsonl", "csv"))
        sha = file_sha256(path)
        if fmt == "csv":
            records = read_records(path, fmt, REQUIRED_FIELDS)
            try:
                next(records, None)  # a header problem refuses the file before anything loads
            finally:
                records.close()

        def build() -> SourceSpec:
            # A file already loaded is not even parsed again.
            table, rejects = (_EMPTY, []) if already_ingested(con, sha) else read_llm_file(path, config)
            view = f"__llm_{uuid.uuid4().hex[:8]}"
            con.register(view, table)
            known = f"{view}_known"
            ids = table.column("x_request_id").to_pylist() if known_request_ids and table.num_rows else []
            con.register(
                known,
                pa.table({"x_request_id": pa.array(known_request_ids(ids) if ids else [], pa.string())}),
            )

            def release() -> None:
                con.unregister(view)
                con.unregister(known)

            return SourceSpec(
                path=path,
                sha256=sha,
                kind="llm-usage",
                from_sql=view,
                columns=list(COLUMNS),
                structural_rejects=rejects,
                extra_reasons=[
                    f"CASE WHEN x_request_id IN (SELECT x_request_id FROM {FACT_TABLE} WHERE x_request_id IS NOT NULL) "
                    f"OR x_request_id IN (SELECT x_request_id FROM {known}) "
                    "THEN 'request_id ' || x_request_id || ' already loaded from another file' END"
                ],
                release=release,
            )

        return build

    return prepare


def ingest_llm_files(
    warehouse: Path | str,
    paths: Sequence[Path],
    config: WarehouseConfig,
    rejected_dir: Path,
    on_file: Callable[[IngestResult], None] | None = None,
) -> IngestReport:
    """Ingest LLM usage logs into ``warehouse`` (a DuckDB file or a ``postgresql://`` URL), all
    or none of them (one transaction; an error names the file)."""
    with open_ingest_target(warehouse, rejected_dir) as target:
        prepare = _prepare(target.con, config, target.known_request_ids)
        results = load_batch(
            target.con,
            [Path(p) for p in paths],
            prepare,
            config,
            rejected_dir,
            before_commit=target.before_commit(),
            known_currency=target.known_currency,
        )
    for result in results:
        if on_file:
            on_file(result)
    return IngestReport(files=results)
