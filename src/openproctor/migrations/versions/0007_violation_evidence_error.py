"""violations keep why their evidence image could not be stored

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("violations") as batch:
        batch.add_column(sa.Column("evidence_error", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("violations") as batch:
        batch.drop_column("evidence_error")
