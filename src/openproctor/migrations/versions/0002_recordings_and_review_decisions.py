"""recordings and review decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 19:36:08.595906
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openproctor.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "decision",
                sa.Enum(
                    "clear", "suspicious", "cheating", name="decision", native_enum=False, length=20
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("decision_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("decided_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("decided_at", openproctor.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_exam_sessions_decided_by_id_users"),
            "users",
            ["decided_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "content_type", sa.String(length=100), server_default="video/webm", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("started_at", openproctor.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("chunks_expected", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recorded_s", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("size_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("finalized_at", openproctor.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("error", sa.String(length=500), nullable=True))

    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chunk_part", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_stored_objects_chunk", ["recording_id", "chunk_index"]
        )


def downgrade() -> None:

    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.drop_constraint("uq_stored_objects_chunk", type_="unique")
        batch_op.drop_column("chunk_part")

    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("finalized_at")
        batch_op.drop_column("size_bytes")
        batch_op.drop_column("recorded_s")
        batch_op.drop_column("chunks_expected")
        batch_op.drop_column("started_at")
        batch_op.drop_column("content_type")

    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_exam_sessions_decided_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_id")
        batch_op.drop_column("decision_note")
        batch_op.drop_column("decision")
