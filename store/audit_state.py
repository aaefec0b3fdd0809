"""Proposal state the audit chain must explain: each proposal's stored state is the state its last
audited transition moved it to, and an approved proposal (or one with its PR) has an audited
approval of exactly its patch by the approver the row names.

A proposal stored before the audit key existed is explained by the ``audit_rekeyed`` event that
adopted it (its state, patch and approver at that moment), until its next audited move.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store.proposal_states import ProposalState, S
from store.proposal_tables import ProposalRow

# States that need an audited approval of the stored patch by ``approved_by``.
APPROVED_STATES = frozenset({S.approved, S.pr_failed, S.pr_opened, S.merged, S.closed})
_STATE_ACTIONS = frozenset(s.value for s in ProposalState)
REKEY = "audit_rekeyed"


def adoption(engine: Engine) -> dict[str, dict[str, Any]]:
    """Each stored proposal's state, patch and approver: what a re-key event adopts."""
    with Session(engine) as session:
        rows = session.exec(select(ProposalRow).order_by(ProposalRow.id)).all()
        return {
            r.id: {"state": r.state, "patch_sha256": r.patch_sha256, "approved_by": r.approved_by}
            for r in rows
        }


def _data(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def approval_event(events: Sequence[Any], proposal_id: str, patch_sha256: str, approver: str | None) -> Any:
    """The audited approval of ``patch_sha256`` by ``approver`` for the proposal, or None."""
    for event in reversed(events):
        if event.subject != proposal_id or event.action != S.approved.value:
            continue
        if _data(event.data).get("patch_sha256") == patch_sha256 and event.actor == approver:
            return event
    return None


def unexplained_state(engine: Engine, events: Sequence[Any]) -> str | None:
    """The first proposal whose stored state no audited event explains, said in one line."""
    adopted: dict[str, dict[str, Any]] = {}
    # Approvals given before the key, as the re-key event saw them (they outlive the snapshot).
    adopted_approvals: set[tuple[str, str, str | None]] = set()
    last_move: dict[str, str] = {}
    for event in events:
        if event.action == REKEY:
            snapshot = _data(event.data).get("adopted") or {}
            adopted.update(snapshot)
            adopted_approvals.update(
                (pid, s.get("patch_sha256"), s.get("approved_by"))
                for pid, s in snapshot.items()
                if s.get("state") in {a.value for a in APPROVED_STATES}
            )
        elif event.action in _STATE_ACTIONS:
            last_move[event.subject] = event.action
            adopted.pop(event.subject, None)  # audited from here on
    with Session(engine) as session:
        rows = session.exec(select(ProposalRow).order_by(ProposalRow.created_at, ProposalRow.id)).all()  # type: ignore[arg-type]
    for row in rows:
        snapshot = adopted.get(row.id)
        if snapshot is not None:
            if (snapshot.get("state"), snapshot.get("patch_sha256"), snapshot.get("approved_by")) != (
                row.state,
                row.patch_sha256,
                row.approved_by,
            ):
                return f"proposal {row.id} is {row.state}, but the re-key event adopted it as {snapshot.get('state')}"
            continue
        audited = last_move.get(row.id)
        if audited != row.state:
            said = f"its last audited state is {audited}" if audited else "it has no audited events"
            return f"proposal {row.id} is {row.state}, but {said} (state changed outside costpilot)"
        if ProposalState(row.state) in APPROVED_STATES and (
            row.approved_sha256 not in (None, row.patch_sha256)
            or (
                approval_event(events, row.id, row.patch_sha256, row.approved_by) is None
                and (row.id, row.patch_sha256, row.approved_by) not in adopted_approvals
            )
        ):
            return (
                f"proposal {row.id} is {row.state}, but no audited approval of its patch by "
                f"{row.approved_by} exists (state changed outside costpilot)"
            )
    return None
