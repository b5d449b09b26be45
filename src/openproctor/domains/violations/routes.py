"""/api/v1/exams/{exam_id}/violations and /api/v1/sessions/{session_id}/violations; a
reviewer's verdict (…/review) and a proctor marking an alert handled (…/handled)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from openproctor.access import proctor_scope, visible_exam, visible_session
from openproctor.deps import Audit, DbSession, Hub, ProctorUser, ReviewerUser, StaffUser
from openproctor.domains.lti import control as lti_control
from openproctor.domains.violations import handling, service
from openproctor.domains.violations.models import ReviewStatus, Violation, ViolationRead
from openproctor.pagination import PageParams, send_page

router = APIRouter(tags=["violations"])


Filters = Annotated[service.ViolationFilter, Depends()]


@router.get("/exams/{exam_id}/violations", response_model=list[ViolationRead])
def list_exam_violations(
    exam_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    paging: PageParams,
    wanted: Filters,
    request: Request,
    response: Response,
) -> list[ViolationRead]:
    """The exam's violations (a proctor's: their candidates'), oldest first."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    page = service.page_for_exam(
        db=db, exam_id=exam.id, page=paging, wanted=wanted, proctor_id=proctor_scope(user)
    )
    return send_page(request, response, page, page.items)


@router.get("/sessions/{session_id}/violations", response_model=list[ViolationRead])
def list_session_violations(
    session_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    paging: PageParams,
    wanted: Filters,
    request: Request,
    response: Response,
) -> list[ViolationRead]:
    """The attempt's violations, oldest first."""
    session = visible_session(db=db, user=user, session_id=session_id)
    page = service.page_for_exam(
        db=db, exam_id=session.exam_id, page=paging, wanted=wanted, session_id=session.id
    )
    return send_page(request, response, page, page.items)


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
    confirmed_now = (
        verdict.status is ReviewStatus.CONFIRMED
        and violation.review_status is not ReviewStatus.CONFIRMED
    )
    service.review(violation=violation, status=verdict.status, note=verdict.note, reviewer=user)
    if confirmed_now:  # a platform's proctored attempt gets a flag (LTI Assessment Control)
        lti_control.flag_violation(db=db, session=session, violation=violation)
    audit(
        "violation.review",
        "violation",
        violation.id,
        status=verdict.status.value,
        note=verdict.note,
    )
    db.commit()
    return service.read_one(db=db, violation=violation, exam_id=session.exam_id)


@router.post("/violations/{violation_id}/handled", response_model=ViolationRead)
def mark_handled(
    violation_id: uuid.UUID, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> ViolationRead:
    """A proctor has dealt with the alert: who and when are kept (the first one stays when
    two mark it at once) and every wall watching the exam shows it."""
    violation = db.get(Violation, violation_id)
    if violation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "violation not found")
    session = visible_session(db=db, user=user, session_id=violation.session_id)
    return handling.mark_handled(
        db=db, audit=audit, hub=hub, session=session, violation=violation, proctor=user
    )
