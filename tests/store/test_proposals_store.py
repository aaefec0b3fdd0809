"""The proposal state machine on SQLite and PostgreSQL: states, binding, expiry, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from store_samples import make_change, make_report

from domain.errors import InputError
from store import audit
from store import proposals as store
from store.proposals import ProposalState, RecordOutcome

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=24)


def record(engine: Engine, cpu: str = "500m", failing: tuple[str, ...] = (), now: datetime = NOW, **kw):  # type: ignore[no-untyped-def]
    change = make_change(cpu, **kw)
    result = store.record(
        engine, change, make_report(change, failing), environment="dev", requested_by="bot", ttl=TTL, now=now
    )
    return result.proposal, result.outcome


def actions(engine: Engine, proposal_id: str) -> list[str]:
    return [e.action for e in audit.events_for(engine, proposal_id)]


def test_passing_change_awaits_approval_and_failing_one_is_blocked_with_rule_ids(engine: Engine) -> None:
    ok, outcome = record(engine)
    assert (ok.state, outcome) == (ProposalState.awaiting_approval, RecordOutcome.created)
    assert ok.branch == "costpilot/rightsize-requests/shop-api"
    assert ok.expires_at == NOW + TTL
    blocked, _ = record(
        engine, slug="shop-web", failing=("peak.headroom", "step.max_change", "peak.headroom")
    )
    assert blocked.state is ProposalState.blocked
    assert blocked.blocked_rules == ["peak.headroom", "step.max_change"]
    assert actions(engine, blocked.id) == ["drafted", "blocked"]
    assert audit.verify(engine).ok


def test_same_patch_again_is_the_same_proposal(engine: Engine) -> None:
    first, _ = record(engine)
    again, outcome = record(engine, now=NOW + timedelta(hours=1))
    assert (again.id, outcome) == (first.id, RecordOutcome.unchanged)
    assert len(store.list_proposals(engine)) == 1


def test_revalidation_moves_blocked_to_awaiting_and_back(engine: Engine) -> None:
    blocked, _ = record(engine, failing=("freeze.window",))
    now_ok, outcome = record(engine)
    assert (now_ok.id, now_ok.state, outcome) == (
        blocked.id,
        ProposalState.awaiting_approval,
        RecordOutcome.revalidated,
    )
    assert now_ok.blocked_rules == []
    again_blocked, _ = record(engine, failing=("freeze.window",))
    assert again_blocked.state is ProposalState.blocked
    assert actions(engine, blocked.id) == ["drafted", "blocked", "awaiting_approval", "blocked"]


def test_approval_binds_to_the_patch_hash(engine: Engine) -> None:
    proposal, _ = record(engine)
    assert not store.approve(engine, proposal.id, approver="U1", patch_sha256="0" * 64, now=NOW)
    assert store.get(engine, proposal.id).state is ProposalState.awaiting_approval
    assert store.approve(engine, proposal.id, approver="U1", patch_sha256=proposal.patch_sha256, now=NOW)
    approved = store.get(engine, proposal.id)
    assert (approved.state, approved.approved_by, approved.approved_at) == (ProposalState.approved, "U1", NOW)
    # A second approval changes nothing.
    assert not store.approve(engine, proposal.id, approver="U2", patch_sha256=proposal.patch_sha256, now=NOW)
    assert store.get(engine, proposal.id).approved_by == "U1"


def test_a_new_patch_supersedes_and_voids_the_approval(engine: Engine) -> None:
    old, _ = record(engine)
    assert store.approve(engine, old.id, approver="U1", patch_sha256=old.patch_sha256, now=NOW)
    change = make_change("400m")
    result = store.record(
        engine,
        change,
        make_report(change),
        environment="dev",
        requested_by="bot",
        ttl=TTL,
        now=NOW + timedelta(minutes=5),
    )
    new = result.proposal
    assert result.outcome is RecordOutcome.created and result.superseded == [old.id] and new.id != old.id
    voided = store.get(engine, old.id)
    assert (voided.state, voided.superseded_by) == (ProposalState.superseded, new.id)
    event = audit.events_for(engine, old.id)[-1]
    assert event.action == "superseded" and '"approval_void":true' in event.data
    # Only one live proposal per target, and it asks for a new approval.
    live = store.list_proposals(engine, store.LIVE_STATES)
    assert [(p.id, p.state) for p in live] == [(new.id, ProposalState.awaiting_approval)]


def test_patch_flipping_back_gets_a_new_generation(engine: Engine) -> None:
    a, _ = record(engine)
    record(engine, cpu="400m", now=NOW + timedelta(minutes=1))
    a2, outcome = record(engine, now=NOW + timedelta(minutes=2))
    assert outcome is RecordOutcome.created and a2.id != a.id
    assert store.get(engine, a.id).state is ProposalState.superseded


def test_expiry_after_ttl(engine: Engine) -> None:
    proposal, _ = record(engine)
    assert store.expire_due(engine, NOW + TTL - timedelta(seconds=1)) == []
    late = NOW + TTL + timedelta(seconds=1)
    assert not store.approve(engine, proposal.id, approver="U1", patch_sha256=proposal.patch_sha256, now=late)
    assert store.expire_due(engine, late) == [proposal.id]
    assert store.get(engine, proposal.id).state is ProposalState.expired
    # An expired patch may be proposed again by a later scan.
    again, outcome = record(engine, now=late)
    assert outcome is RecordOutcome.created and again.state is ProposalState.awaiting_approval


def test_rejected_patch_is_not_proposed_again(engine: Engine) -> None:
    proposal, _ = record(engine)
    assert store.reject(engine, proposal.id, actor="U1", reason="not now", now=NOW)
    rejected = store.get(engine, proposal.id)
    assert (rejected.state, rejected.decided_by, rejected.reason) == (ProposalState.rejected, "U1", "not now")
    again, outcome = record(engine, now=NOW + timedelta(hours=1))
    assert (again.id, again.state, outcome) == (proposal.id, ProposalState.rejected, RecordOutcome.unchanged)


def test_illegal_transition_is_refused() -> None:
    with pytest.raises(ValueError, match="illegal transition rejected -> approved"):
        store.transition(None, "p1", {ProposalState.rejected}, ProposalState.approved, actor="x", now=NOW)  # type: ignore[arg-type]


def test_unknown_id_is_one_line_input_error(engine: Engine) -> None:
    with pytest.raises(InputError, match=r"proposal 'pnope' not found"):
        store.get(engine, "pnope")


def test_claim_lease_gives_one_holder_and_expires(engine: Engine) -> None:
    proposal, _ = record(engine)
    store.approve(engine, proposal.id, approver="U1", patch_sha256=proposal.patch_sha256, now=NOW)
    lease = timedelta(minutes=10)
    token = store.claim_pr(engine, proposal.id, lease=lease, now=NOW)
    assert token is not None
    assert store.claim_pr(engine, proposal.id, lease=lease, now=NOW + timedelta(minutes=5)) is None
    # A crashed holder's lease runs out.
    later = store.claim_pr(engine, proposal.id, lease=lease, now=NOW + timedelta(minutes=11))
    assert later is not None and later != token
    # The stale holder can no longer finish; the current one can.
    common = dict(
        forge="local", url="file:///x", number=None, commit_sha="c" * 40, created=True, actor="bot", now=NOW
    )
    assert not store.mark_pr_opened(engine, proposal.id, token=token, **common)
    assert store.mark_pr_opened(engine, proposal.id, token=later, **common)
    assert store.get(engine, proposal.id).state is ProposalState.pr_opened
    assert [r.url for r in store.pull_requests(engine, proposal.id)] == ["file:///x"]


def test_idempotency_key_keeps_the_first_result(engine: Engine) -> None:
    assert store.recall(engine, "slack:Ev1") is None
    assert (
        store.remember(engine, "slack:Ev1", action="approve", subject="p1", result='{"a":1}', now=NOW)
        == '{"a":1}'
    )
    assert (
        store.remember(engine, "slack:Ev1", action="approve", subject="p1", result='{"a":2}', now=NOW)
        == '{"a":1}'
    )
    assert store.recall(engine, "slack:Ev1") == '{"a":1}'


def _race(engines: list[Engine], action) -> list[bool]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(engines))
    results: list[bool] = [False] * len(engines)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action(engines[i], i)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_replicas_racing_to_approve_give_one_winner(backend: str, request: pytest.FixtureRequest) -> None:
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    proposal, _ = record(engine)
    # A second engine = a second replica with its own connection pool.
    other = store.create_engine_for(str(engine.url.render_as_string(hide_password=False)))
    try:
        results = _race(
            [engine, other, engine, other],
            lambda e, i: store.approve(
                e, proposal.id, approver=f"U{i}", patch_sha256=proposal.patch_sha256, now=NOW
            ),
        )
        claims = _race(
            [engine, other],
            lambda e, i: store.claim_pr(e, proposal.id, lease=timedelta(minutes=5), now=NOW) is not None,
        )
    finally:
        other.dispose()
    assert sorted(results) == [False, False, False, True]
    assert claims.count(True) == 1
    approved = store.get(engine, proposal.id)
    assert approved.approved_by == f"U{results.index(True)}"
    assert actions(engine, proposal.id).count("approved") == 1
    assert audit.verify(engine).ok


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_scans_recording_the_same_change_give_one_proposal(
    backend: str, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    other = store.create_engine_for(str(engine.url.render_as_string(hide_password=False)))
    change = make_change()
    report = make_report(change)
    outcomes: list[RecordOutcome] = []

    def scan(e: Engine, i: int) -> bool:
        result = store.record(e, change, report, environment="dev", requested_by="bot", ttl=TTL, now=NOW)
        outcomes.append(result.outcome)
        return True

    try:
        _race([engine, other, engine, other], scan)
    finally:
        other.dispose()
    assert sorted(outcomes) == [RecordOutcome.created] + [RecordOutcome.unchanged] * 3
    assert len(store.list_proposals(engine)) == 1
    assert actions(engine, store.list_proposals(engine)[0].id) == ["drafted", "awaiting_approval"]
    assert audit.verify(engine).ok
