"""Which planned changes become proposals: a PR must be worth a reviewer's time.

Applied by ``scan`` between planning and recording, in this order:

1. **floor**: a change saving less than its playbook's minimum (USD/month, per PR) is dropped
   and counted (``below_floor``); tag hygiene (floor 0) and labelled reliability increases are
   exempt;
2. **isolation**: a grouped change failing a guardrail because of some of its workloads is split:
   the passing workloads keep the group's branch, each failing one gets its own blocked proposal;
3. **refused**: a change whose branch was closed unmerged is not proposed again until the
   evidence changes materially (other workloads, or the saving moved by ``material_change_pct``);
4. **cooldown**: a change failing only the cooldown waits (the next step after the cooldown);
5. **limits**: at most ``max_open_prs`` open (awaiting approval, approved, PR open) and
   ``max_new_per_scan`` new per scan, highest saving first; the rest wait. Labelled reliability
   increases are exempt (a fix for an OOM-killed workload never waits behind savings).

What waits is written to ``<workspace>/proposals-waiting.json`` for the digest's pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from domain.changes import GuardrailReport, PlannedChange
from domain.findings import Finding
from domain.money import Money
from guardrails.context import finding_key
from services.remediation.config import ProposalLimits
from services.remediation.results import ScanSummary
from store.proposals import Proposal, ProposalState

WAITING_FILE = "proposals-waiting.json"
# Proposals that hold a slot: a PR open, or one a reviewer is asked to open.
OPEN_STATES = frozenset({ProposalState.awaiting_approval, ProposalState.approved, ProposalState.pr_opened})
Validated = tuple[PlannedChange, GuardrailReport]


class WaitingItem(BaseModel):
    """A change not proposed in this scan, and why (limits, cooldown, closed unmerged)."""

    model_config = ConfigDict(frozen=True)

    branch: str
    playbook: str
    title: str
    namespace: str | None
    workloads: list[str]
    monthly_saving: Money = Field(description="USD/month (negative: a labelled cost increase)")
    reason: str


class BelowFloor(BaseModel):
    """Findings whose PR would save less than the floor: counted, never silently dropped."""

    model_config = ConfigDict(frozen=True)

    changes: int = 0
    findings: int = 0
    monthly_saving: Money = Field(Decimal(0), description="their total, USD/month")
    floors: dict[str, Money] = Field(default_factory=dict, description="floor per playbook, USD/month")


class Selection(BaseModel):
    model_config = ConfigDict(frozen=True)

    below_floor: BelowFloor = Field(default_factory=BelowFloor)
    waiting: list[WaitingItem] = Field(
        default_factory=list, description="held back by the limits or a cooldown"
    )
    not_reproposed: list[WaitingItem] = Field(
        default_factory=list, description="closed unmerged; the evidence has not changed materially"
    )
    open_prs: int = Field(0, description="proposals holding a slot after this scan")
    max_open_prs: int = 0
    max_new_per_scan: int = 0


class QualityScanSummary(ScanSummary):
    """``ScanSummary`` plus what the selection held back."""

    selection: Selection = Field(default_factory=Selection)


def saving(change: PlannedChange) -> Decimal:
    return change.monthly_cost_now - change.monthly_cost_after


def workloads_of(findings: Sequence[Finding]) -> list[str]:
    return sorted({finding_key(f) for f in findings})


def namespace_of(change: PlannedChange) -> str | None:
    spaces = {f.target["namespace"] for f in change.findings if f.target.get("namespace")}
    return spaces.pop() if len(spaces) == 1 else None


def waiting_item(change: PlannedChange, reason: str) -> WaitingItem:
    return WaitingItem(
        branch=change.branch,
        playbook=change.playbook,
        title=change.title,
        namespace=namespace_of(change),
        workloads=workloads_of(change.findings),
        monthly_saving=saving(change),
        reason=reason,
    )


def floor_of(playbook: str, limits: ProposalLimits, playbook_floors: Mapping[str, Decimal | None]) -> Decimal:
    """The workspace's per-playbook floor, else the playbook's own, else the default (USD/month)."""
    if playbook in limits.min_saving_by_playbook:
        return limits.min_saving_by_playbook[playbook]
    own = playbook_floors.get(playbook)
    return own if own is not None else limits.min_monthly_saving


def is_reliability_increase(change: PlannedChange) -> bool:
    """A change labelled with a reliability reason (raised requests of OOM-killed, throttled or
    at-limit workloads), whatever its net cost."""
    return bool(change.cost_increase_reason)


def apply_floor(
    changes: Sequence[PlannedChange], floors: Mapping[str, Decimal]
) -> tuple[list[PlannedChange], list[PlannedChange]]:
    """(kept, below the floor); exempt: floor 0 and labelled reliability increases."""
    kept, below = [], []
    for change in changes:
        floor = floors.get(change.playbook, Decimal(0))
        if floor <= 0 or is_reliability_increase(change) or saving(change) >= floor:
            kept.append(change)
        else:
            below.append(change)
    return kept, below


def below_floor_summary(below: Sequence[PlannedChange], floors: Mapping[str, Decimal]) -> BelowFloor:
    return BelowFloor(
        changes=len(below),
        findings=sum(len(c.findings) for c in below),
        monthly_saving=sum((saving(c) for c in below), Decimal(0)),
        floors=dict(sorted(floors.items())),
    )


Planner = Callable[[Sequence[Finding]], list[PlannedChange]]
Validator = Callable[[PlannedChange], GuardrailReport]


def isolate_failures(
    change: PlannedChange, report: GuardrailReport, plan: Planner, validate: Validator
) -> list[Validated]:
    """A failing group split by workload: the passing workloads keep the group's branch (one
    change), each failing workload gets its own (``<slug>-<workload>``) so one opted-out or
    shared-base workload does not block its whole namespace. Unchanged when all or none fail."""
    by_workload: dict[str, list[Finding]] = {}
    for f in change.findings:
        by_workload.setdefault(finding_key(f), []).append(f)
    if report.passed or len(by_workload) < 2:
        return [(change, report)]
    singles: dict[str, list[Validated]] = {}
    for key, findings in by_workload.items():
        singles[key] = [(c, validate(c)) for c in plan(findings)]
    bad = {k for k, v in singles.items() if not v or not all(r.passed for _, r in v)}
    if len(bad) == len(by_workload):
        return [(change, report)]
    if not bad:
        # Each workload passes alone, the group does not (e.g. together they exceed a limit):
        # one proposal per workload, the first keeping the group's branch.
        bad = set(sorted(by_workload)[1:])
    good = [f for k, fs in by_workload.items() if k not in bad for f in fs]
    regrouped = plan(good)
    if len(regrouped) != 1:
        return [(change, report)]
    kept = regrouped[0].model_copy(update={"target_slug": change.target_slug})
    out: list[Validated] = [(kept, validate(kept))]
    for key in sorted(bad):
        for c, r in singles[key]:
            workload = key.rsplit("/", 1)[-1]
            single = c.model_copy(update={"target_slug": f"{change.target_slug}-{_slug(workload)}"})
            out.append((single, r if single.patch_sha256 == c.patch_sha256 else validate(single)))
    return out


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "workload"


def refused_unchanged(
    change: PlannedChange, history: Sequence[Proposal], material_pct: Decimal
) -> Proposal | None:
    """The proposal closed unmerged on this branch whose evidence this change does not move
    materially (same workloads, saving within ``material_pct`` %), if any (Renovate's rule)."""
    same_branch = sorted((p for p in history if p.branch == change.branch), key=lambda p: p.updated_at)
    if not same_branch or same_branch[-1].state is not ProposalState.closed:
        return None
    closed = same_branch[-1]
    if workloads_of(closed.change.findings) != workloads_of(change.findings):
        return None
    before = saving(closed.change)
    if before == 0:
        return closed if saving(change) == 0 else None
    moved = abs(saving(change) - before) / abs(before) * 100
    return closed if moved < material_pct else None


def only_cooldown(report: GuardrailReport) -> bool:
    rules = {r.rule_id for r in report.failures}
    return rules == {"cooldown"}


@dataclass
class Selector:
    """The limits over this scan's validated changes, given the proposals already stored."""

    limits: ProposalLimits
    stored: Sequence[Proposal]
    waiting: list[WaitingItem] = field(default_factory=list)
    not_reproposed: list[WaitingItem] = field(default_factory=list)

    def select(self, validated: Sequence[Validated]) -> list[Validated]:
        """Blocked changes are recorded (the report says why); passing ones within the limits,
        highest saving first; a branch with a proposal holding a slot is an update, not new."""
        open_branches = {p.branch for p in self.stored if p.state in OPEN_STATES}
        open_patches = {(p.branch, p.patch_sha256) for p in self.stored if p.state in OPEN_STATES}
        out: list[Validated] = []
        candidates: list[Validated] = []
        for change, report in validated:
            closed = refused_unchanged(change, self.stored, self.limits.material_change_pct)
            if closed is not None:
                when = closed.updated_at.strftime("%Y-%m-%d")
                self.not_reproposed.append(
                    waiting_item(
                        change, f"closed unmerged as {closed.id} on {when}; evidence not changed materially"
                    )
                )
            elif only_cooldown(report) and (change.branch, change.patch_sha256) not in open_patches:
                # The next step of a workload changed recently: it follows after the cooldown.
                detail = report.failures[0].message
                self.waiting.append(waiting_item(change, f"cooldown: {detail}"))
            elif not report.passed or change.branch in open_branches or is_reliability_increase(change):
                # Blocked (the report says why), an update of a proposal holding a slot, or a
                # labelled reliability fix (an OOM-killed workload never waits behind savings).
                out.append((change, report))
            else:
                candidates.append((change, report))
        slots = max(self.limits.max_open_prs - len(open_branches), 0)
        allowed = min(slots, self.limits.max_new_per_scan)
        candidates.sort(key=lambda cr: (-saving(cr[0]), cr[0].branch))
        why = (
            f"limit: {self.limits.max_open_prs} open proposals ({len(open_branches)} open before this scan)"
            if slots <= self.limits.max_new_per_scan
            else f"limit: {self.limits.max_new_per_scan} new proposals per scan"
        )
        for n, (change, report) in enumerate(candidates):
            if n < allowed:
                out.append((change, report))
            else:
                self.waiting.append(waiting_item(change, why))
        return out

    def open_after(self, validated: Sequence[Validated]) -> int:
        branches = {p.branch for p in self.stored if p.state in OPEN_STATES}
        branches |= {c.branch for c, r in validated if r.passed}
        return len(branches)


def write_waiting(home: Path, selection: Selection) -> None:
    """The scan's waiting list for the digest (replaced by every scan; written atomically)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / WAITING_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(selection.model_dump_json(indent=2))
    tmp.replace(path)


def read_waiting(home: Path) -> Selection | None:
    """The last scan's selection, or None when no scan wrote one (or the file is unreadable)."""
    path = home / WAITING_FILE
    if not path.is_file():
        return None
    try:
        return Selection.model_validate(json.loads(path.read_text()))
    except (ValueError, OSError):
        return None
