"""What a builder reads (``Scope``) and the scope helpers every cost builder shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from agent.planner.models import Vocabulary
from agent.planner.periods import PeriodMention

# Dimensions the cost facts can be filtered and grouped by (warehouse.dimensions).
WAREHOUSE_DIMS: frozenset[str] = frozenset(
    {"team", "env", "service", "provider", "region", "account", "feature", "model", "category", "cost_center"}
)
TIME_DIMS: tuple[str, ...] = ("day", "month")
DEFAULT_MEASURE = "EffectiveCost"


@dataclass
class Scope:
    """Everything a builder reads: the question's words and what they resolved to."""

    text: str
    today: date
    vocabulary: Vocabulary
    period: str | None  # None: no period named this turn nor carried
    mentions: list[PeriodMention]  # periods named this turn
    by: list[str]
    by_named: bool
    filters: dict[str, list[str]]
    top: int | None
    measure: str | None
    why: bool
    proposal_id: str | None
    previous_args: dict[str, dict[str, Any]]  # tool → args of the thread's last turn (same intent)
    notes: list[str] = field(default_factory=list)
    # dimensions named with two values or more ("payments and search")
    listed: set[str] = field(default_factory=set)
    used_period: str | None = None  # the period the calls use (remembered by the thread)
    used_filters: dict[str, list[str]] = field(default_factory=dict)

    def carried(self, tool: str, key: str, default: Any = None) -> Any:
        return self.previous_args.get(tool, {}).get(key, default)


def warehouse_filters(scope: Scope) -> dict[str, list[str]]:
    """The scope as cost-fact filters; namespaces read as team + env when named that way."""
    out: dict[str, list[str]] = {}
    teams, envs = set(scope.vocabulary.of("team")), set(scope.vocabulary.of("env"))
    for dim, values in scope.filters.items():
        if dim in WAREHOUSE_DIMS:
            out.setdefault(dim, [])
            out[dim].extend(v for v in values if v not in out[dim])
        elif dim == "namespace":
            for ns in values:
                split = next(((t, e) for t in teams for e in envs if ns == f"{t}-{e}"), None)
                if split is None:
                    scope.notes.append(f"costs are not recorded per namespace; {ns!r} is not a filter here")
                    continue
                team, env = split
                scope.notes.append(f"read namespace {ns!r} as team {team!r}, env {env!r}")
                for key, value in (("team", team), ("env", env)):
                    out.setdefault(key, [])
                    if value not in out[key]:
                        out[key].append(value)
        else:
            shown = ", ".join(repr(v) for v in values)
            scope.notes.append(f"costs are not recorded per {dim}; {shown} is not a filter here")
    scope.used_filters = out
    return out


def breakdown_dims(scope: Scope, filters: dict[str, list[str]], default: list[str]) -> list[str]:
    by = [d for d in scope.by if d in WAREHOUSE_DIMS or d in TIME_DIMS]
    dropped = [d for d in scope.by if d not in by]
    if dropped:
        scope.notes.append(f"costs cannot be broken down by {', '.join(dropped)}")
    if not scope.by_named and not by:
        # "payments and search": show each one, not only their sum
        by = [dim for dim, values in filters.items() if len(values) > 1 and dim in scope.listed]
    return by or list(default)


def period_or_default(scope: Scope, default: str) -> str:
    period = scope.period or default
    if scope.period is None:
        scope.notes.append(f"no period named: used {default}")
    scope.used_period = period
    return period
