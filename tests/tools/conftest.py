"""Spend-intelligence fixtures: a small synthetic FOCUS bill with known anomalies, ingested once."""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

FIRST_DAY = date(2026, 1, 1)
DAYS = 120  # 2026-01-01 .. 2026-04-30
TEAMS = {"payments": 400.0, "search": 250.0, "ml": 120.0}
SERVICES = {"Amazon EC2": ("Compute", 0.7), "Amazon S3": ("Storage", 0.3)}
REGIONS = {"us-east-1": 0.6, "eu-west-1": 0.4}
ACCOUNT = {"payments": "prod-payments", "search": "prod-search", "ml": "ml-lab"}
WEEK = (1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.55)  # Monday … Sunday
# The injected truth: (team, service, first day, last day, kind, extra per day on us-east-1).
SPIKE = ("payments", "Amazon EC2", date(2026, 4, 10), date(2026, 4, 11), "spike", 900.0)
SHIFT = ("search", "Amazon S3", date(2026, 4, 20), date(2026, 4, 30), "level_shift", 60.0)
TRUTH = (SPIKE, SHIFT)
HEADER = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
    "RegionId", "SubAccountId", "SubAccountName", "Tags",
]  # fmt: skip


def _month_bounds(day: date) -> tuple[str, str]:
    start = day.replace(day=1)
    nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return f"{start.isoformat()} 00:00:00", f"{nxt.isoformat()} 00:00:00"


def synthetic_rows(days: int = DAYS, truth: tuple = TRUTH, seed: int = 7) -> list[dict[str, str]]:
    """Daily FOCUS rows per team × service × region with weekly seasonality and 4% noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(days):
        day = FIRST_DAY + timedelta(days=i)
        bp_start, bp_end = _month_bounds(day)
        for team, base in TEAMS.items():
            for service, (category, share) in SERVICES.items():
                for region, region_share in REGIONS.items():
                    cost = (
                        base * share * region_share * WEEK[day.weekday()] * (1 + 0.04 * rng.standard_normal())
                    )
                    cost *= 1 + 0.001 * i  # a gentle growth trend
                    for t_team, t_service, first, last, _kind, extra in truth:
                        if (
                            (team, service) == (t_team, t_service)
                            and first <= day <= last
                            and region == "us-east-1"
                        ):
                            cost += extra
                    amount = f"{math.floor(max(cost, 0.0) * 1e6) / 1e6:.6f}"
                    rows.append({
                        "BilledCost": amount, "EffectiveCost": amount, "ListCost": amount, "ContractedCost": amount,
                        "BillingAccountId": "acct-1", "BillingAccountName": "Example", "BillingCurrency": "USD",
                        "BillingPeriodStart": bp_start, "BillingPeriodEnd": bp_end, "ChargeCategory": "Usage",
                        "ChargeClass": "NULL", "ChargeDescription": f"{service} usage",
                        "ChargePeriodStart": f"{day.isoformat()} 00:00:00",
                        "ChargePeriodEnd": f"{(day + timedelta(days=1)).isoformat()} 00:00:00",
                        "InvoiceIssuerName": "AWS", "PricingQuantity": "1", "PricingUnit": "Hours",
                        "ProviderName": "AWS", "PublisherName": "AWS", "ServiceCategory": category,
                        "ServiceName": service, "RegionId": region, "SubAccountId": ACCOUNT[team],
                        "SubAccountName": ACCOUNT[team],
                        "Tags": json.dumps({"team": team, "env": "prod" if team != "ml" else "dev"}),
                    })  # fmt: skip
    return rows


# LLM gateway requests (LiteLLM spend-log shape): (feature, model, prompt, completion, cache read, spend).
LLM_REQUESTS = (
    ("search-summary", "gpt-4o-mini", 1200, 300, 200, "0.000360"),
    ("search-summary", "gpt-4o", 1000, 250, 0, "0.005000"),
    ("support-bot", "gpt-4o", 2000, 500, 1000, "0.008750"),
    ("", "gpt-4o-mini", 400, 100, 0, "0.000120"),
)
LLM_DAYS = (date(2026, 4, 14), date(2026, 4, 15), date(2026, 4, 16))


def llm_records() -> list[dict[str, object]]:
    records = []
    for day in LLM_DAYS:
        for n, (feature, model, prompt, completion, cached, spend) in enumerate(LLM_REQUESTS):
            metadata = {"team": "search"} | ({"feature": feature} if feature else {})
            records.append({
                "request_id": f"req-{day.isoformat()}-{n}", "startTime": f"{day.isoformat()}T10:00:0{n}Z",
                "model": model, "custom_llm_provider": "openai", "prompt_tokens": prompt,
                "completion_tokens": completion, "cache_read_input_tokens": cached, "spend": spend,
                "metadata": metadata,
            })  # fmt: skip
    return records


def write_focus(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def ingest(
    warehouse: Path, files: list[Path], rejected: Path, llm_logs: list[Path] = (), strict: bool = True
) -> None:  # type: ignore[assignment]
    from warehouse.config import WarehouseConfig
    from warehouse.ingest_focus import ingest_focus_files
    from warehouse.ingest_llm import ingest_llm_files

    report = ingest_focus_files(warehouse, files, WarehouseConfig(), rejected)
    assert all(f.rows_rejected == 0 for f in report.files) or not strict, report
    if llm_logs:
        report = ingest_llm_files(warehouse, list(llm_logs), WarehouseConfig(), rejected)
        # The sample's gateway logs carry a few deliberately broken requests.
        assert all(f.rows_rejected == 0 for f in report.files) or not strict, report


@pytest.fixture(scope="session")
def synthetic_rows_list() -> list[dict[str, str]]:
    return synthetic_rows()


@pytest.fixture(scope="session")
def synthetic_warehouse(tmp_path_factory: pytest.TempPathFactory, synthetic_rows_list) -> Path:  # type: ignore[no-untyped-def]
    """A DuckDB warehouse holding the synthetic bill (read it; copy it before writing)."""
    folder = tmp_path_factory.mktemp("intel")
    source = write_focus(folder / "bill.csv", synthetic_rows_list)
    logs = folder / "llm.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in llm_records()))
    warehouse = folder / "warehouse.duckdb"
    ingest(warehouse, [source], folder / "rejected", [logs])
    return warehouse


@pytest.fixture
def intel_workspace(workspace: Path, synthetic_warehouse: Path) -> Path:
    """The CLI workspace (COSTPILOT_HOME) with the synthetic warehouse in it."""
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copy(synthetic_warehouse, workspace / "warehouse.duckdb")
    return workspace


@pytest.fixture
def backend(synthetic_warehouse: Path):  # type: ignore[no-untyped-def]
    from warehouse.query import open_backend

    con = open_backend(synthetic_warehouse)
    yield con
    con.disconnect()


def exact_cost(rows: list[dict[str, str]], keep: Callable[[dict[str, str]], bool]) -> Decimal:
    return sum((Decimal(r["EffectiveCost"]) for r in rows if keep(r)), Decimal(0))


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The bundled sample data set (generated once per session) and its ingested warehouse."""
    from evals.sampledata.generate import generate_sample

    folder = tmp_path_factory.mktemp("sample")
    manifest = generate_sample(folder / "data")
    warehouse = folder / "warehouse.duckdb"
    ingest(warehouse, manifest.focus_files, folder / "rejected", manifest.llm_files, strict=False)
    return manifest, warehouse
