"""Resource × day cells → FOCUS 1.2 Arrow tables, fully vectorised (demo and bulk share it).

Money is carried as int64 in units of 1e-10 USD (quantities in 1e-6 units) so that every
decimal in the files is exact and a sum of rows equals the sum of the decimals written.
Two physical forms: ``typed`` (Parquet: decimal128 money, timestamp[us, UTC] times) and text
(CSV: decimal strings, ``YYYY-MM-DDTHH:MM:SSZ`` times).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evals.sampledata import cloud
from evals.sampledata.focus_resources import Resource

MONEY_SCALE = 10**10  # 10 decimals
QTY_SCALE = 10**6  # 6 decimals
MONEY_TYPE = pa.decimal128(20, 10)
QTY_TYPE = pa.decimal128(24, 6)
TIME_TYPE = pa.timestamp("us", tz="UTC")

# FOCUS 1.2 columns in the order of the spec's column list.
COLUMNS: tuple[str, ...] = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
]
MONEY_COLUMNS = [
    "BilledCost",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
]
QTY_COLUMNS = ("ConsumedQuantity", "PricingQuantity", "CommitmentDiscountQuantity")
TIME_COLUMNS = ("BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart")


def schema(typed: bool) -> pa.Schema:
    def kind(col: str) -> pa.DataType:
        if not typed:
            return pa.string()
        if col in MONEY_COLUMNS:
            return MONEY_TYPE
        if col in QTY_COLUMNS:
            return QTY_TYPE
        if col in TIME_COLUMNS:
            return TIME_TYPE
        return pa.string()

    return pa.schema([(c, kind(c)) for c in COLUMNS])


@dataclass(frozen=True)
class Cells:
    """Row-level values: which resource, which day, and the money in scaled int64 units."""

    r_idx: np.ndarray
    d_idx: np.ndarray
    qty: np.ndarray  # 1e-6 units
    qty_valid: np.ndarray  # bool; False → quantities and unit prices are null
    list_cost: np.ndarray  # 1e-10 USD
    contracted_cost: np.ndarray
    billed_cost: np.ndarray
    effective_cost: np.ndarray


def price_units(resources: Sequence[Resource]) -> tuple[np.ndarray, np.ndarray]:
    """(list, contracted) unit prices per resource in 1e-10 USD."""
    list_u = np.array([round(float(r.list_price) * MONEY_SCALE) for r in resources], dtype=np.int64)
    disc = np.array([cloud.PROVIDERS[r.provider].discount for r in resources])
    return list_u, np.rint(list_u * (1 - disc)).astype(np.int64)


def money_from_qty(
    resources: Sequence[Resource], r_idx: np.ndarray, qty_u: np.ndarray
) -> tuple[np.ndarray, ...]:
    """List, contracted, billed and effective cost (1e-10 USD) of quantities (1e-6 units)."""
    list_p, contracted_p = price_units(resources)
    share = np.array([r.billed_share for r in resources])
    qty = qty_u / QTY_SCALE
    list_cost = np.rint(qty * list_p[r_idx]).astype(np.int64)
    contracted = np.rint(qty * contracted_p[r_idx]).astype(np.int64)
    billed = np.rint(contracted * share[r_idx]).astype(np.int64)
    return list_cost, contracted, billed, billed.copy()


def _decimal_text(units: np.ndarray, scale_digits: int, valid: np.ndarray | None) -> pa.Array:
    mag = np.abs(units)
    scale = 10**scale_digits
    whole = pa.array(mag // scale).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(mag % scale).cast(pa.string()), scale_digits, "0")
    sign = pa.array(np.where(units < 0, "-", ""))
    text = pc.binary_join_element_wise(sign, whole, ".", frac, "")
    return text if valid is None else pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))


def _decimal_typed(units: np.ndarray, dtype: pa.DataType, valid: np.ndarray | None) -> pa.Array:
    buf = np.empty((len(units), 2), dtype=np.int64)
    buf[:, 0] = units
    buf[:, 1] = np.where(units < 0, -1, 0)  # two's complement high word
    # validity bitmap: a pyarrow boolean array's data buffer is already bit-packed
    mask = None if valid is None else pa.array(valid, pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(dtype, len(units), [mask, pa.py_buffer(buf.tobytes())])


def _money(units: np.ndarray, typed: bool, valid: np.ndarray | None = None) -> pa.Array:
    return _decimal_typed(units, MONEY_TYPE, valid) if typed else _decimal_text(units, 10, valid)


def _qty(units: np.ndarray, typed: bool, valid: np.ndarray | None) -> pa.Array:
    return _decimal_typed(units, QTY_TYPE, valid) if typed else _decimal_text(units, 6, valid)


def _iso(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _times(values: list[date], idx: np.ndarray, typed: bool) -> pa.Array:
    if typed:
        micros = [int(datetime(v.year, v.month, v.day, tzinfo=UTC).timestamp()) * 1_000_000 for v in values]
        return pa.array(np.array(micros, dtype=np.int64)[idx], TIME_TYPE)
    return pa.array([_iso(v) for v in values], pa.string()).take(pa.array(idx))


def static_columns(resources: Sequence[Resource]) -> dict[str, list[str | None]]:
    """Per-resource values of the columns that do not change from day to day."""
    cols: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
    for r in resources:
        svc = cloud.SERVICES[r.service]
        prov = cloud.PROVIDERS[r.provider]
        usage = r.charge_category == "Usage" and r.charge_class is None
        values: dict[str, str | None] = {
            "AvailabilityZone": r.zone,
            "BillingAccountId": prov.billing_account_id,
            "BillingAccountName": prov.billing_account_name,
            "BillingAccountType": prov.billing_account_type,
            "BillingCurrency": "USD",
            "ChargeCategory": r.charge_category,
            "ChargeClass": r.charge_class,
            "ChargeDescription": r.description,
            "ChargeFrequency": r.charge_frequency,
            "ConsumedUnit": r.unit if usage else None,
            "InvoiceIssuerName": prov.publisher,
            "PricingCategory": r.pricing_category if usage else None,
            "PricingCurrency": "USD",
            "PricingUnit": r.unit if usage else None,
            "ProviderName": prov.name,
            "PublisherName": prov.publisher,
            "RegionId": r.region_id,
            "RegionName": r.region_name,
            "ResourceId": r.resource_id,
            "ResourceName": r.resource_name,
            "ResourceType": r.resource_type,
            "ServiceCategory": svc.category,
            "ServiceName": svc.name,
            "ServiceSubcategory": svc.subcategory,
            "SkuId": r.sku,
            "SkuMeter": r.meter if usage else None,
            "SkuPriceId": f"{r.sku}.{r.pricing_category[:3].upper()}" if usage and r.sku else None,
            "SubAccountId": r.sub_id,
            "SubAccountName": r.sub_name,
            "SubAccountType": prov.sub_account_type,
            "Tags": r.tags,
        }
        for c in COLUMNS:
            cols[c].append(values.get(c))
    return cols


@dataclass(frozen=True)
class Prepared:
    """Per-resource arrays computed once and taken per chunk of cells."""

    static: dict[str, pa.Array]
    prices: dict[tuple[str, bool], pa.Array]  # (column, typed) → per-resource unit price
    provider_idx: np.ndarray


def prepare(resources: Sequence[Resource]) -> Prepared:
    static = {k: pa.array(v, pa.string()) for k, v in static_columns(resources).items()}
    list_p, contracted_p = price_units(resources)
    prices = {}
    for typed in (True, False):
        prices[("ListUnitPrice", typed)] = _money(list_p, typed)
        prices[("ContractedUnitPrice", typed)] = _money(contracted_p, typed)
    prov_keys = sorted(cloud.PROVIDERS)
    provider_idx = np.array([prov_keys.index(r.provider) for r in resources])
    return Prepared(static, prices, provider_idx)


def build_tables(
    prepared: Prepared, days: list[date], cells: Cells, forms: Sequence[bool] = (True,)
) -> list[pa.Table]:
    """Arrow tables for the given cells, one per form (True = typed/Parquet, False = text/CSV)."""
    take = pa.array(cells.r_idx)
    n = len(cells.r_idx)
    common: dict[str, pa.Array] = {}
    for col, arr in prepared.static.items():
        common[col] = pa.nulls(n, pa.string()) if arr.null_count == len(arr) else arr.take(take)
    months = sorted({_month_start(d) for d in days})
    month_of_day = np.array([months.index(_month_start(d)) for d in days])
    m_idx = month_of_day[cells.d_idx]
    prov_keys = sorted(cloud.PROVIDERS)
    p_idx = prepared.provider_idx[cells.r_idx]
    invoices = [f"{cloud.PROVIDERS[p].key.upper()}-INV-{m:%Y%m}" for p in prov_keys for m in months]
    common["InvoiceId"] = pa.array(invoices).take(pa.array(p_idx * len(months) + m_idx))
    valid = None if cells.qty_valid.all() else pa.array(cells.qty_valid)
    tables = []
    for typed in forms:
        out = dict(common)
        out["BilledCost"] = _money(cells.billed_cost, typed)
        same = np.array_equal(cells.billed_cost, cells.effective_cost)
        out["EffectiveCost"] = out["BilledCost"] if same else _money(cells.effective_cost, typed)
        same = np.array_equal(cells.billed_cost, cells.contracted_cost)
        out["ContractedCost"] = out["BilledCost"] if same else _money(cells.contracted_cost, typed)
        out["ListCost"] = _money(cells.list_cost, typed)
        out["PricingCurrencyEffectiveCost"] = out["EffectiveCost"]
        for col in ("ListUnitPrice", "ContractedUnitPrice"):
            price = prepared.prices[(col, typed)].take(take)
            out[col] = price if valid is None else pc.if_else(valid, price, pa.scalar(None, price.type))
            out[f"PricingCurrency{col}"] = out[col]
        out["ConsumedQuantity"] = _qty(cells.qty, typed, None if valid is None else cells.qty_valid)
        out["PricingQuantity"] = out["ConsumedQuantity"]
        out["CommitmentDiscountQuantity"] = pa.nulls(n, QTY_TYPE if typed else pa.string())
        out["ChargePeriodStart"] = _times(days, cells.d_idx, typed)
        out["ChargePeriodEnd"] = _times(
            [date.fromordinal(d.toordinal() + 1) for d in days], cells.d_idx, typed
        )
        out["BillingPeriodStart"] = _times(months, m_idx, typed)
        out["BillingPeriodEnd"] = _times([_next_month(m) for m in months], m_idx, typed)
        sch = schema(typed)
        tables.append(pa.table([out[c].cast(sch.field(c).type) for c in COLUMNS], schema=sch))
    return tables
