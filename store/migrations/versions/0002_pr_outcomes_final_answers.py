"""Merged / closed pull requests, and idempotency answers that are final or pending.

Revision ID: 0002
Revises: 0001

- ``proposals.merged_at`` / ``closed_at``: when the forge was seen to have merged or closed the
  PR (states ``merged`` / ``closed``; realised savings are measured from ``merged_at`` on).
- ``processed_events.final``: only a final answer is the answer to every repeat of a key; a
  pending one ("another process is opening the PR") is replaced by the final one. Rows stored
  before this revision were all treated as final, including that pending approval answer, which
  then stuck to its key for ever: such rows (an ``approve`` whose outcome is still
  ``"state":"approved"``, i.e. no PR yet) become pending here, so the next retry gets the truth.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("merged_at", TZ, nullable=True))
        batch.add_column(sa.Column("closed_at", TZ, nullable=True))
    with op.batch_alter_table("processed_events") as batch:
        batch.add_column(sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.true()))
    events = sa.table(
        "processed_events", sa.column("action"), sa.column("result"), sa.column("final", sa.Boolean())
    )
    op.execute(
        events.update()
        .where(events.c.action == "approve", events.c.result.like('%"state":"approved"%'))
        .values(final=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("processed_events") as batch:
        batch.drop_column("final")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("merged_at")
