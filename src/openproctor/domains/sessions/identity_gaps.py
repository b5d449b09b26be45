"""When a session's identity checks were off, for the reviewer. live/identity.py turns them off
while a session enrolled by another model has its photo embedded again (for good when that
fails); each change is written to the audit log as a system entry on the session, when it
happens, and read back here as periods for the review page and the PDF."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.audit import service as audit_log
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.reports.times import when, zone_name
from openproctor.domains.sessions.models import ExamSession

# Checks went off, or the reason they are off changed (details: reason).
IDENTITY_OFF = "session.identity_off"
# Checks are back (details: seconds they were off on this node).
IDENTITY_ON = "session.identity_on"


@dataclass(frozen=True)
class IdentityGap:
    """A period without identity checks: ended_at None while it goes on."""

    started_at: datetime
    ended_at: datetime | None
    reason: str

    def describe(self, zone: ZoneInfo) -> str:
        """One line for the review page and the PDF: the times (in the exam's zone) and why."""
        started = when(self.started_at, zone, "clock")
        if self.ended_at is None:
            return f"from {started} {zone_name(zone)}, still off: {self.reason}"
        ended = when(self.ended_at, zone, "clock")
        return f"{started} to {ended} {zone_name(zone)}: {self.reason}"


def record_off(*, db: Session, session_id: uuid.UUID, reason: str) -> AuditEntry:
    return audit_log.record(
        db=db,
        actor=None,
        action=IDENTITY_OFF,
        target_type="session",
        target_id=session_id,
        details={"reason": reason},
    )


def record_on(*, db: Session, session_id: uuid.UUID, seconds: float) -> AuditEntry:
    return audit_log.record(
        db=db,
        actor=None,
        action=IDENTITY_ON,
        target_type="session",
        target_id=session_id,
        details={"seconds": round(seconds, 1)},
    )


def gaps(*, db: Session, session: ExamSession) -> list[IdentityGap]:
    """The session's periods without identity checks, oldest first. A period still open when
    the session ended ends with it; entries going off while already off (a server restart,
    a failure after the first try) continue the period, with the newest reason."""
    entries = db.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action.in_((IDENTITY_OFF, IDENTITY_ON)),
            AuditEntry.target_type == "session",
            AuditEntry.target_id == str(session.id),
        )
        .order_by(AuditEntry.created_at)
    )
    found: list[IdentityGap] = []
    started: datetime | None = None
    reason = ""
    for entry in entries:
        if session.ended_at is not None and entry.created_at >= session.ended_at:
            break  # an ended session loaded again (by a wall) is never checked anyway
        if entry.action == IDENTITY_OFF:
            started = started or entry.created_at
            reason = entry.details.get("reason") or ""
        elif started is not None:
            found.append(IdentityGap(started, entry.created_at, reason))
            started = None
    if started is not None:
        found.append(IdentityGap(started, session.ended_at, reason))
    return found
