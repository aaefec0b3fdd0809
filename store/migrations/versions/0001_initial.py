"""The state schema of the last release before migrations (``create_all`` of its tables).

Revision ID: 0001
Revises: (none)

A workspace database made by that release has these tables but no version table, so Alembic
starts it here: every table that already exists is kept as it is (with its rows), a missing one
is created, and ``pull_requests.body`` — which that release added by a hand-written ``ALTER
TABLE`` — is added where it is still missing. On a fresh database this is a plain
``CREATE TABLE`` of each. Types are SQLAlchemy's own (not sqlmodel's decorators), so the
revision never changes when the models do.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64
TZ = sa.DateTime(timezone=True)


def _audit_events() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("data", sa.String(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
    )
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_subject", "audit_events", ["subject"])


def _audit_head() -> None:
    op.create_table(
        "audit_head",
        # One row, id 1, written explicitly: no sequence (as ``create_all`` made it).
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(), nullable=False),
    )


def _budgets() -> None:
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope_kind", sa.String(32), nullable=False),
        sa.Column("scope_value", sa.String(200), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("amount", sa.String(64), nullable=False),
        sa.Column("soft_amount", sa.String(64), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("scope_kind", "scope_value", "period", name="uq_budget_scope_period"),
    )


def _processed_events() -> None:
    op.create_table(
        "processed_events",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )


def _proposals() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("playbook", sa.String(), nullable=False),
        sa.Column("target_slug", sa.String(), nullable=False),
        sa.Column("branch", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("patch_sha256", sa.String(), nullable=False),
        sa.Column("change_json", sa.String(), nullable=False),
        sa.Column("report_json", sa.String(), nullable=False),
        sa.Column("blocked_rules", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=True),
        sa.Column("approved_by", sa.String(), nullable=True),
        sa.Column("approved_at", TZ, nullable=True),
        sa.Column("approved_sha256", sa.String(), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("superseded_by", sa.String(), nullable=True),
        sa.Column("pr_url", sa.String(), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("claim_token", sa.String(), nullable=True),
        sa.Column("claimed_at", TZ, nullable=True),
    )
    for column in ("branch", "playbook", "state"):
        op.create_index(f"ix_proposals_{column}", "proposals", [column])


def _pull_requests() -> None:
    op.create_table(
        "pull_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("proposal_id", sa.String(), nullable=False),
        sa.Column("branch", sa.String(), nullable=False),
        sa.Column("forge", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("commit_sha", sa.String(), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("body", sa.String(), nullable=False),
    )
    op.create_index("ix_pull_requests_branch", "pull_requests", ["branch"])
    op.create_index("ix_pull_requests_proposal_id", "pull_requests", ["proposal_id"])


TABLES: dict[str, Callable[[], None]] = {
    "audit_events": _audit_events,
    "audit_head": _audit_head,
    "budgets": _budgets,
    "processed_events": _processed_events,
    "proposals": _proposals,
    "pull_requests": _pull_requests,
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for name, create in TABLES.items():
        if name not in existing:
            create()
    if "pull_requests" in existing:
        have = {c["name"] for c in inspector.get_columns("pull_requests")}
        if "body" not in have:
            op.add_column("pull_requests", sa.Column("body", sa.String(), nullable=False, server_default=""))
    # The audit chain's head row (``store.audit``): appenders lock it, so it must exist first.
    head = sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("last_hash"))
    if op.get_bind().execute(sa.select(head.c.id).where(head.c.id == 1)).first() is None:
        op.bulk_insert(head, [{"id": 1, "seq": 0, "last_hash": GENESIS}])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
