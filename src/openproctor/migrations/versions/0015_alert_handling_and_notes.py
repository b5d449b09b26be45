"""alerts a proctor marks handled (who, when); proctors' notes on a session

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openproctor.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("violations") as batch:
        batch.add_column(sa.Column("handled_by_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("handled_at", openproctor.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_foreign_key(
            op.f("fk_violations_handled_by_id_users"),
            "users",
            ["handled_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "session_notes",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exam_sessions.id"],
            name=op.f("fk_session_notes_session_id_exam_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_session_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_notes")),
    )
    op.create_index(
        op.f("ix_session_notes_session_id"), "session_notes", ["session_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_session_notes_session_id"), table_name="session_notes")
    op.drop_table("session_notes")
    with op.batch_alter_table("violations") as batch:
        batch.drop_constraint(op.f("fk_violations_handled_by_id_users"), type_="foreignkey")
        batch.drop_column("handled_at")
        batch.drop_column("handled_by_id")
