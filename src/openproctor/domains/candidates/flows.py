"""Candidate changes with effects across domains.

Assignment: audited, committed, then the hub moves the candidate's tile between the proctors'
walls and sends the live session's events to the new proctor.

Erasure on request: the candidate, their sessions, violations, messages, recordings and
stored objects, and the files in storage. The audit log keeps that it happened (who, when,
how much) and the candidate's id, nothing personal: earlier entries about this candidate,
their sessions and violations keep their action and actor, but their personal fields
(email, name, message bodies, notes, reasons) are replaced by "[erased]".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.audit.service import Auditor
from openproctor.domains.candidates import invites, service
from openproctor.domains.candidates.models import Candidate, CandidateCreate, CandidateUpdate
from openproctor.domains.checkin import service as checkin
from openproctor.domains.exams.models import Exam
from openproctor.domains.messages.models import Message
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession, SessionState
from openproctor.domains.violations.models import Violation
from openproctor.domains.webhooks import events as webhook_events
from openproctor.retention import Purged, purge_media
from openproctor.storage import ObjectStore, StorageError

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub


def assign(
    *,
    db: Session,
    audit: Auditor,
    hub: LiveHub,
    candidate: Candidate,
    proctor_id: uuid.UUID | None,
) -> Candidate:
    """Gives the candidate to a proctor (None: to nobody); raises CandidateError (nothing
    written) for an account that is not an active proctor."""
    before = candidate.proctor_id
    service.assign(db=db, candidate=candidate, proctor_id=proctor_id)
    audit("candidate.assign", "candidate", candidate.id, proctor_id=_str(proctor_id))
    db.commit()
    hub.candidate_assigned(candidate.id, before, proctor_id)
    return candidate


def auto_assign(
    *, db: Session, audit: Auditor, hub: LiveHub, exam: Exam, max_per_proctor: int
) -> list[Candidate]:
    """Assigns every unassigned candidate to the least-loaded proctor, or none of them (then
    CandidateError, nothing written)."""
    assigned = service.auto_balance(db=db, exam=exam, max_per_proctor=max_per_proctor)
    audit("candidate.auto_assign", "exam", exam.id, assigned=len(assigned))
    db.commit()
    for candidate in assigned:
        hub.candidate_assigned(candidate.id, None, candidate.proctor_id)
    return assigned


def update(
    *,
    db: Session,
    audit: Auditor,
    hub: LiveHub,
    candidate: Candidate,
    candidate_in: CandidateUpdate,
) -> Candidate:
    """Changes the candidate's name, external id or accommodations, audited and committed; an
    attempt under way hears new accommodations at once, on every node: its clock (extra time,
    window) reaches the candidate's timer, its exemptions the rules, its chips the wall.
    Without one, the walls draw the candidate's tile again."""
    changed = service.update(candidate=candidate, candidate_in=candidate_in)
    audit("candidate.update", "candidate", candidate.id, **changed)
    db.commit()
    session = sessions.latest_for_candidate(db=db, candidate_id=candidate.id)
    if session is None or session.state in FINAL_STATES:
        hub.candidate_changed(candidate.id)
    elif "accommodations" in changed:
        clock = sessions.clock(db=db, session=session).to_json()
        hub.session_changed(
            session.id, session.state, clock=clock, accommodations=changed["accommodations"]
        )
    return candidate


def invitation_created(db: Session, candidate: Candidate, public_url: str) -> None:
    link = service.invite_url(public_url=public_url, candidate=candidate)
    webhook_events.enqueue_invitation_created(db=db, candidate=candidate, link=link)


def create(
    *, db: Session, audit: Auditor, exam: Exam, candidate_in: CandidateCreate, public_url: str
) -> Candidate:
    """Adds one candidate, audited and committed with its invitation.created event; raises
    CandidateError (nothing written) for an email already on the roster or an account that
    is not an active proctor."""
    candidate = service.create(db=db, exam=exam, candidate_in=candidate_in)
    invitation_created(db, candidate, public_url)
    audit(
        "candidate.create",
        "candidate",
        candidate.id,
        email=candidate.email,
        accommodations=candidate.accommodations or {},
    )
    db.commit()
    return candidate


def import_roster(
    *, db: Session, audit: Auditor, exam: Exam, text: str, public_url: str
) -> service.RosterResult:
    """Adds every line of a CSV roster (an invitation.created event each), audited and
    committed, or none: with errors the transaction is rolled back and the result lists them."""
    result = service.import_roster(db=db, exam=exam, text=text)
    if result.errors:
        db.rollback()
        return result
    for candidate in result.created:
        invitation_created(db, candidate, public_url)
    audit("candidate.import", "exam", exam.id, created=len(result.created))
    db.commit()
    return result


class RemovalRefused(Exception):
    """The candidate has an attempt, so they stay on the roster; the message says why."""


def remove(*, db: Session, audit: Auditor, store: ObjectStore, candidate: Candidate) -> None:
    """Takes a candidate who never started the exam off the roster, audited and committed
    (their reference photo and unopened session go with them). Refused (RemovalRefused,
    nothing written) once they started: an attempt in progress must end first, and a finished
    one is a record the review and the report rely on; erasure on request deletes it anyway.
    """
    started = [
        s
        for s in db.scalars(select(ExamSession).where(ExamSession.candidate_id == candidate.id))
        if s.state in invites.STARTED
    ]
    if started:
        state = started[0].state
        why = (
            "their attempt is in progress: end it first"
            if state in invites.IN_PROGRESS
            else f"their attempt is {state.value} and kept for its review and report; "
            "to delete their data on request, erase the candidate instead"
        )
        raise RemovalRefused(f"{candidate.name} cannot be removed: {why}")
    details = {"exam_id": str(candidate.exam_id), "name": candidate.name, "email": candidate.email}
    candidate_id = candidate.id
    erase_candidate(db=db, store=store, candidate_id=candidate_id, now=utcnow())
    audit("candidate.remove", "candidate", candidate_id, **details)
    db.commit()


def withdraw_link(
    *, db: Session, audit: Auditor, candidate: Candidate, renew: bool, public_url: str
) -> Candidate:
    """Withdraws the candidate's invite link, or (renew) replaces it with a new one (an
    invitation.created event); audited and committed. Refused (invites.LinkRefused) while
    they are taking the exam."""
    session = sessions.latest_for_candidate(db=db, candidate_id=candidate.id)
    if renew:
        invites.renew(db=db, candidate=candidate, session=session, now=utcnow())
        invitation_created(db, candidate, public_url)
    else:
        invites.withdraw(candidate=candidate, session=session, now=utcnow())
    audit(
        "candidate.link_renewed" if renew else "candidate.link_withdrawn", "candidate", candidate.id
    )
    db.commit()
    return candidate


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


# Audit details that may hold personal data about the candidate.
PERSONAL_DETAILS = frozenset(
    {"email", "name", "body", "note", "reason", "external_id", "accommodations"}
)
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


def erase(
    *, db: Session, audit: Auditor, store: ObjectStore, candidate_id: uuid.UUID, now: datetime
) -> Erased:
    """Erases the candidate (see erase_candidate), audited with counts and ids only, and
    commits. On StorageError the database is rolled back and the error raised again."""
    try:
        erased = erase_candidate(db=db, store=store, candidate_id=candidate_id, now=now)
    except StorageError:
        db.rollback()
        raise
    audit("candidate.erase", "candidate", candidate_id, **erased.details())
    db.commit()
    return erased


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
    if live and exam is not None and candidate.accommodated.window(exam).is_open(now):
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
    reference = checkin.reference_of(candidate)
    if reference is not None:
        store.delete(reference.key)
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
