"""Proposals, their approval and their pull request: one import for callers.

``from store import proposals as store`` keeps working; each job lives in a module of its own:

- ``proposal_states``      the state machine as data (states, moves, live states)
- ``proposal_tables``      the ``proposals`` table, the ``Proposal`` model, reading them back
- ``proposal_transitions`` atomic, guarded, audited moves (approve, reject, expire, supersede)
- ``proposal_records``     recording validated changes (new / unchanged / re-validated)
- ``pr_claims``            the lease on opening an approved proposal's PR
- ``pull_requests``        PR records, and ``pr_opened → merged | closed``
- ``idempotency``          idempotency keys: only final answers are answers
- ``db`` / ``migrate``     engines, URLs, connection errors and Alembic migrations
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, Engine

from store.db import create_engine_for, init_db, open_engine, session_scope
from store.idempotency import ProcessedEvent, Remembered, recall, recall_entry, remember
from store.pr_claims import claim_pr, release_claim
from store.proposal_records import RecordOutcome, RecordResult, failing_rules, record
from store.proposal_states import LIVE_STATES, REFUSED_STATES, TRANSITIONS, ProposalState, S
from store.proposal_tables import Proposal, ProposalRow, get, list_proposals, to_proposal, utc
from store.proposal_transitions import (
    approve,
    expire_due,
    mark_pr_failed,
    refuse,
    reject,
    supersede,
    transition,
    void_approval,
)
from store.pull_requests import PullRequestRecord, mark_closed, mark_merged, mark_pr_opened, pull_requests


def open_store(url: str | URL, *, audit_key: str | None = None, secrets_file: Path | None = None) -> Engine:
    """The state database at ``url``, connected, migrated and with the audit chain's head and key
    (``audit_key``, else ``COSTPILOT_AUDIT_KEY``, else the secrets file; see ``store.audit_key``)."""
    return open_engine(url, audit_key=audit_key, secrets_file=secrets_file)


__all__ = [
    "LIVE_STATES",
    "REFUSED_STATES",
    "TRANSITIONS",
    "ProcessedEvent",
    "Proposal",
    "ProposalRow",
    "ProposalState",
    "PullRequestRecord",
    "RecordOutcome",
    "RecordResult",
    "Remembered",
    "S",
    "approve",
    "claim_pr",
    "create_engine_for",
    "expire_due",
    "failing_rules",
    "get",
    "init_db",
    "list_proposals",
    "mark_closed",
    "mark_merged",
    "mark_pr_failed",
    "mark_pr_opened",
    "open_engine",
    "open_store",
    "pull_requests",
    "recall",
    "recall_entry",
    "record",
    "refuse",
    "reject",
    "release_claim",
    "remember",
    "session_scope",
    "supersede",
    "to_proposal",
    "transition",
    "utc",
    "void_approval",
]
