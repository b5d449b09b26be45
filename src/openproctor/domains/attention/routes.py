"""/api/v1/sessions/{session_id}/attention: the session's attention score over time
(tagged proctoring: it needs the sessions scope)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from openproctor.access import visible_session
from openproctor.deps import DbSession, StaffUser
from openproctor.domains.attention import service
from openproctor.domains.attention.models import AttentionRead
from openproctor.pagination import PageParams, send_page

router = APIRouter(tags=["proctoring"])


@router.get("/sessions/{session_id}/attention", response_model=list[AttentionRead])
def list_attention(
    session_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    paging: PageParams,
    request: Request,
    response: Response,
) -> list[AttentionRead]:
    """Samples every few seconds while the session ran, oldest first."""
    session = visible_session(db=db, user=user, session_id=session_id)
    page = service.page_for_session(db=db, session_id=session.id, page=paging)
    reads = [AttentionRead.model_validate(sample) for sample in page.items]
    return send_page(request, response, page, reads)
