"""Voiding an approval when the base moved, and the PR body kept with the PR record."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from store_samples import make_change, make_report

from store import audit
from store import proposals as store
from store.proposals import ProposalState

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=24)
BODY = "<!-- costpilot:proposal=p1 -->\n## Right-size shop-api\n\n| workload | now | after | delta |\n"


def record(engine: Engine, cpu: str = "500m", **kw):  # type: ignore[no-untyped-def]
    change = make_change(cpu)
    return store.record(
        engine, change, make_report(change), environment="dev", requested_by="bot", ttl=TTL, now=NOW, **kw
    )


def approved(engine: Engine) -> store.Proposal:
    proposal = record(engine).proposal
    assert store.approve(engine, proposal.id, approver="U1", patch_sha256=proposal.patch_sha256, now=NOW)
    return store.get(engine, proposal.id)


def test_new_patch_supersedes_the_approved_one_with_the_reason_audited(engine: Engine) -> None:
    old = approved(engine)
    new, outcome, superseded = record(engine, "400m", supersede_reason="base moved from aaa to bbb")
    assert (new.state, outcome.value, superseded) == (ProposalState.awaiting_approval, "created", [old.id])
    voided = store.get(engine, old.id)
    assert (voided.state, voided.superseded_by) == (ProposalState.superseded, new.id)
    (event,) = [e for e in audit.events_for(engine, old.id) if e.action == "superseded"]
    assert event.data == (
        f'{{"approval_void":true,"reason":"base moved from aaa to bbb","superseded_by":"{new.id}"}}'
    )
    assert not store.supersede(engine, old.id, by=None, reason="again", actor="costpilot", now=NOW)


def test_supersede_voids_an_approval_without_a_successor(engine: Engine) -> None:
    old = approved(engine)
    token = store.claim_pr(engine, old.id, lease=timedelta(minutes=5), now=NOW)
    assert token is not None
    assert store.supersede(
        engine, old.id, by=None, reason="nothing left to change", actor="costpilot", now=NOW
    )
    voided = store.get(engine, old.id)
    assert (voided.state, voided.superseded_by) == (ProposalState.superseded, None)
    (event,) = [e for e in audit.events_for(engine, old.id) if e.action == "superseded"]
    assert event.actor == "costpilot"
    assert event.data == '{"approval_void":true,"reason":"nothing left to change","superseded_by":null}'
    # The lease died with the approval: no PR can be marked opened for it.
    common = dict(forge="local", url="file:///x", number=None, commit_sha="c" * 40, created=True)
    assert not store.mark_pr_opened(engine, old.id, token=token, actor="bot", now=NOW, **common)
    assert audit.verify(engine).ok


def test_awaiting_proposal_can_be_superseded_but_not_a_rejected_one(engine: Engine) -> None:
    waiting = record(engine).proposal
    assert store.supersede(engine, waiting.id, by="pX", reason="r", actor="costpilot", now=NOW)
    other = record(engine, "300m").proposal
    assert store.reject(engine, other.id, actor="U1", reason=None, now=NOW)
    assert not store.supersede(engine, other.id, by="pY", reason="r", actor="costpilot", now=NOW)
    assert store.get(engine, other.id).state is ProposalState.rejected


def test_pr_record_keeps_the_rendered_body(engine: Engine) -> None:
    proposal = approved(engine)
    token = store.claim_pr(engine, proposal.id, lease=timedelta(minutes=5), now=NOW)
    assert token is not None
    assert store.mark_pr_opened(
        engine,
        proposal.id,
        token=token,
        forge="github",
        url="https://github.test/acme/gitops/pull/7",
        number=7,
        commit_sha="c" * 40,
        created=True,
        actor="costpilot",
        now=NOW,
        body=BODY,
    )
    (pr,) = store.pull_requests(engine, proposal.id)
    assert (pr.forge, pr.number, pr.body, pr.branch) == ("github", 7, BODY, proposal.branch)


def test_an_older_state_db_gets_the_body_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # pull_requests as the first release created it
        conn.execute(
            "CREATE TABLE pull_requests (id INTEGER PRIMARY KEY, proposal_id VARCHAR NOT NULL, "
            "branch VARCHAR NOT NULL, forge VARCHAR NOT NULL, number INTEGER, url VARCHAR NOT NULL, "
            "commit_sha VARCHAR NOT NULL, created BOOLEAN NOT NULL, at DATETIME NOT NULL)"
        )
        conn.execute(
            "INSERT INTO pull_requests (proposal_id, branch, forge, url, commit_sha, created, at) "
            "VALUES ('p1', 'b', 'local', 'file:///x', 'c', 1, '2026-11-23 12:00:00')"
        )
    engine = store.open_store(f"sqlite:///{path}")
    (old,) = store.pull_requests(engine, "p1")
    assert (old.url, old.body) == ("file:///x", "")
    store.open_store(f"sqlite:///{path}")  # a second open leaves it alone
    with sqlite3.connect(path) as conn:
        names = [row[1] for row in conn.execute("PRAGMA table_info(pull_requests)")]
    assert names.count("body") == 1
