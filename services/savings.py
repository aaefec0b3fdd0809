"""Realised savings of merged proposals, beside the estimate they were approved on.

- right-sizing and idle: the workloads' reserved capacity (requests × hours, from the
  utilization samples) after the merge against the same length of time before it, priced at the
  unit prices the finding was estimated with (else the bill's / configured ones);
- model routing: the feature's tokens after the merge × (old model's price − new model's price).

Each is scaled to USD per month (730 h; 30.4 days). Less than ``MIN_DAYS`` of data after the merge
is ``insufficient_data``: the estimate stands alone, with the reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.findings import Finding, FindingKind
from domain.money import Money, round_cents
from services.deps import Deps
from services.remediation.selection import WaitingItem, read_waiting
from services.requests import EmptyRequest
from store.proposals import Proposal, ProposalState

HOURS_PER_MONTH = Decimal(730)
DAYS_PER_MONTH = Decimal("30.4")
MIN_DAYS = Decimal(1)
MAX_WINDOW = timedelta(days=14)
Status = Literal["measured", "insufficient_data", "not_measurable"]


class RealisedLine(BaseModel):
    """One merged proposal: the estimate, and what the data after the merge shows."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    playbook: str
    title: str
    branch: str
    merged_at: datetime
    estimated_monthly_saving: Money = Field(description="USD/month, as approved")
    realised_monthly_saving: Money | None = Field(description="USD/month measured after the merge")
    status: Status
    days_after: Decimal = Field(description="days of data after the merge that were measured")
    method: str
    note: str = ""


class SavingsResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    merged: int
    measured: int
    estimated_monthly_saving: Money = Field(description="Σ estimates of merged proposals, USD/month")
    realised_monthly_saving: Money = Field(description="Σ realised of the measured ones, USD/month")
    estimated_of_measured: Money = Field(
        description="Σ estimates of the measured ones (compare like with like)"
    )
    lines: list[RealisedLine]
    waiting: list[WaitingItem] = Field(
        default_factory=list, description="the last scan's changes held back by the limits or a cooldown"
    )
    waiting_monthly_saving: Money = Field(Decimal(0), description="Σ of the waiting changes, USD/month")
    notes: list[str] = Field(default_factory=list)


def estimate(p: Proposal) -> Decimal:
    return p.change.monthly_cost_now - p.change.monthly_cost_after


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _prices(finding: Finding, deps: Deps) -> tuple[Decimal, Decimal]:
    ev = finding.evidence
    if ev.get("usd_per_vcpu_hour") is not None and ev.get("usd_per_gib_hour") is not None:
        return Decimal(str(ev["usd_per_vcpu_hour"])), Decimal(str(ev["usd_per_gib_hour"]))
    from tools.rightsizing.service import unit_prices

    prices = unit_prices(deps.warehouse_path, deps.node_prices)
    return prices.usd_per_vcpu_hour, prices.usd_per_gib_hour


def _workload_line(p: Proposal, merged: datetime, data_end: datetime | None, deps: Deps) -> RealisedLine:
    from warehouse.reserved import reserved_capacity

    method = "reserved requests × hours × unit prices, after vs before the merge"
    base = _line(p, merged, method)
    if data_end is None or data_end <= merged:
        return base.model_copy(update={"note": "no utilization samples after the merge yet"})
    after_end = min(data_end, merged + MAX_WINDOW)
    span = after_end - merged
    days = Decimal(span.total_seconds()) / 86400
    if days < MIN_DAYS:
        return base.model_copy(
            update={
                "days_after": round(days, 2),
                "note": f"{days:.2f} day(s) of samples after the merge < {MIN_DAYS}",
            }
        )
    before_start = merged - span
    hours = Decimal(span.total_seconds()) / 3600
    seen: set[tuple[str, str, str]] = set()
    total = Decimal(0)
    for f in p.change.findings:
        t = f.target
        key = (t.get("namespace", ""), t.get("kind", "Deployment"), t.get("workload", ""))
        if key in seen or not all(key):
            continue
        seen.add(key)
        p_cpu, p_mem = _prices(f, deps)
        before = reserved_capacity(deps.warehouse_path, *key, before_start, merged)
        after = reserved_capacity(deps.warehouse_path, *key, merged, after_end)
        cost_before = before.core_hours * p_cpu + before.gib_hours * p_mem
        cost_after = after.core_hours * p_cpu + after.gib_hours * p_mem
        total += (cost_before - cost_after) / hours * HOURS_PER_MONTH
    return base.model_copy(
        update={
            "status": "measured",
            "realised_monthly_saving": round_cents(total),
            "days_after": round(days, 2),
        }
    )


