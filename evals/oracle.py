"""The independent oracle: what an answer must show, computed with pandas from the raw files.

It never imports the product's query code (``warehouse``, ``tools``, ``services``; a test pins
that): it reads the FOCUS exports and LLM logs the eval ingested (``oracle_data``), the
utilization samples, the injected-anomaly truth and the state database (plain ``sqlite3``), and
resolves periods by DESIGN.md's rules. For every expected tool call it lists the numbers the
answer must contain (``Expect``): amounts to the cent, shares, unit costs, counts. It does not
refit forecasts or re-run the anomaly detector: a forecast's month-to-date actual and an injected
anomaly's actual cost are facts of the data; the projection itself is only checked for grounding.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from evals.oracle_data import AI_CATEGORY, NONE, RawData

Kind = Literal["money", "share", "unit", "count"]
CENT = Decimal("0.01")
UNIT = Decimal("0.000001")
SHOWN = 10  # an answer lists at most this many rows (breakdowns, unit costs, anomalies, forecasts)
SHOWN_MOVERS = 5
USAGE = ("Usage", "Purchase")  # the anomaly baseline: credits, refunds, adjustments, taxes left out
NONPROD = ("dev", "development", "staging", "stage", "test", "qa", "sandbox", "preview", "nonprod")
FILTERABLE = {"team", "feature", "env", "cost_center", "tenant", "service", "category", "provider",
              "region", "account", "billing_account", "resource", "model"}  # fmt: skip


@dataclass(frozen=True)
class Expect:
    """One number the answer must show: ``value`` in its ``kind`` (money is rounded to the cent)."""

    value: Decimal
    kind: Kind
    label: str

    def shown(self) -> str:
        if self.kind == "money":
            return f"{self.value.quantize(CENT, rounding=ROUND_HALF_EVEN):,}"
        if self.kind == "share":
            return f"{(self.value * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}%"
        return str(self.value)


@dataclass(frozen=True)
class Budget:
    """A budget the eval workspace sets (``scope``: ``total`` or ``dim=value``; monthly)."""

    scope: str
    amount: Decimal


_LAST_N = re.compile(r"last-(\d{1,4})d")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _month(year: int, month: int) -> tuple[date, date]:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, 1), nxt - timedelta(days=1)


def resolve_period(text: str, today: date) -> tuple[date, date]:
    """A period name (DESIGN.md's CLI contract) as (first day, last day), both included."""
    raw = text.strip().lower()
    monday = today - timedelta(days=today.weekday())
    fixed: dict[str, tuple[date, date]] = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "last-week": (monday - timedelta(days=7), monday - timedelta(days=1)),
        "this-week": (monday, today),
        "this-month": (today.replace(day=1), today),
    }
    if raw in fixed:
        return fixed[raw]
    if raw == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return _month(last.year, last.month)
    if m := _LAST_N.fullmatch(raw):
        return today - timedelta(days=int(m.group(1))), today - timedelta(days=1)
    if m := _MONTH.fullmatch(raw):
        return _month(int(m.group(1)), int(m.group(2)))
    if ".." in raw:
        left, _, right = raw.partition("..")
        return date.fromisoformat(left), date.fromisoformat(right)
    day = date.fromisoformat(raw)
    return day, day


def _sum(values: Any) -> Decimal:
    return sum(values, Decimal(0))


