"""pr_opened → merged | closed: only from pr_opened, audited, and a closed patch is not proposed
again (a materially different one is)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from store_samples import make_change, make_report

from store import audit
from store import proposals as store
from store.proposals import ProposalState, RecordOutcome

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=24)
LATER = NOW + timedelta(days=2)


def record(engine: Engine, cpu: str = "500m") -> store.RecordResult:
    change = make_change(cpu)
    return store.record(
        engine, change, make_report(change), environment="dev", requested_by="bot", ttl=TTL, now=NOW
    )


def opened(engine: Engine, cpu: str = "500m") -> store.Proposal:
    proposal = record(engine, cpu).proposal
    assert store.approve(engine, proposal.id, approver="U1", patch_sha256=proposal.patch_sha256, now=NOW)
    token = store.claim_pr(engine, proposal.id, lease=timedelta(minutes=5), now=NOW)
    assert token is not None
    assert store.mark_pr_opened(
        engine,
        proposal.id,
        token=token,
        forge="github",
        url="https://github.test/acme/gitops/pull/1",
        number=1,
        commit_sha="c" * 40,
        created=True,
        actor="costpilot",
        now=NOW,
    )
    return store.get(engine, proposal.id)


def test_merged_pr_is_recorded_once_with_its_time(engine: Engine) -> None:
    proposal = opened(engine)
    assert store.mark_merged(engine, proposal.id, actor="costpilot", now=LATER, detail="merged by the forge")
    merged = store.get(engine, proposal.id)
    assert (merged.state, merged.merged_at, merged.closed_at) == (ProposalState.merged, LATER, None)
    assert not store.mark_merged(engine, proposal.id, actor="costpilot", now=LATER + timedelta(hours=1))
    assert not store.mark_closed(engine, proposal.id, actor="costpilot", now=LATER)
    assert store.get(engine, proposal.id).merged_at == LATER
    events = audit.events_for(engine, proposal.id)
    assert [e.action for e in events][-2:] == ["pr_opened", "merged"]
    assert '"url":"https://github.test/acme/gitops/pull/1"' in events[-1].data
    assert '"detail":"merged by the forge"' in events[-1].data
    assert audit.verify(engine).ok


@pytest.mark.parametrize("state", ["awaiting_approval", "approved", "rejected", "superseded"])
def test_only_an_opened_pr_can_be_merged_or_closed(engine: Engine, state: str) -> None:
    proposal = record(engine).proposal
    if state in ("approved", "superseded"):
        store.approve(engine, proposal.id, approver="U1", patch_sha256=proposal.patch_sha256, now=NOW)
    if state == "rejected":
        store.reject(engine, proposal.id, actor="U1", reason=None, now=NOW)
    if state == "superseded":
        store.supersede(engine, proposal.id, by=None, reason="r", actor="costpilot", now=NOW)
    assert store.get(engine, proposal.id).state == state
    before = len(audit.events_for(engine, proposal.id))
    assert not store.mark_merged(engine, proposal.id, actor="costpilot", now=LATER)
    assert not store.mark_closed(engine, proposal.id, actor="costpilot", now=LATER)
    assert store.get(engine, proposal.id).state == state
    assert len(audit.events_for(engine, proposal.id)) == before


def test_closed_pr_patch_is_not_proposed_again_but_a_different_one_is(engine: Engine) -> None:
    proposal = opened(engine)
    assert store.mark_closed(engine, proposal.id, actor="costpilot", now=LATER)
    closed = store.get(engine, proposal.id)
    assert (closed.state, closed.closed_at, closed.merged_at) == (ProposalState.closed, LATER, None)
    again = record(engine)
    assert (again.proposal.id, again.outcome, again.proposal.state) == (
        proposal.id,
        RecordOutcome.unchanged,
        ProposalState.closed,
    )
    other = record(engine, "400m")
    assert other.outcome is RecordOutcome.created and other.proposal.state is ProposalState.awaiting_approval
    assert other.superseded == []  # a closed proposal no longer speaks for the target
    assert store.get(engine, proposal.id).state is ProposalState.closed


def test_merged_and_closed_are_terminal_in_the_machine() -> None:
    for state in (ProposalState.merged, ProposalState.closed):
        assert store.TRANSITIONS[state] == frozenset()
        assert state not in store.LIVE_STATES
    assert store.TRANSITIONS[ProposalState.pr_opened] == {
        ProposalState.merged,
        ProposalState.closed,
        ProposalState.superseded,
    }
    with pytest.raises(ValueError, match="illegal transition approved -> merged"):
        store.transition(None, "p1", {ProposalState.approved}, ProposalState.merged, actor="x", now=NOW)  # type: ignore[arg-type]
