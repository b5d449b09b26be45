"""/api/v1/exams/{exam_id}/sessions and /api/v1/sessions"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from openproctor.access import proctor_scope, visible_exam, visible_session
from openproctor.deps import DbSession, StaffUser
from openproctor.domains.sessions import service
from openproctor.domains.sessions.models import SessionRead

router = APIRouter(tags=["sessions"])


@router.get("/exams/{exam_id}/sessions", response_model=list[SessionRead])
def list_sessions(exam_id: uuid.UUID, db: DbSession, user: StaffUser) -> list[SessionRead]:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    sessions = service.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_scope(user))
    return [SessionRead.model_validate(session) for session in sessions]


@router.get("/sessions/{session_id}", response_model=SessionRead)
def get_session(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> SessionRead:
    return SessionRead.model_validate(visible_session(db=db, user=user, session_id=session_id))
