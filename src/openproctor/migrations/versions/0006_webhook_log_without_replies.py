"""webhook delivery log without replies: what receivers answered is no longer kept

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 04:40:00
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Errors were "HTTP <code>: <first 200 characters of the reply>" or "<httpx class>: <text>";
# they become what the deliverer writes now: the status, or a short class of failure.
HTTP_REPLY = re.compile(r"^(HTTP \d{3}): ")
FAILURE = re.compile(r"^(\w+): ")
FAILURE_CLASSES = (
    ("Timeout", "timeout"),
    ("ConnectError", "connection failed"),
    ("ProtocolError", "protocol error"),
)

deliveries = sa.table(
    "webhook_deliveries",
    sa.column("id", sa.Uuid()),
    sa.column("last_error", sa.String(500)),
    sa.column("log", sa.JSON()),
)


def scrubbed(error: str | None) -> str | None:
    if error is None:
        return None
    reply = HTTP_REPLY.match(error)
    if reply:
        return reply.group(1)
    failure = FAILURE.match(error)
    if failure is None:
        return error
    name = failure.group(1)
    return next((short for key, short in FAILURE_CLASSES if key in name), "network error")


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(deliveries.c.id, deliveries.c.last_error, deliveries.c.log))
    changes: list[dict[str, Any]] = []
    for row_id, last_error, log in rows.all():
        entries = [{**entry, "error": scrubbed(entry.get("error"))} for entry in log or []]
        if scrubbed(last_error) != last_error or entries != (log or []):
            changes.append({"row_id": row_id, "error": scrubbed(last_error), "entries": entries})
    if changes:
        connection.execute(
            deliveries.update()
            .where(deliveries.c.id == sa.bindparam("row_id"))
            .values(last_error=sa.bindparam("error"), log=sa.bindparam("entries")),
            changes,
        )


def downgrade() -> None:
    pass  # the replies are gone for good, and the schema did not change
