"""/api/v1/sessions/{session_id}/messages and …/warnings/clear: a proctor's messages and
warnings to a candidate (tagged proctoring: they need the sessions scope)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from openproctor.access import visible_session
from openproctor.deps import Audit, DbSession, Hub, ProctorUser, StaffUser
from openproctor.domains.messages import flows, service
from openproctor.domains.messages.models import MessageKind, MessageRead

router = APIRouter(tags=["proctoring"])


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Field(min_length=1, max_length=2000)]
    kind: MessageKind = MessageKind.MESSAGE


@router.get("/sessions/{session_id}/messages", response_model=list[MessageRead])
def list_messages(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> list[MessageRead]:
    session = visible_session(db=db, user=user, session_id=session_id)
    return [
        MessageRead.model_validate(m) for m in service.for_session(db=db, session_id=session.id)
    ]


@router.post(
    "/sessions/{session_id}/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
)
def send_message(
    session_id: uuid.UUID,
    message_in: MessageIn,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    hub: Hub,
) -> MessageRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    message = flows.send(
        db=db,
        audit=audit,
        hub=hub,
        session=session,
        proctor=user,
        kind=message_in.kind,
        body=message_in.body,
    )
    return MessageRead.model_validate(message)


@router.post("/sessions/{session_id}/warnings/clear", status_code=status.HTTP_204_NO_CONTENT)
def clear_warnings(
    session_id: uuid.UUID, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> None:
    session = visible_session(db=db, user=user, session_id=session_id)
    flows.clear_warnings(db=db, audit=audit, hub=hub, session=session)
