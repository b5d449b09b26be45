"""/api/v1/sessions/{session_id}/pause, …/resume, …/extra-time, …/terminate and
…/auto-terminate: a proctor's interventions, through the sessions flows (tagged proctoring:
they need the sessions scope)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from openproctor.access import visible_session
from openproctor.db import utcnow
from openproctor.deps import Audit, DbSession, Hub, ProctorUser
from openproctor.domains.sessions import flows, service
from openproctor.domains.sessions.clock import ClockRead
from openproctor.domains.sessions.models import ExtraTime, SessionRead, Toggle

router = APIRouter(tags=["proctoring"])


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)] = flows.TERMINATED_REASON


@router.post("/sessions/{session_id}/pause", response_model=SessionRead)
def pause(
    session_id: uuid.UUID, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> SessionRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    return SessionRead.model_validate(flows.pause(db=db, audit=audit, hub=hub, session=session))


@router.post("/sessions/{session_id}/resume", response_model=SessionRead)
def resume(
    session_id: uuid.UUID, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> SessionRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    return SessionRead.model_validate(flows.resume(db=db, audit=audit, hub=hub, session=session))


@router.post(
    "/sessions/{session_id}/extra-time",
    response_model=ClockRead,
    responses={409: {"description": "The exam is not under way, or its window closes first."}},
)
def extra_time(
    session_id: uuid.UUID, body: ExtraTime, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> ClockRead:
    """Gives a running (or paused) candidate `minutes` more: the deadline moves, and their
    page's countdown with it."""
    session = visible_session(db=db, user=user, session_id=session_id)
    try:
        clock = flows.give_extra_time(
            db=db, audit=audit, hub=hub, session=session, minutes=body.minutes
        )
    except service.ExtraTimeRefused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return clock.read(utcnow())


@router.post("/sessions/{session_id}/terminate", response_model=SessionRead)
def terminate(
    session_id: uuid.UUID, body: Reason, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> SessionRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    ended = flows.terminate(db=db, audit=audit, hub=hub, session=session, reason=body.reason)
    return SessionRead.model_validate(ended)


@router.put("/sessions/{session_id}/auto-terminate", response_model=SessionRead)
def auto_terminate(
    session_id: uuid.UUID,
    toggle: Toggle,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    hub: Hub,
) -> SessionRead:
    session = visible_session(db=db, user=user, session_id=session_id)
    changed = flows.set_auto_terminate(
        db=db, audit=audit, hub=hub, session=session, enabled=toggle.enabled
    )
    return SessionRead.model_validate(changed)
