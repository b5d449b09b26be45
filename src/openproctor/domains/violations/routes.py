"""/api/v1/exams/{exam_id}/violations and /api/v1/sessions/{session_id}/violations"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from openproctor.access import proctor_scope, visible_exam, visible_session
from openproctor.deps import Audit, DbSession, ReviewerUser, StaffUser
from openproctor.domains.violations import service
from openproctor.domains.violations.models import ReviewStatus, Violation, ViolationRead

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


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ReviewStatus
    note: Annotated[str | None, Field(max_length=5000)] = None


@router.put("/violations/{violation_id}/review", response_model=ViolationRead)
def review_violation(
    violation_id: uuid.UUID, verdict: Verdict, db: DbSession, user: ReviewerUser, audit: Audit
) -> ViolationRead:
    """Confirm or dismiss a violation (or put it back to pending), with a note."""
    violation = db.get(Violation, violation_id)
    if violation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "violation not found")
    session = visible_session(db=db, user=user, session_id=violation.session_id)
    service.review(violation=violation, status=verdict.status, note=verdict.note, reviewer=user)
    audit(
        "violation.review",
        "violation",
        violation.id,
        status=verdict.status.value,
        note=verdict.note,
    )
    db.commit()
    return next(
        v
        for v in service.list_for_exam(db=db, exam_id=session.exam_id, session_id=session.id)
        if v.id == violation.id
    )
