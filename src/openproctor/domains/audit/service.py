"""Writing and reading the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.users.models import User
from openproctor.pagination import Page, PageRequest, scalars_page


def record(
    *,
    db: Session,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str,
    details: dict[str, Any] | None = None,
    client_ip: str = "",
    actor_label: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.email if actor else "system"),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details or {},
        client_ip=client_ip,
    )
    db.add(entry)
    return entry


def page_entries(
    *,
    db: Session,
    page: PageRequest,
    action: str | None = None,
    since: datetime | None = None,
) -> Page[AuditEntry]:
    """Newest first; `action` is one action ("exam.update") or a family ("exam.")."""
    query = select(AuditEntry)
    if action:
        if action.endswith("."):
            query = query.where(AuditEntry.action.startswith(action, autoescape=True))
        else:
            query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    order = (AuditEntry.created_at, AuditEntry.id)
    return scalars_page(db, query, order, page, descending=True)


def latest(*, db: Session, limit: int = 200) -> Sequence[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc()).limit(limit)
    return db.scalars(query).all()


@dataclass(frozen=True)
class Auditor:
    """Records actions of one staff member from one address; handed to routes per request."""

    db: Session
    actor: User
    client_ip: str

    def __call__(
        self, action: str, target_type: str, target_id: uuid.UUID | str, **details: Any
    ) -> AuditEntry:
        return record(
            db=self.db,
            actor=self.actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
            client_ip=self.client_ip,
        )
