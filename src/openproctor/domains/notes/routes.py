"""/api/v1/sessions/{session_id}/notes: proctors' notes on an attempt (tagged proctoring: API
tokens need the sessions scope). Every staff member who may see the session reads them;
proctors and admins write them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from openproctor.access import visible_session
from openproctor.deps import Audit, DbSession, Hub, ProctorUser, StaffUser
from openproctor.domains.notes import flows, service
from openproctor.domains.notes.models import NOTE_MAX_CHARS, NoteRead
from openproctor.pagination import PageParams, send_page

router = APIRouter(tags=["proctoring"])


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Field(min_length=1, max_length=NOTE_MAX_CHARS)]


@router.get("/sessions/{session_id}/notes", response_model=list[NoteRead])
def list_notes(
    session_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    paging: PageParams,
    request: Request,
    response: Response,
) -> list[NoteRead]:
    """Oldest first."""
    session = visible_session(db=db, user=user, session_id=session_id)
    page = service.page_for_session(db=db, session_id=session.id, page=paging)
    return send_page(request, response, page, page.items)


@router.post(
    "/sessions/{session_id}/notes", response_model=NoteRead, status_code=status.HTTP_201_CREATED
)
def write_note(
    session_id: uuid.UUID, note_in: NoteIn, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> NoteRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    return flows.write(db=db, audit=audit, hub=hub, session=session, author=user, body=note_in.body)
