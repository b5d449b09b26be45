"""lti: resource links bound to the exam their first launch opened, and the platforms an
exam is in use by (deep-linked or bound), so another platform cannot name it

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 16:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import openproctor.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_links",
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exams.id"],
            name=op.f("fk_lti_links_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platforms.id"],
            name=op.f("fk_lti_links_platform_id_lti_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "platform_id", "deployment_id", "resource_link_id", name=op.f("pk_lti_links")
        ),
    )
    with op.batch_alter_table("lti_links") as batch:
        batch.create_index(batch.f("ix_lti_links_exam_id"), ["exam_id"], unique=False)
    op.create_table(
        "lti_exam_platforms",
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exams.id"],
            name=op.f("fk_lti_exam_platforms_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platforms.id"],
            name=op.f("fk_lti_exam_platforms_platform_id_lti_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exam_id", "platform_id", name=op.f("pk_lti_exam_platforms")),
    )
    _claim_exams_already_in_use()


def _claim_exams_already_in_use() -> None:
    """Exams platforms used before this revision (an instructor launched them from it, or it
    is the platform's default) stay open to each of those platforms."""
    connection = op.get_bind()
    instructors = sa.table(
        "lti_exam_instructors", sa.column("exam_id", sa.Uuid()), sa.column("platform_id", sa.Uuid())
    )
    platforms = sa.table(
        "lti_platforms", sa.column("id", sa.Uuid()), sa.column("default_exam_id", sa.Uuid())
    )
    pairs = set(connection.execute(sa.select(instructors.c.exam_id, instructors.c.platform_id)))
    pairs |= set(
        connection.execute(
            sa.select(platforms.c.default_exam_id, platforms.c.id).where(
                platforms.c.default_exam_id.is_not(None)
            )
        )
    )
    claims = sa.table(
        "lti_exam_platforms",
        sa.column("exam_id", sa.Uuid()),
        sa.column("platform_id", sa.Uuid()),
        sa.column("created_at", openproctor.db.UTCDateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = [
        {"exam_id": exam, "platform_id": platform, "created_at": now} for exam, platform in pairs
    ]
    if rows:
        op.bulk_insert(claims, rows)


def downgrade() -> None:
    op.drop_table("lti_exam_platforms")
    with op.batch_alter_table("lti_links") as batch:
        batch.drop_index(batch.f("ix_lti_links_exam_id"))
    op.drop_table("lti_links")
