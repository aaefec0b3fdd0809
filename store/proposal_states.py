"""The proposal state machine as data: states, the allowed moves, and which states are live.

::

    drafted ──► blocked ──────────────► awaiting_approval (re-validated, now passes)
       └──────► awaiting_approval ──► approved ──► pr_opened ──► merged | closed
                    ├──► rejected        │  ▲
                    ├──► expired         ▼  │ (a later scan or approve retries)
                    │                  pr_failed (the forge failed after its retries)
                    └──► superseded / blocked (re-validation failed)

    approved | pr_failed ──► blocked: re-validated before the PR, the guardrails fail now
    approved | pr_failed | pr_opened ──► superseded: a new patch for the target
    (either way the approval is void)

No I/O here: ``store.proposal_transitions.transition`` applies a move to the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ProposalState(StrEnum):
    drafted = "drafted"
    blocked = "blocked"
    awaiting_approval = "awaiting_approval"
    approved = "approved"
    pr_failed = "pr_failed"
    pr_opened = "pr_opened"
    merged = "merged"
    closed = "closed"
    rejected = "rejected"
    expired = "expired"
    superseded = "superseded"


S = ProposalState
TRANSITIONS: dict[ProposalState, frozenset[ProposalState]] = {
    S.drafted: frozenset({S.blocked, S.awaiting_approval}),
    S.blocked: frozenset({S.awaiting_approval, S.rejected, S.superseded}),
    S.awaiting_approval: frozenset({S.approved, S.rejected, S.expired, S.superseded, S.blocked}),
    S.approved: frozenset({S.pr_opened, S.pr_failed, S.superseded, S.blocked}),
    S.pr_failed: frozenset({S.pr_opened, S.pr_failed, S.superseded, S.blocked}),
    S.pr_opened: frozenset({S.merged, S.closed, S.superseded}),
    S.merged: frozenset(),
    S.closed: frozenset(),
    S.rejected: frozenset(),
    S.expired: frozenset(),
    S.superseded: frozenset(),
}
# Proposals that still speak for their target; at most one per branch.
LIVE_STATES = frozenset({S.drafted, S.blocked, S.awaiting_approval, S.approved, S.pr_failed, S.pr_opened})
# A patch in one of these states is not proposed again: a human said no (a rejection in Slack,
# or a PR closed unmerged — Renovate's way); only a materially different patch is new.
REFUSED_STATES = frozenset({S.rejected, S.closed})


def check_transition(expected: Iterable[ProposalState], to: ProposalState) -> frozenset[ProposalState]:
    """``expected`` as a set; a move the machine does not allow is a programming error."""
    states = frozenset(expected)
    illegal = sorted(s for s in states if to not in TRANSITIONS[s])
    if illegal:
        raise ValueError(f"illegal transition {illegal[0]} -> {to}")
    return states
