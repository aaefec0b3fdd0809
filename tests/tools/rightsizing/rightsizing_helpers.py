"""Run a preset over an in-memory sample frame."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "warehouse"))

from utilization_factory import to_table  # noqa: E402

from tools.rightsizing import RightsizeResult, UnitPrices, recommend  # noqa: E402
from warehouse.utilization_series import chunks_from_table  # noqa: E402

PRICES = UnitPrices(usd_per_vcpu_hour="0.031611", usd_per_gib_hour="0.004237", source="config", detail="test")


def run_preset(df: pd.DataFrame, preset: str, **kwargs: Any) -> RightsizeResult:
    table = to_table(df)
    return recommend(lambda s: chunks_from_table(table, sort_in_memory=s), preset, PRICES, **kwargs)
