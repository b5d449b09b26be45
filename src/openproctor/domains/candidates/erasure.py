"""Erasing one candidate on request: the candidate, their sessions, violations, messages,
recordings and stored objects, and the files in storage.

The audit log keeps that it happened (who, when, how much) and the candidate's id, nothing
personal: earlier entries about this candidate, their sessions and violations keep their
action and actor, but their personal fields (email, name, message bodies, notes, reasons)
are replaced by "[erased]".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.messages.models import Message
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.violations.models import Violation
from openproctor.retention import Purged, purge_media
from openproctor.storage import ObjectStore

# Audit details that may hold personal data about the candidate.
PERSONAL_DETAILS = frozenset({"email", "name", "body", "note", "reason", "external_id"})
ERASED = "[erased]"
# A session in one of these states may still be written to by the live hub.
LIVE_STATES = frozenset(
    {SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING, SessionState.PAUSED}
)


class ErasureRefused(Exception):
    """The candidate cannot be erased now; the message says why and what to do."""


@dataclass(frozen=True)
class Erased:
    candidate_id: uuid.UUID
    exam_id: uuid.UUID
    sessions: int
    violations: int
    messages: int
    media: Purged
    audit_entries_redacted: int

    def details(self) -> dict[str, Any]:
        """For the audit entry and the answer: counts and ids only."""
        return {
            "exam_id": str(self.exam_id),
            "sessions": self.sessions,
            "violations": self.violations,
            "messages": self.messages,
            **self.media.to_dict(),
            "audit_entries_redacted": self.audit_entries_redacted,
        }


def erase_candidate(
    *, db: Session, store: ObjectStore, candidate_id: uuid.UUID, now: datetime
) -> Erased:
    """Deletes everything about the candidate in the caller's transaction (files first).

    Raises LookupError for an unknown candidate, ErasureRefused while one of their sessions
    is live in an open exam (terminate it first), StorageError when the store refuses (the
    caller rolls back; files already deleted stay deleted, and trying again finishes)."""
    candidate = db.get(Candidate, candidate_id)
    if candidate is None:
        raise LookupError(f"no candidate {candidate_id}")
    exam = db.get(Exam, candidate.exam_id)
    sessions = db.scalars(select(ExamSession).where(ExamSession.candidate_id == candidate.id)).all()
    live = [session for session in sessions if session.state in LIVE_STATES]
    if live and exam is not None and exam.is_open(now):
        raise ErasureRefused(
            f"the candidate's session is {live[0].state.value} in an open exam: "
            "terminate it first, then erase"
        )
    session_ids = [session.id for session in sessions]
    violation_ids = list(
        db.scalars(select(Violation.id).where(Violation.session_id.in_(session_ids)))
    )
    messages = db.scalar(
        select(func.count()).select_from(Message).where(Message.session_id.in_(session_ids))
    )
    media = purge_media(db=db, store=store, session_ids=session_ids)
    redacted = _redact_audit(
        db,
        candidate_id=candidate.id,
        session_ids=session_ids,
        violation_ids=violation_ids,
    )
    quiet = {"synchronize_session": False}
    db.execute(delete(Message).where(Message.session_id.in_(session_ids)), execution_options=quiet)
    db.execute(
        delete(Violation).where(Violation.session_id.in_(session_ids)), execution_options=quiet
    )
    db.execute(
        delete(ExamSession).where(ExamSession.candidate_id == candidate.id),
        execution_options=quiet,
    )
    exam_id = candidate.exam_id
    db.delete(candidate)
    db.flush()
    return Erased(
        candidate_id=candidate_id,
        exam_id=exam_id,
        sessions=len(session_ids),
        violations=len(violation_ids),
        messages=messages or 0,
        media=media,
        audit_entries_redacted=redacted,
    )


def _redact_audit(
    db: Session,
    *,
    candidate_id: uuid.UUID,
    session_ids: list[uuid.UUID],
    violation_ids: list[uuid.UUID],
) -> int:
    about = or_(
        (AuditEntry.target_type == "candidate") & (AuditEntry.target_id == str(candidate_id)),
        (AuditEntry.target_type == "session")
        & AuditEntry.target_id.in_([str(i) for i in session_ids]),
        (AuditEntry.target_type == "violation")
        & AuditEntry.target_id.in_([str(i) for i in violation_ids]),
    )
    count = 0
    for entry in db.scalars(select(AuditEntry).where(about)):
        personal = PERSONAL_DETAILS & entry.details.keys()
        if personal:
            entry.details = {
                key: ERASED if key in personal and value is not None else value
                for key, value in entry.details.items()
            }
            count += 1
    return count
