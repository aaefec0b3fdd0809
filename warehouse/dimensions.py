"""Dimensions users can group and filter by, mapped to ``cost_facts`` columns.

Friendly names (``team``, ``service``, ``model`` …) plus any FOCUS column by its name
(case-insensitive) and any ``x_`` column present in the table.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import InputError
from warehouse.config import ALLOCATION_DIMENSIONS
from warehouse.facts import focus_by_lower

# Friendly name → fact column. Allocation dimensions are columns of their own.
DIMENSIONS: dict[str, str] = {
    **{dim: dim for dim in ALLOCATION_DIMENSIONS},
    "service": "ServiceName",
    "service_category": "ServiceCategory",
    "category": "ServiceCategory",
    "provider": "ProviderName",
    "region": "RegionId",
    "account": "SubAccountName",
    "account_id": "SubAccountId",
    "sub_account": "SubAccountName",
    "billing_account": "BillingAccountId",
    "charge_category": "ChargeCategory",
    "resource": "ResourceId",
    "resource_type": "ResourceType",
    "sku": "SkuId",
    "model": "x_model",
    "end_user": "x_end_user",
}
# Derived from the charge time rather than a column.
TIME_DIMENSIONS = ("day", "month")
MEASURES = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")


def resolve_dimension(name: str, table_columns: Iterable[str]) -> str:
    """The fact column (or time dimension) behind a user-facing dimension name."""
    key = name.strip()
    if key in DIMENSIONS:
        return DIMENSIONS[key]
    if key in TIME_DIMENSIONS:
        return key
    focus = focus_by_lower().get(key.lower())
    if focus:
        return focus.name
    columns = set(table_columns)
    if key.startswith("x_") and key in columns:
        return key
    valid = sorted(DIMENSIONS) + list(TIME_DIMENSIONS)
    raise InputError(f"unknown dimension {name!r}; use one of: {', '.join(valid)}, or a FOCUS column name")


def parse_dimensions(text: str | None) -> list[str]:
    """``"team,env"`` → ``["team", "env"]`` (order kept, duplicates refused)."""
    if not text:
        return []
    names = [part.strip() for part in text.split(",") if part.strip()]
    if len(set(names)) != len(names):
        raise InputError(f"dimensions {text!r}: a dimension is listed twice")
    return names


def parse_filters(items: Iterable[str]) -> dict[str, list[str]]:
    """``["team=payments", "env=prod,staging"]`` → ``{"team": ["payments"], "env": ["prod", "staging"]}``."""
    filters: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"filter {item!r}: expected KEY=VALUE (e.g. team=payments)")
        filters.setdefault(key.strip(), []).extend(v.strip() for v in value.split(",") if v.strip())
    return filters
