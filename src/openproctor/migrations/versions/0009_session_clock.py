"""exam sessions keep their clock: the pause going on, the paused time, the extra time

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openproctor.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(
            sa.Column("paused_at", openproctor.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("paused_seconds", sa.Double(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("extra_seconds", sa.Double(), server_default="0", nullable=False)
        )
    # An attempt paused right now has been paused since its last change of state.
    op.execute("UPDATE exam_sessions SET paused_at = state_changed_at WHERE state = 'paused'")


def downgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_column("extra_seconds")
        batch.drop_column("paused_seconds")
        batch.drop_column("paused_at")
