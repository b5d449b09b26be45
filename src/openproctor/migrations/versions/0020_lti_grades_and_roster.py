"""lti: the service endpoints a resource link's launches announce (grades, roster), the
candidates who are LTI learners, and the outbox of scores sent to the platform

Revision ID: 0020
Revises: 0018
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from openproctor.db import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_service_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=False),
        sa.Column("context_title", sa.String(length=200), nullable=True),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("lineitems_url", sa.String(length=2000), nullable=True),
        sa.Column("lineitem_url", sa.String(length=2000), nullable=True),
        sa.Column("ags_scopes", sa.JSON(), nullable=False),
        sa.Column("memberships_url", sa.String(length=2000), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platforms.id"],
            name=op.f("fk_lti_service_links_platform_id_lti_platforms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exams.id"],
            name=op.f("fk_lti_service_links_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_service_links")),
        sa.UniqueConstraint(
            "platform_id",
            "deployment_id",
            "resource_link_id",
            name="uq_lti_service_links_link",
        ),
    )
    op.create_index(
        op.f("ix_lti_service_links_exam_id"), "lti_service_links", ["exam_id"], unique=False
    )
    op.create_table(
        "lti_learners",
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("from_roster", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_lti_learners_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["lti_service_links.id"],
            name=op.f("fk_lti_learners_link_id_lti_service_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("candidate_id", name=op.f("pk_lti_learners")),
    )
    op.create_index(op.f("ix_lti_learners_link_id"), "lti_learners", ["link_id"], unique=False)
    op.create_table(
        "lti_grade_posts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "delivered",
                "failed",
                "superseded",
                name="gradepoststatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("retry_until", UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["lti_service_links.id"],
            name=op.f("fk_lti_grade_posts_link_id_lti_service_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exam_sessions.id"],
            name=op.f("fk_lti_grade_posts_session_id_exam_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_grade_posts")),
    )
    op.create_index(
        op.f("ix_lti_grade_posts_link_id"), "lti_grade_posts", ["link_id"], unique=False
    )
    op.create_index(
        op.f("ix_lti_grade_posts_session_id"), "lti_grade_posts", ["session_id"], unique=False
    )
    op.create_index(
        "ix_lti_grade_posts_due", "lti_grade_posts", ["status", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("lti_grade_posts")
    op.drop_table("lti_learners")
    op.drop_table("lti_service_links")
