"""candidate safety nets: self-correction prompts shown, the consent agreed to, practice

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openproctor.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_prompts",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("shown_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", openproctor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exam_sessions.id"],
            name=op.f("fk_session_prompts_session_id_exam_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_prompts")),
    )
    op.create_index(
        op.f("ix_session_prompts_session_id"), "session_prompts", ["session_id"], unique=False
    )
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("consent_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("consent_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("consent_version", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("consented_at", openproctor.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(
            sa.Column("practised_at", openproctor.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("practised_at")
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_column("consented_at")
        batch.drop_column("consent_version")
        batch.drop_column("consent_sha256")
        batch.drop_column("consent_text")
    op.drop_index(op.f("ix_session_prompts_session_id"), table_name="session_prompts")
    op.drop_table("session_prompts")
