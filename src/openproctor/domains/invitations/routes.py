"""/api/v1/exams/{exam_id}/mail-template, /invitations, /emails and
/api/v1/candidates/{candidate_id}/invitation: e-mailing candidates their links."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from openproctor.access import visible_candidate, visible_exam
from openproctor.deps import AdminUser, Audit, Context, DbSession
from openproctor.domains.invitations import flows, letters, service
from openproctor.domains.invitations.models import (
    EmailRead,
    EmailStatus,
    Queued,
    SendRequest,
    TemplateRead,
    TemplateWrite,
)
from openproctor.pagination import PageParams, send_page

router = APIRouter(tags=["invitations"])


def _read(template: TemplateWrite) -> TemplateRead:
    return TemplateRead(**template.model_dump(), placeholders=letters.PLACEHOLDERS)


@router.get("/exams/{exam_id}/mail-template", response_model=TemplateRead)
def get_template(exam_id: uuid.UUID, db: DbSession, user: AdminUser) -> TemplateRead:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return _read(service.wording(db=db, exam_id=exam.id))


@router.put("/exams/{exam_id}/mail-template", response_model=TemplateRead)
def put_template(
    exam_id: uuid.UUID, template: TemplateWrite, db: DbSession, user: AdminUser, audit: Audit
) -> TemplateRead:
    """Saves the invitation's and reminder's wording; 422 names unknown placeholders, a body
    without {link} or a subject of several lines."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    try:
        flows.save_wording(db=db, audit=audit, exam=exam, template=template)
    except flows.MailRefused as refused:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(refused)) from None
    return _read(template)


@router.post(
    "/exams/{exam_id}/invitations",
    response_model=Queued,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "No mail server is configured; nothing was queued."}},
)
def send_invitations(
    exam_id: uuid.UUID,
    request: SendRequest,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> Queued:
    """Queues invitations (to all candidates, or those not invited yet); they are sent in the
    background: GET .../emails shows each one's status."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    to = service.recipients(db=db, exam_id=exam.id, only_unsent=request.to == "unsent")
    try:
        return flows.invite(db=db, audit=audit, mailer=context.mailer, exam=exam, candidates=to)
    except flows.MailRefused as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from None


@router.post(
    "/candidates/{candidate_id}/invitation",
    response_model=Queued,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "No mail server, or the candidate's link is withdrawn."}},
)
def reinvite(
    candidate_id: uuid.UUID, db: DbSession, user: AdminUser, audit: Audit, context: Context
) -> Queued:
    """Queues the invitation to this one candidate again (with their current link)."""
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    exam = visible_exam(db=db, user=user, exam_id=candidate.exam_id)
    if candidate.invite_withdrawn_at is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "the candidate's link is withdrawn: make a new one first"
        )
    try:
        return flows.invite(
            db=db, audit=audit, mailer=context.mailer, exam=exam, candidates=[candidate]
        )
    except flows.MailRefused as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from None


@router.get("/exams/{exam_id}/emails", response_model=list[EmailRead])
def list_emails(
    exam_id: uuid.UUID,
    db: DbSession,
    user: AdminUser,
    paging: PageParams,
    request: Request,
    response: Response,
    delivery: Annotated[EmailStatus | None, Query(alias="status")] = None,
) -> list[EmailRead]:
    """Every e-mail to the exam's candidates, newest first, with its delivery status."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    page = service.page_for_exam(db=db, exam_id=exam.id, page=paging, status=delivery)
    return send_page(request, response, page, [EmailRead.model_validate(e) for e in page.items])
