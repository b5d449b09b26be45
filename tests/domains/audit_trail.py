"""Reading what a flow wrote to the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.audit.models import AuditEntry


def trail(db: Session, target_id: object) -> list[tuple[str, dict[str, Any]]]:
    """(action, details) of every entry about the target, oldest first."""
    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.target_id == str(target_id))
        .order_by(AuditEntry.created_at, AuditEntry.id)
    )
    return [(entry.action, entry.details) for entry in entries]
