"""Messages between proctors and candidates.

Staff (tagged proctoring: they need the sessions scope): /api/v1/sessions/{session_id}/messages
(read, send), …/messages/read, …/warnings/clear, and /api/v1/exams/{exam_id}/messages (a
broadcast). Candidates, by their invite token: /api/v1/take/{token}/sessions/{id}/messages and
…/hand."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from openproctor.access import invited_candidate, own_session, visible_exam, visible_session
from openproctor.db import utcnow
from openproctor.deps import Audit, Context, DbSession, Hub, ProctorUser, StaffUser
from openproctor.domains.messages import flows, service
from openproctor.domains.messages.models import PROCTOR_KINDS, MessageKind, MessageRead
from openproctor.domains.sessions.models import ExamSession
from openproctor.pagination import PageParams, send_page

router = APIRouter(tags=["proctoring"])
take_router = APIRouter(prefix="/take/{token}", tags=["candidate"])
StaffBody = Annotated[str, Field(min_length=1, max_length=2000)]


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: StaffBody
    kind: MessageKind = MessageKind.MESSAGE


class BroadcastIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: StaffBody


class BroadcastSent(BaseModel):
    candidates: int


class CandidateMessageIn(BaseModel):
    """The length is checked against the chat_max_chars setting (422 with the limit)."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Field(max_length=10000)]


class HandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raised: bool


class HandRead(BaseModel):
    raised: bool


@router.get("/sessions/{session_id}/messages", response_model=list[MessageRead])
def list_messages(
    session_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    paging: PageParams,
    request: Request,
    response: Response,
) -> list[MessageRead]:
    """The chat with the candidate, both ways, oldest first."""
    session = visible_session(db=db, user=user, session_id=session_id)
    page = service.page_for_session(db=db, session_id=session.id, page=paging)
    reads = [MessageRead.model_validate(m) for m in page.items]
    return send_page(request, response, page, reads)


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
    if message_in.kind not in PROCTOR_KINDS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "a proctor sends a message or a warning"
        )
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


@router.post("/sessions/{session_id}/messages/read", status_code=status.HTTP_204_NO_CONTENT)
def mark_read(session_id: uuid.UUID, db: DbSession, user: ProctorUser, hub: Hub) -> None:
    """The proctor opened the conversation: the candidate's messages are read."""
    session = visible_session(db=db, user=user, session_id=session_id)
    flows.mark_read(db=db, hub=hub, session=session)


@router.post(
    "/exams/{exam_id}/messages",
    response_model=BroadcastSent,
    status_code=status.HTTP_201_CREATED,
)
def broadcast(
    exam_id: uuid.UUID, body: BroadcastIn, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> BroadcastSent:
    """To every candidate in the exam room: a proctor's own candidates, an admin's all."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    sent = flows.broadcast(db=db, audit=audit, hub=hub, exam=exam, user=user, body=body.body)
    return BroadcastSent(candidates=sent)


@take_router.post(
    "/sessions/{session_id}/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "The session is not in the exam room (not started or over)."},
        429: {"description": "Too many messages in the last minute."},
    },
)
def candidate_message(
    token: str,
    session_id: uuid.UUID,
    message_in: CandidateMessageIn,
    db: DbSession,
    hub: Hub,
    context: Context,
) -> MessageRead:
    session = _own_session(db, token, session_id)
    message = flows.candidate_writes(
        db=db,
        hub=hub,
        session=session,
        body=message_in.body,
        limits=_limits(context),
        now=utcnow(),
    )
    return MessageRead.model_validate(message)


@take_router.post("/sessions/{session_id}/hand", response_model=HandRead)
def hand(
    token: str, session_id: uuid.UUID, hand_in: HandIn, db: DbSession, hub: Hub, context: Context
) -> HandRead:
    """Raises or lowers the candidate's hand (a row each time it changes)."""
    session = _own_session(db, token, session_id)
    flows.candidate_hand(
        db=db,
        hub=hub,
        session=session,
        raised=hand_in.raised,
        limits=_limits(context),
        now=utcnow(),
    )
    return HandRead(raised=hand_in.raised)


def _own_session(db: DbSession, token: str, session_id: uuid.UUID) -> ExamSession:
    candidate, _ = invited_candidate(db=db, token=token, now=utcnow())
    return own_session(db=db, candidate=candidate, session_id=session_id)


def _limits(context: Context) -> flows.ChatLimits:
    settings = context.settings
    return flows.ChatLimits(settings.chat_max_chars, settings.chat_messages_per_minute)
