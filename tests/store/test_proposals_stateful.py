"""Property: whatever order scans, approvals, rejections, expiry and PR openings come in, one
target has at most one live proposal, every audit trail follows the state machine, and the
chain verifies."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from store_samples import make_change, make_report

from store import audit
from store import proposals as store
from store.proposals import LIVE_STATES, TRANSITIONS, ProposalState

TTL = timedelta(hours=24)


class ProposalLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.engine = store.open_store(f"sqlite:///{Path(self.tmp.name) / 'state.sqlite'}")
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def teardown(self) -> None:
        self.engine.dispose()
        self.tmp.cleanup()

    def _ids(self) -> list[str]:
        return [p.id for p in store.list_proposals(self.engine)]

    @rule(cpu=st.sampled_from(["500m", "400m", "300m"]), blocked=st.booleans())
    def scan(self, cpu: str, blocked: bool) -> None:
        change = make_change(cpu)
        report = make_report(change, ("freeze.window",) if blocked else ())
        store.record(
            self.engine, change, report, environment="dev", requested_by="bot", ttl=TTL, now=self.now
        )

    @rule(pick=st.integers(0, 20))
    def approve(self, pick: int) -> None:
        ids = self._ids()
        if ids:
            p = store.get(self.engine, ids[pick % len(ids)])
            store.approve(self.engine, p.id, approver="U1", patch_sha256=p.patch_sha256, now=self.now)

    @rule(pick=st.integers(0, 20))
    def reject(self, pick: int) -> None:
        ids = self._ids()
        if ids:
            store.reject(self.engine, ids[pick % len(ids)], actor="U2", reason=None, now=self.now)

    @rule(pick=st.integers(0, 20))
    def open_pr(self, pick: int) -> None:
        ids = self._ids()
        if not ids:
            return
        pid = ids[pick % len(ids)]
        token = store.claim_pr(self.engine, pid, lease=timedelta(minutes=10), now=self.now)
        if token:
            store.mark_pr_opened(
                self.engine,
                pid,
                token=token,
                forge="local",
                url="file:///r",
                number=None,
                commit_sha="c" * 40,
                created=True,
                actor="bot",
                now=self.now,
            )

    @rule(pick=st.integers(0, 20), merged=st.booleans())
    def forge_reports(self, pick: int, merged: bool) -> None:
        """The forge says the PR was merged or closed (only a pr_opened proposal moves)."""
        ids = self._ids()
        if ids:
            pid = ids[pick % len(ids)]
            before = store.get(self.engine, pid).state
            mark = store.mark_merged if merged else store.mark_closed
            moved = mark(self.engine, pid, actor="costpilot", now=self.now)
            assert moved == (before is ProposalState.pr_opened)

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        store.expire_due(self.engine, self.now)

    @invariant()
    def one_live_proposal_per_target(self) -> None:
        live = store.list_proposals(self.engine, LIVE_STATES)
        assert len(live) <= 1, [(p.id, p.state) for p in live]

    @invariant()
    def audit_trails_follow_the_state_machine(self) -> None:
        for p in store.list_proposals(self.engine):
            states = [e.action for e in audit.events_for(self.engine, p.id)]
            assert states[0] == ProposalState.drafted
            for before, after in zip(states, states[1:], strict=False):
                assert ProposalState(after) in TRANSITIONS[ProposalState(before)], states
            assert ProposalState(states[-1]) is p.state
            if p.state in (ProposalState.approved, ProposalState.pr_opened, ProposalState.merged):
                assert p.approved_by == "U1"
        assert audit.verify(self.engine).ok


ProposalLifecycle.TestCase.settings = settings(
    max_examples=8, stateful_step_count=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestProposalLifecycle = ProposalLifecycle.TestCase
