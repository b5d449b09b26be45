"""lti proctoring services: proctored attempts started by LtiStartProctoring, and the
outbox of Assessment Control requests

Revision ID: 0021
Revises: 0018
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openproctor.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_proctored_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("session_data", sa.Text(), nullable=True),
        sa.Column("start_assessment_url", sa.String(length=2000), nullable=False),
        sa.Column("control_url", sa.String(length=2000), nullable=True),
        sa.Column("control_actions", sa.JSON(), nullable=False),
        sa.Column(
            "assessment_started_at", openproctor.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("ended_at", openproctor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["exam_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "platform_id",
            "resource_link_id",
            "subject",
            "attempt_number",
            name="uq_lti_proctored_attempts_attempt",
        ),
    )
    op.create_index(
        "ix_lti_proctored_attempts_session_id", "lti_proctored_attempts", ["session_id"]
    )
    op.create_table(
        "lti_control_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "flag",
                "pause",
                "resume",
                "terminate",
                "update",
                name="controlaction",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "sent", "failed", name="controlstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retry_until", openproctor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.Column("sent_at", openproctor.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["attempt_id"], ["lti_proctored_attempts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lti_control_requests_attempt_id", "lti_control_requests", ["attempt_id"])
    op.create_index(
        "ix_lti_control_requests_due", "lti_control_requests", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("lti_control_requests")
    op.drop_table("lti_proctored_attempts")
