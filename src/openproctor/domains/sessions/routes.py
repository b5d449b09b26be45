"""/api/v1/exams/{exam_id}/sessions and /api/v1/sessions"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from openproctor.access import proctor_scope, visible_exam, visible_session
from openproctor.db import utcnow
from openproctor.deps import Audit, Context, DbSession, ReviewerUser, StaffUser
from openproctor.domains.lti import grades as lti_grades
from openproctor.domains.objects.service import file_response
from openproctor.domains.sessions import service
from openproctor.domains.sessions.clock import ClockRead
from openproctor.domains.sessions.models import Decision, SessionRead
from openproctor.domains.webhooks import events as webhook_events
from openproctor.pagination import PageParams, send_page

router = APIRouter(tags=["sessions"])


@router.get("/exams/{exam_id}/sessions", response_model=list[SessionRead])
def list_sessions(
    exam_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    paging: PageParams,
    wanted: Annotated[service.SessionFilter, Depends()],
    request: Request,
    response: Response,
) -> list[SessionRead]:
    """The exam's attempts (a proctor's: their candidates'), oldest first."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    page = service.page_for_exam(
        db=db, exam_id=exam.id, page=paging, wanted=wanted, proctor_id=proctor_scope(user)
    )
    return send_page(request, response, page, [SessionRead.model_validate(s) for s in page.items])


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    note: Annotated[str | None, Field(max_length=5000)] = None


class EvidenceRead(BaseModel):
    id: uuid.UUID
    violation_id: uuid.UUID | None
    purpose: str
    url: str
    created_at: datetime


@router.put("/sessions/{session_id}/decision", response_model=SessionRead)
def decide(
    session_id: uuid.UUID, body: DecisionIn, db: DbSession, user: ReviewerUser, audit: Audit
) -> SessionRead:
    """The reviewer's overall decision on the attempt: clear, suspicious or cheating."""
    session = visible_session(db=db, user=user, session_id=session_id)
    service.decide(session=session, decision=body.decision, note=body.note, reviewer=user)
    audit("session.decision", "session", session.id, decision=body.decision.value, note=body.note)
    webhook_events.enqueue_review_completed(db=db, session=session)
    lti_grades.enqueue(db=db, session=session, at=session.decided_at or utcnow())
    db.commit()
    return SessionRead.model_validate(session)


@router.get("/sessions/{session_id}/evidence", response_model=list[EvidenceRead])
def session_evidence(
    session_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    paging: PageParams,
    request: Request,
    response: Response,
) -> list[EvidenceRead]:
    """The session's evidence images (annotated and raw) and its enrolment photo, oldest
    first."""
    session = visible_session(db=db, user=user, session_id=session_id)
    page = service.evidence(db=db, session_id=session.id, page=paging)
    reads = [
        EvidenceRead(
            id=item.id,
            violation_id=item.violation_id,
            purpose=item.purpose.value,
            url=f"/api/v1/evidence/{item.id}",
            created_at=item.created_at,
        )
        for item in page.items
    ]
    return send_page(request, response, page, reads)


@router.get(
    "/evidence/{object_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def evidence(object_id: uuid.UUID, db: DbSession, user: StaffUser, context: Context) -> Response:
    """One evidence image or enrolment photo, to staff who may see its session."""
    stored = service.evidence_object(db=db, object_id=object_id)
    if stored is None or stored.session_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "evidence not found")
    visible_session(db=db, user=user, session_id=stored.session_id)
    return file_response(context.store, stored)


@router.get("/sessions/{session_id}/clock", response_model=ClockRead)
def session_clock(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> ClockRead:
    """The attempt's deadline and time left, as the candidate's page counts them down."""
    session = visible_session(db=db, user=user, session_id=session_id)
    return service.clock(db=db, session=session).read(utcnow())


@router.get("/sessions/{session_id}", response_model=SessionRead)
def get_session(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> SessionRead:
    return SessionRead.model_validate(visible_session(db=db, user=user, session_id=session_id))
