"""AWS Cost Anomaly Detection style alert rules: $ impact and/or % impact, and a $ floor."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

# How the absolute and the percent rule combine (a registry, not an if/elif chain).
COMBINERS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "and": np.logical_and,
    "or": np.logical_or,
}


class ThresholdRule(BaseModel):
    """Keep an anomaly when its impact clears the rule.

    ``absolute``: impact ≥ this amount (currency units); ``percent``: impact ≥ this % of the
    expected cost; both set → combined with ``combine``; neither set → only the floor applies.
    ``min_impact`` is always required (it suppresses noise on tiny series).

    Defaults ($50 AND 15%) come from the sample data's ground truth: every injected anomaly
    clears 25% and every robust-score-only false alarm stayed under 10% (see
    benchmarks/README_spend_intel.md); AWS recommends the same AND shape.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    absolute: Decimal | None = Field(Decimal(50), ge=0, description="minimum impact in currency units")
    percent: float | None = Field(15.0, ge=0, description="minimum impact in % of expected")
    combine: Literal["and", "or"] = Field("and", description="how absolute and percent combine")
    min_impact: Decimal = Field(Decimal(10), ge=0, description="impact floor, always applied")

    def passes(self, impact: np.ndarray, impact_pct: np.ndarray) -> np.ndarray:
        """Vectorised: which anomalies (impact in currency, impact_pct in %, inf allowed) pass."""
        impact = np.asarray(impact, dtype=float)
        impact_pct = np.asarray(impact_pct, dtype=float)
        keep = impact >= float(self.min_impact)
        checks = []
        if self.absolute is not None:
            checks.append(impact >= float(self.absolute))
        if self.percent is not None:
            # NaN (expected and actual both 0) never passes; +inf (from 0 expected) does.
            checks.append(np.nan_to_num(impact_pct, nan=-np.inf) >= self.percent)
        if len(checks) == 2:
            keep &= COMBINERS[self.combine](checks[0], checks[1])
        elif checks:
            keep &= checks[0]
        return keep
