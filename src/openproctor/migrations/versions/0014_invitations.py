"""invitations: link withdrawal and replaced links, each exam's e-mail wording, the e-mails
sent to candidates with their delivery status

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openproctor.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMAIL_KINDS = ("invitation", "reminder")
EMAIL_STATUSES = ("queued", "sending", "sent", "failed")


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(
            sa.Column(
                "invite_withdrawn_at", openproctor.db.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_table(
        "replaced_invites",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("replaced_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_replaced_invites_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_replaced_invites")),
    )
    op.create_index(op.f("ix_replaced_invites_candidate_id"), "replaced_invites", ["candidate_id"])
    op.create_table(
        "mail_templates",
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("invitation_subject", sa.String(length=200), nullable=False),
        sa.Column("invitation_body", sa.Text(), nullable=False),
        sa.Column("reminder_subject", sa.String(length=200), nullable=False),
        sa.Column("reminder_body", sa.Text(), nullable=False),
        sa.Column("reminder_lead_minutes", sa.Integer(), nullable=True),
        sa.Column("updated_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exams.id"],
            name=op.f("fk_mail_templates_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exam_id", name=op.f("pk_mail_templates")),
    )
    op.create_table(
        "candidate_emails",
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*EMAIL_KINDS, name="emailkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(*EMAIL_STATUSES, name="emailstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("once_key", sa.String(length=100), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=600), nullable=True),
        sa.Column("claimed_at", openproctor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", openproctor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", openproctor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_candidate_emails_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exams.id"],
            name=op.f("fk_candidate_emails_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate_emails")),
        sa.UniqueConstraint("once_key", name=op.f("uq_candidate_emails_once_key")),
    )
    for column in ("candidate_id", "exam_id", "status"):
        op.create_index(
            op.f(f"ix_candidate_emails_{column}"), "candidate_emails", [column], unique=False
        )


def downgrade() -> None:
    for column in ("candidate_id", "exam_id", "status"):
        op.drop_index(op.f(f"ix_candidate_emails_{column}"), table_name="candidate_emails")
    op.drop_table("candidate_emails")
    op.drop_table("mail_templates")
    op.drop_index(op.f("ix_replaced_invites_candidate_id"), table_name="replaced_invites")
    op.drop_table("replaced_invites")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("invite_withdrawn_at")
