"""check-in: a candidate's reference photo, a session's check-in record (admission)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 11:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("reference_photo", sa.JSON(), nullable=True))
    with op.batch_alter_table("exam_sessions") as batch:
        batch.add_column(sa.Column("checkin", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exam_sessions") as batch:
        batch.drop_column("checkin")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("reference_photo")
