"""/api/v1/exams/{exam_id}/integration: an exam's meeting id, callback and return URL."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status

from openproctor.access import visible_exam
from openproctor.deps import AdminUser, Audit, Context, DbSession, refused_url
from openproctor.domains.integrations import flows, service
from openproctor.domains.integrations.models import IntegrationRead, IntegrationWrite
from openproctor.outbound import OutboundRefused

router = APIRouter(tags=["exams"])


@router.get("/exams/{exam_id}/integration", response_model=IntegrationRead)
def get_integration(exam_id: uuid.UUID, db: DbSession, user: AdminUser) -> IntegrationRead:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return IntegrationRead.model_validate(service.read(db=db, exam_id=exam.id))


@router.put(
    "/exams/{exam_id}/integration",
    response_model=IntegrationRead,
    responses={422: {"description": "Invalid, or a callback URL that is not public."}},
)
def put_integration(
    exam_id: uuid.UUID,
    body: IntegrationWrite,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> IntegrationRead:
    """Sets the meeting id other systems use, the completion callback URL (a signing
    secret is made with it; it must resolve to public addresses only, see
    OPENPROCTOR_OUTBOUND_ALLOW) and the return URL for candidates."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    try:
        row = flows.save(
            db=db,
            audit=audit,
            exam=exam,
            settings=body,
            outbound_policy=context.settings.outbound_policy,
        )
    except service.MeetingIdTaken as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except OutboundRefused as refusal:
        raise refused_url(refusal) from None
    return IntegrationRead.model_validate(row)
