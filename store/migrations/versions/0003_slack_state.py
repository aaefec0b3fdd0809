"""The Slack app's state: processed events, single-use buttons, approval messages, digest runs,
alerts (``store/slack_state.py``).

Revision ID: 0003
Revises: 0002

All new tables; nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _posting_table(name: str, key: str) -> None:
    """``slack_messages`` / ``slack_digest_runs`` / ``slack_alerts``: claimed once per key."""
    op.create_table(
        name,
        sa.Column(key, sa.String(), primary_key=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("ts", sa.String(), nullable=True),
        sa.Column("claimed_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("note", sa.String(), nullable=True),
    )


def upgrade() -> None:
    op.create_table(
        "slack_events",
        sa.Column("event_id", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
    )
    op.create_table(
        "slack_buttons",
        sa.Column("token", sa.String(), primary_key=True),
        sa.Column("grp", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("patch_sha256", sa.String(), nullable=True),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("message_ts", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_by", sa.String(), nullable=True),
        sa.Column("used_at", TZ, nullable=True),
        sa.Column("claim", sa.String(), nullable=True),
    )
    op.create_index("ix_slack_buttons_grp", "slack_buttons", ["grp"])
    op.create_index("ix_slack_buttons_state", "slack_buttons", ["state"])
    _posting_table("slack_messages", "proposal_id")
    _posting_table("slack_digest_runs", "week")
    _posting_table("slack_alerts", "key")


def downgrade() -> None:
    for name in ("slack_alerts", "slack_digest_runs", "slack_messages"):
        op.drop_table(name)
    op.drop_index("ix_slack_buttons_state", table_name="slack_buttons")
    op.drop_index("ix_slack_buttons_grp", table_name="slack_buttons")
    op.drop_table("slack_buttons")
    op.drop_table("slack_events")