def _label(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@dataclass
class Oracle:
    data: RawData
    today: date
    truth: list[dict[str, Any]] = field(default_factory=list)
    utilization: Path | None = None
    state_db: Path | None = None
    budgets: list[Budget] = field(default_factory=list)
    _samples: pd.DataFrame | None = field(default=None, repr=False)
    _idle: dict[int, list[Expect]] = field(default_factory=dict, repr=False)

    # ----- the frame -----
    def scope(self, start: date, end: date, filters: dict[str, list[str]] | None = None) -> pd.DataFrame:
        f = self.data.frame
        mask = (f["day"] >= start) & (f["day"] <= end)
        for key, values in (filters or {}).items():
            if key not in FILTERABLE:
                raise ValueError(f"oracle: cannot filter by {key!r}")
            mask &= f[key].fillna(NONE).isin(values)
        return f[mask]

    def groups(
        self, frame: pd.DataFrame, by: list[str], measure: str = "EffectiveCost"
    ) -> list[tuple[tuple[str, ...], Decimal]]:
        """Cost per combination of ``by``, largest first (ties by the labels)."""
        if frame.empty:
            return []
        keys = frame[by].fillna(NONE).map(_label) if by else None
        sums: dict[tuple[str, ...], Decimal] = {}
        for key, cost in zip(keys.itertuples(index=False, name=None), frame[measure], strict=True):
            sums[key] = sums.get(key, Decimal(0)) + cost
        return sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))

    def _period(
        self, args: dict[str, Any], key: str = "period", default: str = "last-7d"
    ) -> tuple[date, date]:
        return resolve_period(str(args.get(key) or default), self.today)

    # ----- expectations per tool -----
    def spend(self, args: dict[str, Any]) -> list[Expect]:
        start, end = self._period(args)
        measure = args.get("measure") or "EffectiveCost"
        scope = self.scope(start, end, args.get("filters"))
        total = _sum(scope[measure])
        out = [Expect(total, "money", f"total {start}..{end}")]
        by = list(args.get("by") or [])
        if by:
            rows = self.groups(scope, by, measure)[: args.get("top") or None]
            for key, cost in rows[:SHOWN]:
                out.append(Expect(cost, "money", "/".join(key)))
                if total:
                    out.append(Expect(cost / total, "share", f"share of {'/'.join(key)}"))
        return out

    def movers(self, args: dict[str, Any]) -> list[Expect]:
        start, end = self._period(args)
        if args.get("compare"):
            c_start, c_end = self._period(args, "compare")
        else:
            length = (end - start).days + 1
            c_start, c_end = start - timedelta(days=length), end - timedelta(days=length)
        by = list(args.get("by") or ["team"])
        now = dict(self.groups(self.scope(start, end, args.get("filters")), by))
        before = dict(self.groups(self.scope(c_start, c_end, args.get("filters")), by))
        total_now, total_before = _sum(now.values()), _sum(before.values())
        delta = total_now - total_before
        out = [
            Expect(total_now, "money", f"current total {start}..{end}"),
            Expect(total_before, "money", f"previous total {c_start}..{c_end}"),
            Expect(delta, "money", "total change"),
        ]
        movers = []
        for key in set(now) | set(before):
            cur, prev = now.get(key, Decimal(0)), before.get(key, Decimal(0))
            movers.append((key, cur, prev, cur - prev))
        movers.sort(key=lambda m: (-abs(m[3]), m[0]))
        for key, cur, prev, change in movers[: min(int(args.get("top") or 10), SHOWN_MOVERS)]:
            name = "/".join(key)
            out += [Expect(change, "money", f"{name} change"), Expect(prev, "money", f"{name} before"),
                    Expect(cur, "money", f"{name} now")]  # fmt: skip
            if delta:
                out.append(Expect(change / delta, "share", f"{name} share of the change"))
        return out

    def unit_costs(self, args: dict[str, Any]) -> list[Expect]:
        start, end = self._period(args, default="last-30d")
        scope = self.scope(start, end, args.get("filters"))
        llm = scope[(scope["category"] == AI_CATEGORY) & scope["model"].notna()]
        rows = []
        for (feature, model), part in llm.groupby(["feature", "model"], sort=False):
            cost, tokens, requests = (
                _sum(part["EffectiveCost"]),
                int(part["tokens"].sum()),
                int(part["requests"].sum()),
            )
            rows.append((feature, model, cost, tokens, requests))
        rows.sort(key=lambda r: (-r[2], r[0], r[1]))
        out = [Expect(_sum(r[2] for r in rows), "money", f"LLM total {start}..{end}")]
        for feature, model, cost, tokens, requests in rows[:SHOWN]:
            out.append(Expect(cost, "money", f"{feature} on {model}"))
            if tokens:
                per_1k = (cost * 1000 / tokens).quantize(UNIT, rounding=ROUND_HALF_EVEN)
                out.append(Expect(per_1k, "unit", f"{feature} on {model} per 1k tokens"))
            if requests:
                per_request = (cost / requests).quantize(UNIT, rounding=ROUND_HALF_EVEN)
                out.append(Expect(per_request, "unit", f"{feature} on {model} per request"))
        return out

    def anomalies(self, args: dict[str, Any]) -> list[Expect]:
        """The actual cost of each injected spike inside the window and the scope, at the
        question's granularity (the series the answer reports it on)."""
        start, end = self._period(args, default="last-30d")
        by, filters = list(args.get("by", ["team", "service"])), dict(args.get("filters") or {})
        out = []
        for item in self.truth:
            if item.get("kind") != "spike" or not (start <= date.fromisoformat(item["start"])):
                continue
            first, last = date.fromisoformat(item["start"]), date.fromisoformat(item["end"])
            if last > end:
                continue
            facts = {**(item.get("detail") or {}), **item["series"]}
            if any(k not in facts or facts[k] not in v for k, v in filters.items()):
                continue  # outside the scope (or a scope the truth cannot tell)
            if any(b not in facts for b in by):
                continue
            series = {b: [facts[b]] for b in by}
            rows = self.scope(first, last, {**filters, **series})
            usage = rows[rows["charge_category"].isin(USAGE) & (rows["charge_class"] != "Correction")]
            where = ", ".join(facts[b] for b in by) or "total"
            out.append(Expect(_sum(usage["EffectiveCost"]), "money", f"spike {where} {first}..{last}"))
        return out[:SHOWN]

    def month_to_date(
        self, filters: dict[str, list[str]] | None, by: list[str] | None = None
    ) -> list[Expect]:
        first, yesterday = self.today.replace(day=1), self.today - timedelta(days=1)
        scope = self.scope(first, yesterday, filters)
        if not by:
            return [Expect(_sum(scope["EffectiveCost"]), "money", f"spent {first}..{yesterday}")]
        rows = self.groups(scope, by)
        return [Expect(cost, "money", f"{'/'.join(key)} spent to date") for key, cost in rows[:SHOWN]]

    def forecast(self, args: dict[str, Any]) -> list[Expect]:
        return self.month_to_date(args.get("filters"), args.get("by"))

    def budget_status(self, args: dict[str, Any]) -> list[Expect]:
        out = []
        for budget in self.budgets:
            dim, _, value = budget.scope.partition("=")
            filters = {dim: [value]} if value else None
            spent = _sum(self.scope(self.today.replace(day=1), self.today, filters)["EffectiveCost"])
            out += [
                Expect(spent, "money", f"{budget.scope} spent"),
                Expect(budget.amount, "money", f"{budget.scope} budget"),
            ]
        return out

    def idle(self, args: dict[str, Any]) -> list[Expect]:
        """How many non-production workloads stayed near zero CPU (every container's p95 ≤ 0.01
        and max ≤ 0.05 cores, ≥ 100 samples) over the last N days."""
        days = int(args.get("days", 7))
        if days in self._idle:
            return self._idle[days]
        samples = self._utilization()
        until = pd.Timestamp(self.today, tz="UTC")
        nonprod = [
            ns for ns in samples["namespace"].unique() if set(re.split(r"[-_.]", ns.lower())) & set(NONPROD)
        ]
        window = samples[(samples["timestamp"] >= until - pd.Timedelta(days=days)) & (samples["timestamp"] < until)
                         & (samples["container_type"] != "init") & samples["namespace"].isin(nonprod)]  # fmt: skip
        per = window.groupby(["cluster", "namespace", "workload_kind", "workload", "container"])["cpu_cores"]
        stats = pd.DataFrame({"p95": per.quantile(0.95), "max": per.max(), "n": per.size()}).reset_index()
        workloads = stats.groupby(["cluster", "namespace", "workload_kind", "workload"]).agg(
            p95=("p95", "max"), peak=("max", "max"), n=("n", "sum")
        )
        idle = workloads[(workloads["n"] >= 100) & (workloads["p95"] <= 0.01) & (workloads["peak"] <= 0.05)]
        self._idle[days] = [Expect(Decimal(len(idle)), "count", "idle workloads")]
        return self._idle[days]

    def proposals_list(self, args: dict[str, Any]) -> list[Expect]:
        states = list(args.get("states") or [])
        rows = self._proposals()
        count = sum(1 for r in rows if not states or r["state"] in states)
        return [Expect(Decimal(count), "count", f"proposals in {', '.join(states) or 'any state'}")]

    def proposal_show(self, args: dict[str, Any]) -> list[Expect]:
        found = [r for r in self._proposals() if r["id"] == args.get("proposal_id")]
        if not found:
            return []
        findings = json.loads(found[0]["change_json"]).get("findings", [])
        now = _sum(Decimal(f["monthly_cost_now"]) for f in findings)
        after = _sum(Decimal(f["monthly_cost_after"]) for f in findings)
        return [Expect(now, "money", "monthly cost now"), Expect(after, "money", "monthly cost after")]

    def expectations(self, tool: str, args: dict[str, Any]) -> list[Expect]:
        """The numbers an answer to ``tool(args)`` must show (none for tools the oracle does not
        recompute: right-sizing and model choice are checked for grounding only)."""
        handler = EXPECTATIONS.get(tool)
        return handler(self, args) if handler else []

    # ----- other raw sources -----
    def _utilization(self) -> pd.DataFrame:
        if self._samples is None:
            if self.utilization is None:
                raise ValueError("oracle: no utilization file")
            columns = ["timestamp", "cluster", "namespace", "workload_kind", "workload", "container",
                       "container_type", "cpu_cores"]  # fmt: skip
            self._samples = pd.read_parquet(self.utilization, columns=columns)
        return self._samples

    def _proposals(self) -> list[dict[str, Any]]:
        if self.state_db is None or not self.state_db.exists():
            return []
        con = sqlite3.connect(f"file:{self.state_db}?mode=ro", uri=True)
        try:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT id, state, change_json FROM proposals ORDER BY id")]
        finally:
            con.close()


EXPECTATIONS: dict[str, Callable[[Oracle, dict[str, Any]], list[Expect]]] = {
    "spend": Oracle.spend,
    "movers": Oracle.movers,
    "unit_costs": Oracle.unit_costs,
    "anomalies": Oracle.anomalies,
    "forecast": Oracle.forecast,
    "budget_status": Oracle.budget_status,
    "idle": Oracle.idle,
    "proposals_list": Oracle.proposals_list,
    "proposal_show": Oracle.proposal_show,
}
