"""/api/v1/exams/{exam_id}/sessions, /api/v1/sessions, and the candidate's /api/v1/take/{token}"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from openproctor.access import (
    invited_candidate,
    own_session,
    proctor_scope,
    visible_exam,
    visible_session,
)
from openproctor.db import utcnow
from openproctor.deps import DbSession, StaffUser
from openproctor.domains.sessions import service
from openproctor.domains.sessions.models import IllegalTransition, SessionRead, SessionState

router = APIRouter(tags=["sessions"])


@router.get("/exams/{exam_id}/sessions", response_model=list[SessionRead])
def list_sessions(exam_id: uuid.UUID, db: DbSession, user: StaffUser) -> list[SessionRead]:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    sessions = service.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_scope(user))
    return [SessionRead.model_validate(session) for session in sessions]


@router.get("/sessions/{session_id}", response_model=SessionRead)
def get_session(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> SessionRead:
    return SessionRead.model_validate(visible_session(db=db, user=user, session_id=session_id))


# What a candidate may do to their own session; pausing and ending it is the proctor's.
CANDIDATE_STEPS = frozenset(
    {
        (SessionState.INVITED, SessionState.CHECKING),
        (SessionState.CHECKING, SessionState.ENROLLED),
        (SessionState.ENROLLED, SessionState.RUNNING),
        (SessionState.RUNNING, SessionState.SUBMITTED),
    }
)


class CandidateView(BaseModel):
    candidate_id: uuid.UUID
    candidate_name: str
    exam_id: uuid.UUID
    exam_title: str
    session: SessionRead


class StateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: SessionState


take_router = APIRouter(prefix="/take/{token}", tags=["candidate"])


@take_router.get("", response_model=CandidateView)
def candidate_view(token: str, db: DbSession) -> CandidateView:
    candidate, exam = invited_candidate(db=db, token=token, now=utcnow())
    session = service.current_for_candidate(db=db, candidate=candidate)
    db.commit()
    return CandidateView(
        candidate_id=candidate.id,
        candidate_name=candidate.name,
        exam_id=exam.id,
        exam_title=exam.title,
        session=SessionRead.model_validate(session),
    )


@take_router.post("/sessions/{session_id}/state", response_model=SessionRead)
def candidate_step(
    token: str, session_id: uuid.UUID, change: StateChange, db: DbSession
) -> SessionRead:
    candidate, _ = invited_candidate(db=db, token=token, now=utcnow())
    session = own_session(db=db, candidate=candidate, session_id=session_id)
    if (session.state, change.state) not in CANDIDATE_STEPS:
        raise IllegalTransition(session.state, change.state)
    service.move(session, change.state)
    db.commit()
    return SessionRead.model_validate(session)
