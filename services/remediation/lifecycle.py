"""A proposal's PR after it was opened: ``pr_opened → merged | closed`` as the forge reports it.

``scan`` runs this first (a merged change starts its cooldown and its realised savings; a closed
one is not proposed again until the evidence changes materially); ``costpilot proposals sync``
runs it alone. The local forge reads git (merged when the branch tip is in the base branch,
closed when the branch was deleted unmerged); GitHub reads the PR.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import CostpilotError
from services.deps import Deps
from services.remediation.config import BOT
from services.remediation.service import RemediationService
from services.requests import EmptyRequest
from store import proposals as store
from store.proposals import ProposalState


class SyncResult(BaseModel):
    """What the forge said about each open PR."""

    model_config = ConfigDict(frozen=True)

    checked: int = Field(description="proposals with a PR open before the sync")
    merged: list[str] = Field(default_factory=list, description="proposal ids now merged")
    closed: list[str] = Field(default_factory=list, description="proposal ids now closed unmerged")
    still_open: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="PRs whose status could not be read, and why")


def sync_pull_requests(service: RemediationService) -> SyncResult:
    """Ask the forge about every ``pr_opened`` proposal and record merges and closes (audited;
    a repeated sync changes nothing). A forge failure is a note, never a stopped scan."""
    opened = store.list_proposals(service.engine, {ProposalState.pr_opened})
    if not opened:
        return SyncResult(checked=0)
    merged, closed, still_open, notes = [], [], [], []
    try:
        forge = service.forge()
    except CostpilotError as exc:
        return SyncResult(checked=len(opened), notes=[f"PR status not read: {exc}"])
    for p in opened:
        try:
            status = forge.status(p.branch).value
        except CostpilotError as exc:
            notes.append(f"{p.id}: PR status not read: {exc}")
            continue
        now = service.clock()
        if status == "merged" and store.mark_merged(
            service.engine, p.id, actor=BOT, now=now, detail=p.branch
        ):
            merged.append(p.id)
        elif status == "closed" and store.mark_closed(
            service.engine, p.id, actor=BOT, now=now, detail=f"{p.branch} closed unmerged"
        ):
            closed.append(p.id)
        else:
            still_open.append(p.id)
    return SyncResult(checked=len(opened), merged=merged, closed=closed, still_open=still_open, notes=notes)


def sync_notes(result: SyncResult) -> list[str]:
    out = [f"sync: {pid} merged" for pid in result.merged]
    out += [
        f"sync: {pid} closed unmerged (not proposed again until the evidence changes)"
        for pid in result.closed
    ]
    return out + [f"sync: {n}" for n in result.notes]


def proposals_sync(_request: EmptyRequest, deps: Deps) -> SyncResult:
    """``costpilot proposals sync``: move proposals whose PR was merged or closed."""
    from services.remediation.wiring import build_service

    return sync_pull_requests(build_service(deps))
