"""Who may see what: the one place that answers it, for pages, API and WebSockets alike.

Admins and reviewers see every exam; a proctor sees only the candidates assigned to them
(and the exams, sessions and violations of those candidates).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.candidates import invites
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.zones import format_time
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role, User


def proctor_scope(user: User) -> uuid.UUID | None:
    """The proctor id to filter by, or None when the user sees everything."""
    return user.id if user.role is Role.PROCTOR else None


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def _not_yours(what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"this {what} is not assigned to you")


def _has_candidates_of(db: Session, exam_id: uuid.UUID, proctor_id: uuid.UUID) -> bool:
    query = select(Candidate.id).where(
        Candidate.exam_id == exam_id, Candidate.proctor_id == proctor_id
    )
    return db.scalar(query.limit(1)) is not None


def visible_exam(*, db: Session, user: User, exam_id: uuid.UUID) -> Exam:
    exam = db.get(Exam, exam_id)
    if exam is None:
        raise _not_found("exam")
    if user.role is Role.PROCTOR and not _has_candidates_of(db, exam_id, user.id):
        raise _not_yours("exam")
    return exam


def visible_candidate(*, db: Session, user: User, candidate_id: uuid.UUID) -> Candidate:
    candidate = db.get(Candidate, candidate_id)
    if candidate is None:
        raise _not_found("candidate")
    if user.role is Role.PROCTOR and candidate.proctor_id != user.id:
        raise _not_yours("candidate")
    return candidate


def visible_session(*, db: Session, user: User, session_id: uuid.UUID) -> ExamSession:
    session = db.get(ExamSession, session_id)
    if session is None:
        raise _not_found("session")
    visible_candidate(db=db, user=user, candidate_id=session.candidate_id)
    return session


WITHDRAWN_LINK = (
    "this invite link was withdrawn by the exam's organisers; if you should take this exam, "
    "ask them for a new link"
)
REPLACED_LINK = (
    "this invite link was replaced by a new one; use the newest link the exam's organisers "
    "sent you, or ask them for it"
)


def _linked(db: Session, token: str) -> tuple[Candidate, Exam]:
    """The candidate and exam a working invite link belongs to: 410 for a link an admin
    withdrew or replaced (its page says so), 404 for one that never was."""
    candidate = candidates.get_by_invite(db=db, token=token)
    exam = db.get(Exam, candidate.exam_id) if candidate else None
    if candidate is not None and exam is not None:
        if candidate.invite_withdrawn_at is not None:
            raise HTTPException(status.HTTP_410_GONE, WITHDRAWN_LINK)
        return candidate, exam
    if invites.was_replaced(db=db, token=token):
        raise HTTPException(status.HTTP_410_GONE, REPLACED_LINK)
    raise HTTPException(status.HTTP_404_NOT_FOUND, "this invite link is not valid")


def invited_candidate(*, db: Session, token: str, now: datetime) -> tuple[Candidate, Exam]:
    """The candidate an invite token opens, only while their window is open (the exam's, or
    their own, closing later by their extra time: Accommodations.window)."""
    candidate, exam = _linked(db, token)
    window = candidate.accommodated.window(exam)
    if now < window.opens_at:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this exam opens at {format_time(window.opens_at, exam.timezone)}; come back then",
        )
    if now >= window.closes_at:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this exam closed at {format_time(window.closes_at, exam.timezone)}",
        )
    return candidate, exam


def practising_candidate(*, db: Session, token: str, now: datetime) -> tuple[Candidate, Exam]:
    """The candidate an invite token opens for practice: any time until the exam closes,
    also before it opens (practice makes no attempt and touches no session)."""
    candidate, exam = _linked(db, token)
    if now >= exam.closes_at:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this exam closed at {exam.closes_at:%Y-%m-%d %H:%M} UTC",
        )
    return candidate, exam


def own_session(*, db: Session, candidate: Candidate, session_id: uuid.UUID) -> ExamSession:
    """A session the candidate holding this invite may act on: only their own."""
    session = db.get(ExamSession, session_id)
    if session is None or session.candidate_id != candidate.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this session is not yours")
    return session


# Recordings finish uploading after the exam: a browser that was offline catches up later.
UPLOAD_GRACE = timedelta(days=7)


def uploading_candidate(
    *, db: Session, token: str, session_id: uuid.UUID, now: datetime
) -> tuple[Candidate, ExamSession]:
    """The candidate and session an invite token may upload recordings to: from their window's
    opening until UPLOAD_GRACE after it closes, only to their own session."""
    candidate = candidates.get_by_invite(db=db, token=token)
    exam = db.get(Exam, candidate.exam_id) if candidate else None
    if candidate is None or exam is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this invite link is not valid")
    window = candidate.accommodated.window(exam)
    if now < window.opens_at or now >= window.closes_at + UPLOAD_GRACE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "uploads for this exam are closed")
    return candidate, own_session(db=db, candidate=candidate, session_id=session_id)
