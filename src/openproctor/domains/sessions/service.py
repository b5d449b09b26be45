"""Finding, opening and moving exam sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions.models import ExamSession, SessionState


def get(*, db: Session, session_id: uuid.UUID) -> ExamSession | None:
    return db.get(ExamSession, session_id)


def latest_for_candidate(*, db: Session, candidate_id: uuid.UUID) -> ExamSession | None:
    query = (
        select(ExamSession)
        .where(ExamSession.candidate_id == candidate_id)
        .order_by(ExamSession.attempt.desc())
        .limit(1)
    )
    return db.scalar(query)


def current_for_candidate(*, db: Session, candidate: Candidate) -> ExamSession:
    """The candidate's latest attempt, opened on first use of the invite link."""
    session = latest_for_candidate(db=db, candidate_id=candidate.id)
    if session is None:
        session = ExamSession(candidate_id=candidate.id, exam_id=candidate.exam_id, attempt=1)
        db.add(session)
        db.flush()
    return session


def list_for_exam(
    *, db: Session, exam_id: uuid.UUID, proctor_id: uuid.UUID | None = None
) -> Sequence[ExamSession]:
    query = select(ExamSession).where(ExamSession.exam_id == exam_id)
    if proctor_id is not None:
        mine = select(Candidate.id).where(Candidate.proctor_id == proctor_id)
        query = query.where(ExamSession.candidate_id.in_(mine))
    return db.scalars(query.order_by(ExamSession.risk_score.desc())).all()


def move(session: ExamSession, wanted: SessionState, *, reason: str | None = None) -> None:
    """Moves a session along an allowed transition; raises IllegalTransition otherwise."""
    session.transition(wanted, at=utcnow(), reason=reason)
