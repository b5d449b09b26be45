"""recording parts: each recorder run's start and its place in the assembled file

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openproctor.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Recordings made before this have no rows here: the review page places them by the
    # recording's start alone, as it did.
    op.create_table(
        "recording_parts",
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("browser_started_at", openproctor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("clock_offset_s", sa.Double(), nullable=True),
        sa.Column("first_received_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("offset_s", sa.Double(), nullable=True),
        sa.Column("duration_s", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_parts_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("recording_id", "part", name=op.f("pk_recording_parts")),
    )


def downgrade() -> None:
    op.drop_table("recording_parts")
