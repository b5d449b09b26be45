"""/api/v1/exams/{exam_id}/violations and /api/v1/sessions/{session_id}/violations"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from openproctor.access import proctor_scope, visible_exam, visible_session
from openproctor.deps import DbSession, StaffUser
from openproctor.domains.violations import service
from openproctor.domains.violations.models import ViolationRead

router = APIRouter(tags=["violations"])


@router.get("/exams/{exam_id}/violations", response_model=list[ViolationRead])
def list_exam_violations(exam_id: uuid.UUID, db: DbSession, user: StaffUser) -> list[ViolationRead]:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return service.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_scope(user))


@router.get("/sessions/{session_id}/violations", response_model=list[ViolationRead])
def list_session_violations(
    session_id: uuid.UUID, db: DbSession, user: StaffUser
) -> list[ViolationRead]:
    session = visible_session(db=db, user=user, session_id=session_id)
    return service.list_for_exam(db=db, exam_id=session.exam_id, session_id=session.id)
