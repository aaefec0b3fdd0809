"""Tag hygiene: is an untagged jump spend that lost its tags, and which resources carry it.

One query brings daily usage per series (and drill value) per resource around the untagged
jumps. A jump is tag loss when at least MOVED_SHARE of its impact sits on resources billed in a
tagged series in the LOOKBACK_DAYS before it (a resource that lost its tags, not new spend);
those resources, with their cost during the jump, are the finding's ``resources``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import ibis
import pandas as pd

from domain.money import round_cents
from domain.period import Period
from tools.anomalies.findings import Run
from tools.anomalies.root_causes import MAX_ROOT_CAUSES, RootCause
from warehouse.config import UNTAGGED
from warehouse.query import NONE_LABEL, daily_costs

MOVED_SHARE = 0.5
LOOKBACK_DAYS = 7


class ResourceView:
    """Daily usage per resource around the untagged jumps (one query, or none when no jump)."""

    def __init__(
        self,
        backend: ibis.BaseBackend,
        by: list[str],
        drill: str | None,
        filters: dict[str, list[str]],
        runs: list[Run],
        table: str,
    ) -> None:
        self.by, self.drill = by, drill
        jumps = [r for r in runs if r.untagged and r.direction == "up"]
        self.frame = pd.DataFrame()
        if jumps:
            span = Period(
                start=min(r.start for r in jumps) - timedelta(days=LOOKBACK_DAYS),
                end=max(r.end for r in jumps),
            )
            dims = [*by, *([drill] if drill else [])]
            frame = daily_costs(backend, span, [*dims, "resource"], filters, table=table)
            # Text and float once, not once per jump.
            self.frame = frame.assign(
                **{name: frame[name].astype(str) for name in [*dims, "resource"]},
                cost=frame["cost"].astype(float),
            )
        self._moved: dict[Run, pd.Series] = {}

    def _dims(self, run: Run) -> tuple[list[str], list[str]]:
        names = [*self.by, *([self.drill] if run.sub is not None and self.drill else [])]
        return names, [*run.key, *([run.sub] if run.sub is not None else [])]

    def moved(self, run: Run) -> pd.Series:
        """Cost during the run per resource that was billed tagged in the days before it."""
        if run not in self._moved:
            self._moved[run] = self._compute_moved(run)
        return self._moved[run]

    def _compute_moved(self, run: Run) -> pd.Series:
        if self.frame.empty:
            return pd.Series(dtype=float)
        names, values = self._dims(run)
        rows = self.frame
        same = pd.Series(True, index=rows.index)
        for name, value in zip(names, values, strict=True):
            same &= rows[name] == value
        during = rows[same & (rows["day"] >= run.start) & (rows["day"] <= run.end)]
        before = rows[(rows["day"] >= run.start - timedelta(days=LOOKBACK_DAYS)) & (rows["day"] < run.start)]
        tagged = pd.Series(False, index=before.index)
        for name, value in zip(names, values, strict=True):
            if value == UNTAGGED:
                tagged |= before[name].astype(str) != UNTAGGED
        known = set(before.loc[tagged, "resource"].astype(str)) - {NONE_LABEL}
        moved = during[during["resource"].astype(str).isin(known)]
        return (
            moved.groupby(moved["resource"].astype(str))["cost"]
            .sum()
            .astype(float)
            .sort_values(ascending=False)
        )

    def is_tag_loss(self, run: Run) -> bool:
        return run.impact > 0 and float(self.moved(run).sum()) >= MOVED_SHARE * run.impact

    def resources(self, run: Run) -> list[RootCause]:
        return [
            RootCause(dimension="resource", value=name, contribution=round_cents(Decimal(repr(cost))))
            for name, cost in self.moved(run).head(MAX_ROOT_CAUSES).items()
        ]
