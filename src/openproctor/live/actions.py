"""Proctor interventions (REST, so they are authorised and audited like every change) and the
evidence images; each change is pushed to the candidate's page at once through the hub."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from openproctor.access import proctor_scope, visible_exam, visible_session
from openproctor.bus.local import session_topic
from openproctor.deps import AdminUser, Audit, Context, DbSession, ProctorUser, StaffUser
from openproctor.domains.messages import service as messages
from openproctor.domains.messages.models import MessageKind, MessageRead
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.objects.service import file_response
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionRead, SessionState

router = APIRouter(tags=["proctoring"])


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Field(min_length=1, max_length=2000)]
    kind: MessageKind = MessageKind.MESSAGE


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)] = "ended by the proctor"


class Toggle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


@router.get("/sessions/{session_id}/messages", response_model=list[MessageRead])
def list_messages(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> list[MessageRead]:
    session = visible_session(db=db, user=user, session_id=session_id)
    return [
        MessageRead.model_validate(m) for m in messages.for_session(db=db, session_id=session.id)
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
    context: Context,
) -> MessageRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    message = messages.send(
        db=db, session_id=session.id, proctor=user, kind=message_in.kind, body=message_in.body
    )
    audit(f"session.{message_in.kind.value}", "session", session.id, body=message.body)
    db.commit()
    context.hub.bus.publish(session_topic(session.id), messages.to_wire(message))
    return MessageRead.model_validate(message)


@router.post("/sessions/{session_id}/warnings/clear", status_code=status.HTTP_204_NO_CONTENT)
def clear_warnings(
    session_id: uuid.UUID, db: DbSession, user: ProctorUser, audit: Audit, context: Context
) -> None:
    session = visible_session(db=db, user=user, session_id=session_id)
    cleared = messages.clear_warnings(db=db, session_id=session.id)
    audit("session.clear_warnings", "session", session.id, cleared=cleared)
    db.commit()
    context.hub.bus.publish(session_topic(session.id), {"type": "warnings_cleared"})


def _move(
    session: ExamSession,
    wanted: SessionState,
    reason: str,
    *,
    db: DbSession,
    audit: Audit,
    context: Context,
) -> SessionRead:
    sessions.move(session, wanted, reason=reason)
    audit(f"session.{wanted.value}", "session", session.id, reason=reason)
    db.commit()
    context.hub.session_changed(session.id, session.state, reason=reason)
    return SessionRead.model_validate(session)


@router.post("/sessions/{session_id}/pause", response_model=SessionRead)
def pause(
    session_id: uuid.UUID, db: DbSession, user: ProctorUser, audit: Audit, context: Context
) -> SessionRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    reason = "paused by the proctor"
    return _move(session, SessionState.PAUSED, reason, db=db, audit=audit, context=context)


@router.post("/sessions/{session_id}/resume", response_model=SessionRead)
def resume(
    session_id: uuid.UUID, db: DbSession, user: ProctorUser, audit: Audit, context: Context
) -> SessionRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    reason = "resumed by the proctor"
    return _move(session, SessionState.RUNNING, reason, db=db, audit=audit, context=context)


@router.post("/sessions/{session_id}/terminate", response_model=SessionRead)
def terminate(
    session_id: uuid.UUID,
    body: Reason,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    context: Context,
) -> SessionRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    return _move(session, SessionState.TERMINATED, body.reason, db=db, audit=audit, context=context)


@router.put("/sessions/{session_id}/auto-terminate", response_model=SessionRead)
def auto_terminate(
    session_id: uuid.UUID,
    toggle: Toggle,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    context: Context,
) -> SessionRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    session.auto_terminate = toggle.enabled
    audit("session.auto_terminate", "session", session.id, enabled=toggle.enabled)
    db.commit()
    context.hub.session_changed(session.id, session.state, auto_terminate=toggle.enabled)
    return SessionRead.model_validate(session)


class AutoTerminateScope(StrEnum):
    EXAM = "exam"  # the exam's policy: every session follows it
    MY_SESSIONS = "my_sessions"  # an override on each session of the caller's candidates


class AutoTerminateChange(BaseModel):
    enabled: bool
    scope: AutoTerminateScope
    sessions: int = Field(description="Sessions whose setting changed.")


@router.put("/exams/{exam_id}/auto-terminate", response_model=AutoTerminateChange)
def exam_auto_terminate(
    exam_id: uuid.UUID,
    toggle: Toggle,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> AutoTerminateChange:
    """Turns automatic termination on or off in the exam's policy (admins only: it is an
    exam-wide setting). Every session drops its own setting and follows the exam's."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    exam.policy = {**exam.policy, "auto_terminate": toggle.enabled}
    followers = sessions.list_for_exam(db=db, exam_id=exam.id)
    for session in followers:
        session.auto_terminate = None
    change = AutoTerminateChange(
        enabled=toggle.enabled, scope=AutoTerminateScope.EXAM, sessions=len(followers)
    )
    audit("exam.auto_terminate", "exam", exam.id, **change.model_dump(mode="json"))
    db.commit()
    for session in followers:
        context.hub.session_changed(session.id, session.state, auto_terminate=toggle.enabled)
    return change


@router.put("/exams/{exam_id}/my-sessions/auto-terminate", response_model=AutoTerminateChange)
def my_sessions_auto_terminate(
    exam_id: uuid.UUID,
    toggle: Toggle,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    context: Context,
) -> AutoTerminateChange:
    """Turns automatic termination on or off for every session of the caller's candidates in
    this exam (an admin's: every session), as each candidate's own toggle does; the exam's
    policy, and so other proctors' candidates, stay as they are. Candidates who open their
    invite later start with the exam's setting."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    mine = sessions.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_scope(user))
    for session in mine:
        session.auto_terminate = toggle.enabled
    change = AutoTerminateChange(
        enabled=toggle.enabled, scope=AutoTerminateScope.MY_SESSIONS, sessions=len(mine)
    )
    audit("exam.auto_terminate", "exam", exam.id, **change.model_dump(mode="json"))
    db.commit()
    for session in mine:
        context.hub.session_changed(session.id, session.state, auto_terminate=toggle.enabled)
    return change


@router.get(
    "/evidence/{object_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def evidence(object_id: uuid.UUID, db: DbSession, user: StaffUser, context: Context) -> Response:
    stored = db.scalar(
        select(StoredObject).where(
            StoredObject.id == object_id,
            StoredObject.purpose.in_(
                [ObjectPurpose.EVIDENCE, ObjectPurpose.EVIDENCE_RAW, ObjectPurpose.ENROLMENT]
            ),
        )
    )
    if stored is None or stored.session_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "evidence not found")
    visible_session(db=db, user=user, session_id=stored.session_id)
    return file_response(context.store, stored)
