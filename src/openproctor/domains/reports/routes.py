"""/api/v1/exams/{exam_id}/report.csv|.json, /api/v1/sessions/{session_id}/report.pdf and
/api/v1/sessions/{session_id}/events (interventions and messages, for the review page)"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from openproctor.access import proctor_scope, visible_exam, visible_session
from openproctor.db import utcnow
from openproctor.deps import Audit, Context, DbSession, StaffUser
from openproctor.domains.reports import service
from openproctor.domains.reports.events import EventRead, session_events
from openproctor.domains.reports.pdf import session_pdf

router = APIRouter(tags=["reports"])


@router.get(
    "/exams/{exam_id}/report.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def exam_report_csv(exam_id: uuid.UUID, db: DbSession, user: StaffUser, audit: Audit) -> Response:
    """One line per candidate (a proctor's own only): state, score, risk, violation counts by
    kind and review status, decision and times."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    rows = service.exam_rows(db=db, exam=exam, proctor_id=proctor_scope(user))
    audit("exam.report", "exam", exam.id, format="csv", candidates=len(rows))
    db.commit()
    return Response(
        service.exam_csv(rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="exam-{exam.id}-report.csv"'},
    )


@router.get("/exams/{exam_id}/report.json")
def exam_report_json(
    exam_id: uuid.UUID, db: DbSession, user: StaffUser, audit: Audit
) -> dict[str, Any]:
    """The CSV's content as JSON, violation counts nested by kind and by review status."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    rows = service.exam_rows(db=db, exam=exam, proctor_id=proctor_scope(user))
    audit("exam.report", "exam", exam.id, format="json", candidates=len(rows))
    db.commit()
    return service.exam_json(exam=exam, rows=rows, now=utcnow())


@router.get(
    "/sessions/{session_id}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def session_report_pdf(
    session_id: uuid.UUID, db: DbSession, user: StaffUser, audit: Audit, context: Context
) -> Response:
    """Summary, timeline of violations with their review, and evidence thumbnails."""
    session = visible_session(db=db, user=user, session_id=session_id)
    report = service.session_report(db=db, store=context.store, session=session)
    data = session_pdf(report, now=utcnow())
    audit("session.report", "session", session.id, format="pdf")
    db.commit()
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="session-{session.id}-report.pdf"'},
    )


@router.get("/sessions/{session_id}/events", response_model=list[EventRead])
def session_events_list(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> list[EventRead]:
    """Every message both ways and every intervention of the attempt (admission, pause,
    resume, extra time, talk, warnings cleared, termination), oldest first."""
    session = visible_session(db=db, user=user, session_id=session_id)
    return [EventRead.of(event) for event in session_events(db=db, session=session)]