def _model_line(p: Proposal, merged: datetime, data_end: date | None, deps: Deps) -> RealisedLine:
    from tools.model_choice import price_volumes
    from warehouse.llm_volumes import token_volumes
    from warehouse.prices import find_price

    method = "tokens after the merge × (old model price − new model price)"
    base = _line(p, merged, method)
    start = merged.date() + timedelta(days=1)  # whole days after the merge day
    if data_end is None or data_end < start:
        return base.model_copy(update={"note": "no LLM usage rows after the merge day yet"})
    end = min(data_end, start + timedelta(days=13))
    days = Decimal((end - start).days + 1)
    total = Decimal(0)
    overrides = deps.settings.prices
    for f in p.change.findings:
        feature, old, new = f.target.get("feature"), f.current.get("model"), f.proposed.get("model")
        old_price, new_price = find_price(str(old), overrides), find_price(str(new), overrides)
        if not feature or old_price is None or new_price is None:
            return base.model_copy(
                update={"status": "not_measurable", "note": f"no price for {old} or {new}"}
            )
        volumes = [v for v in token_volumes(deps.warehouse_path, start, end) if v.feature == feature]
        total += price_volumes(volumes, old_price) - price_volumes(volumes, new_price)
    return base.model_copy(
        update={
            "status": "measured",
            "realised_monthly_saving": round_cents(total / days * DAYS_PER_MONTH),
            "days_after": days,
        }
    )


def _line(p: Proposal, merged: datetime, method: str) -> RealisedLine:
    return RealisedLine(
        proposal_id=p.id,
        playbook=p.playbook,
        title=p.change.title,
        branch=p.branch,
        merged_at=merged,
        estimated_monthly_saving=estimate(p),
        realised_monthly_saving=None,
        status="insufficient_data",
        days_after=Decimal(0),
        method=method,
    )


def realised_savings(_request: EmptyRequest, deps: Deps) -> SavingsResult:
    """Every merged proposal: estimate vs realised (``costpilot savings``, the digest)."""
    from store import proposals as store
    from warehouse.llm_volumes import llm_data_end
    from warehouse.utilization_series import warehouse_time_range

    merged = store.list_proposals(deps.engine, {ProposalState.merged})
    span = warehouse_time_range(deps.warehouse_path)
    samples_end = span[1] if span else None
    if deps.until is not None and samples_end is not None:
        samples_end = min(samples_end, deps.until)
    llm_end = llm_data_end(deps.warehouse_path)
    lines = []
    for p in merged:
        at = _naive(p.merged_at or p.updated_at)
        kinds = {f.kind for f in p.change.findings}
        if kinds <= {FindingKind.rightsize, FindingKind.idle}:
            lines.append(_workload_line(p, at, samples_end, deps))
        elif kinds == {FindingKind.cheaper_model}:
            lines.append(_model_line(p, at, llm_end, deps))
        else:
            lines.append(
                _line(p, at, "none").model_copy(
                    update={"status": "not_measurable", "note": "tag changes save nothing by themselves"}
                )
            )
    measured = [line for line in lines if line.status == "measured"]
    last = read_waiting(deps.settings.home)
    waiting = list(last.waiting) if last is not None else []
    return SavingsResult(
        merged=len(lines),
        measured=len(measured),
        estimated_monthly_saving=sum((line.estimated_monthly_saving for line in lines), Decimal(0)),
        realised_monthly_saving=sum(
            (line.realised_monthly_saving or Decimal(0) for line in measured), Decimal(0)
        ),
        estimated_of_measured=sum((line.estimated_monthly_saving for line in measured), Decimal(0)),
        lines=sorted(lines, key=lambda line: line.merged_at, reverse=True),
        waiting=waiting,
        waiting_monthly_saving=sum((w.monthly_saving for w in waiting), Decimal(0)),
        notes=[] if merged else ["no merged proposals yet: nothing to measure"],
    )
