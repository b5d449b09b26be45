"""/api/v1/sessions/{session_id}/attention: the session's attention score over time
(tagged proctoring: it needs the sessions scope)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from openproctor.access import visible_session
from openproctor.deps import DbSession, StaffUser
from openproctor.domains.attention import service
from openproctor.domains.attention.models import AttentionRead

router = APIRouter(tags=["proctoring"])


@router.get("/sessions/{session_id}/attention", response_model=list[AttentionRead])
def list_attention(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> list[AttentionRead]:
    """Samples every few seconds while the session ran, oldest first."""
    session = visible_session(db=db, user=user, session_id=session_id)
    return [
        AttentionRead.model_validate(s) for s in service.for_session(db=db, session_id=session.id)
    ]
