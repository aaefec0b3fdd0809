"""Right-sizing over the workspace: samples from the warehouse; current requests, container
types and HPAs as ``domain.manifests.ManifestFacts``, which the caller gets from the GitOps
repository model (``gitops.repo.GitOpsRepo.load(root).manifest_facts()``): tools never read the
repository."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import DataError
from domain.manifests import ContainerRef, ManifestContainer, ManifestFacts, WorkloadRef
from tools.rightsizing.engine import recommend
from tools.rightsizing.models import PriceSource, RightsizeResult, UnitPrices
from tools.rightsizing.registry import build_settings, get_preset
from warehouse.unit_prices import bill_unit_prices
from warehouse.utilization import sample_namespaces
from warehouse.utilization_series import chunks_from_warehouse, warehouse_time_range


class ConfiguredPrices(BaseModel):
    """Prices used when the bill has no node rows (USD, on-demand list prices by default)."""

    model_config = ConfigDict(frozen=True)

    usd_per_vcpu_hour: Decimal = Field(Decimal("0.031611"), ge=0, description="USD per vCPU-hour")
    usd_per_gib_hour: Decimal = Field(Decimal("0.004237"), ge=0, description="USD per GiB-hour")


def unit_prices(warehouse_path: Path, configured: ConfiguredPrices) -> UnitPrices:
    """The bill's node prices when present, else the configured ones (the result says which)."""
    bill = bill_unit_prices(warehouse_path)
    if bill is not None:
        return UnitPrices(
            usd_per_vcpu_hour=bill.usd_per_vcpu_hour,
            usd_per_gib_hour=bill.usd_per_gib_hour,
            source=PriceSource.bill,
            detail=f"EffectiveCost / ConsumedQuantity of {bill.scope}",
        )
    return UnitPrices(
        usd_per_vcpu_hour=configured.usd_per_vcpu_hour,
        usd_per_gib_hour=configured.usd_per_gib_hour,
        source=PriceSource.config,
        detail="no vCPU-Hours / GiB-Hours rows in cost_facts; configured prices",
    )


def manifest_inputs(
    facts: ManifestFacts,
) -> tuple[dict[WorkloadRef, frozenset[str]], dict[ContainerRef, ManifestContainer]]:
    """HPA-scaled resources per workload and declared containers, keyed for lookups."""
    return facts.hpa_resources(), facts.container_map()


def unknown_namespace_message(
    namespace: str, known: list[str], window: str = "the window", limit: int = 5
) -> str:
    """``--namespace`` matched nothing while others have samples: name the closest few."""
    close = difflib.get_close_matches(namespace, known, n=limit, cutoff=0.5)
    shown = close + [n for n in known if n not in close][: limit - len(close)]
    more = f", … ({len(known)} in all)" if len(known) > len(shown) else ""
    return f"no samples for namespace {namespace!r} in {window}; namespaces with samples: {', '.join(shown)}{more}"


def rightsize_workspace(
    warehouse_path: Path,
    manifests: ManifestFacts | None,
    preset: str,
    namespace: str | None = None,
    overrides: dict[str, Any] | None = None,
    configured: ConfiguredPrices | None = None,
    until: datetime | None = None,
) -> RightsizeResult:
    """Recommendations for the stored samples of the last ``history_days`` before ``until``;
    ``manifests`` are the GitOps repository's facts (None: no repository)."""
    spec = get_preset(preset)
    settings = build_settings(spec, overrides)
    if not warehouse_path.exists():
        raise DataError("no warehouse yet; run `costpilot ingest utilization PATH` first")
    span = warehouse_time_range(warehouse_path)
    if span is None:
        raise DataError("no utilization samples; run `costpilot ingest utilization PATH` first")
    end = min(until, span[1] + timedelta(seconds=1)) if until else span[1] + timedelta(seconds=1)
    start = end - timedelta(days=int(settings.history_days))
    if namespace is not None:
        known = sample_namespaces(warehouse_path, start, end)
        if known and namespace not in known:
            window = f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC"
            raise DataError(unknown_namespace_message(namespace, known, window))
    prices = unit_prices(warehouse_path, configured or ConfiguredPrices())
    return recommend(
        lambda _sort: chunks_from_warehouse(warehouse_path, start, end, namespace),
        preset,
        prices,
        overrides=overrides,
        manifests=manifests,
        window=(start.isoformat(), end.isoformat()),
        source_label=f"{warehouse_path.name}:utilization_samples"
        + (f" namespace={namespace}" if namespace else ""),
    )
