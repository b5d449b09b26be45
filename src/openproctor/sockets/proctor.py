"""The proctor wall's live socket: the exam's candidates, violations and pictures out; which
candidate the proctor watches closely in (live/protocol.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import SQLAlchemyError

from openproctor.access import proctor_scope, visible_exam
from openproctor.bus.local import Subscription, exam_topic, staff_topic
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.messages import service as messages
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users import service as users
from openproctor.domains.users.models import Role, User
from openproctor.live import messages as wire
from openproctor.live.limits import RTC_BURST, RTC_PER_S, WATCH_BURST, WATCHES_PER_S, TokenBucket
from openproctor.live.protocol import CloseCode
from openproctor.live.runtime import CandidateSummary
from openproctor.security import SESSION_COOKIE
from openproctor.sockets import rtc
from openproctor.sockets.shared import as_uuid, both_ways, close, context_of, refuse, same_origin

router = APIRouter()
log = logging.getLogger(__name__)

# Wall messages about the exam as a whole, for everyone watching it; the others name the
# proctor whose candidate they are about.
EXAM_WIDE = frozenset({"load"})


def _proctor(
    context: AppContext, token: str | None, exam_id: uuid.UUID
) -> tuple[User, users.SignIn, list[CandidateSummary]]:
    with context.session_factory() as db:
        user = users.user_for_session(db=db, token=token) if token else None
        if user is None or token is None:
            raise HTTPException(401, "sign in first")
        if user.role not in (Role.ADMIN, Role.PROCTOR):
            raise HTTPException(403, "this needs the admin or proctor role")
        if user.must_change_password:
            raise HTTPException(403, "choose your own password first")
        exam = visible_exam(db=db, user=user, exam_id=exam_id)
        policy = exam.parsed_policy
        roster = candidates.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_scope(user))
        latest = {s.candidate_id: s for s in sessions.list_for_exam(db=db, exam_id=exam.id)}
        talks = messages.conversations(db=db, session_ids=[s.id for s in latest.values()])
        rows = [CandidateSummary.offline(c, latest.get(c.id), policy, talks) for c in roster]
        sign_in = users.SignIn.of(db=db, user=user, token=token)
        db.expunge(user)
        return user, sign_in, rows


def _sign_in_ended(context: AppContext, sign_in: users.SignIn) -> str | None:
    with context.session_factory() as db:
        return users.sign_in_ended(db=db, sign_in=sign_in, now=utcnow())


async def _guard_sign_in(websocket: WebSocket, context: AppContext, sign_in: users.SignIn) -> None:
    """Closes the socket once its sign-in ends: at once when a sign-out or account change is
    announced on the bus (any node), else at the next periodic check or at expiry."""
    interval = context.settings.staff_session_check_seconds
    async with context.hub.bus.subscribe(staff_topic(sign_in.user_id)) as announcements:
        while True:
            # Checked first too: a change made while this socket was opening is not missed.
            try:
                ended = await asyncio.to_thread(_sign_in_ended, context, sign_in)
            except SQLAlchemyError as error:  # the database is back by the next check
                log.warning("could not check a staff socket's sign-in: %s", error)
                ended = None
            if ended is not None:
                await close(websocket, CloseCode.SIGNED_OUT, f"You were signed out: {ended}")
                return
            until_expiry = (sign_in.expires_at - utcnow()).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(announcements.get(), max(0.0, min(interval, until_expiry)))


@router.websocket("/ws/proctor/exams/{exam_id}")
async def proctor_socket(websocket: WebSocket, exam_id: uuid.UUID) -> None:
    context = context_of(websocket)
    hub = context.hub
    if not same_origin(websocket):
        await refuse(websocket, CloseCode.FORBIDDEN, "cross-site socket refused")
        return
    try:
        user, sign_in, rows = await asyncio.to_thread(
            _proctor, context, websocket.cookies.get(SESSION_COOKIE), exam_id
        )
    except HTTPException as error:
        code = CloseCode.BAD_INVITE if error.status_code == 401 else CloseCode.FORBIDDEN
        await refuse(websocket, code, str(error.detail))
        return
    limit = context.settings.staff_sockets_per_user
    if not context.staff_sockets.acquire(user.id, limit):
        reason = f"this account has {limit} live pages open already: close one"
        await refuse(websocket, CloseCode.TOO_MANY_SOCKETS, reason)
        return
    scope = str(user.id) if user.role is Role.PROCTOR else None
    watch = _Watch(hub.registry.new_watcher())

    async def may_watch(session_id: uuid.UUID) -> bool:
        return await asyncio.to_thread(_may_watch, context, exam_id, scope, session_id)

    client_ip = websocket.client.host if websocket.client else ""
    signalling = rtc.StaffSignalling(context, watch.watcher, user, client_ip, may_watch)
    connections = hub.metrics.connections.labels("proctor")
    connections.inc()
    try:
        await websocket.accept()
        async with hub.bus.subscribe(exam_topic(exam_id)) as subscription:
            live = [
                hub.registry.get(uuid.UUID(r.session_id)) if r.session_id else None for r in rows
            ]
            tiles = [held.summary() if held else row for row, held in zip(rows, live, strict=True)]
            await websocket.send_json(wire.snapshot(tiles))
            await websocket.send_json(hub.load.message(exam_id))
            await both_ways(
                _receive_from_proctor(websocket, context, watch, may_watch, signalling),
                _forward_to_proctor(websocket, subscription, scope, watch, signalling),
                _guard_sign_in(websocket, context, sign_in),
                rtc.send_ice_config(websocket, context, f"staff-{user.id}"),
            )
    except WebSocketDisconnect:
        pass
    finally:
        context.staff_sockets.release(user.id)
        connections.dec()
        hub.registry.watch(watch.watcher, None)
        await signalling.leave_all()


def for_proctor(message: dict[str, Any], scope: str | None) -> bool:
    """Whether a wall message goes to this viewer: scope is a proctor's id, None an admin."""
    if message["type"] in EXAM_WIDE:
        return True
    if scope is None:  # admins see every candidate, assigned or not
        return message["type"] not in ("assigned", "unassigned")
    return bool(message.get("proctor_id") == scope)


async def _forward_to_proctor(
    websocket: WebSocket,
    subscription: Subscription,
    scope: str | None,
    watch: _Watch,
    signalling: rtc.StaffSignalling,
) -> None:
    while True:
        message = await subscription.get()
        if not isinstance(message, dict):
            continue
        if message["type"] in rtc.RTC_TYPES:  # addressed to one viewer, whoever's candidate
            if rtc.for_viewer(message, watch.watcher, signalling.subscriber):
                await websocket.send_json({k: v for k, v in message.items() if k != "viewer"})
            continue
        if not for_proctor(message, scope):
            continue
        outgoing = {k: v for k, v in message.items() if k not in ("proctor_id", "jpeg")}
        # Frames come from whichever node holds the session: matched by its id.
        watched = watch.session_id is not None and message.get("session_id") == str(
            watch.session_id
        )
        if message["type"] in wire.WATCHED_ONLY and not watched:
            continue
        await websocket.send_json(outgoing)
        if "jpeg" in message:
            await websocket.send_bytes(message["jpeg"])


@dataclass(slots=True)
class _Watch:
    """Which candidate one proctor socket watches closely (its detail view), if any."""

    watcher: str
    session_id: uuid.UUID | None = None


def _may_watch(
    context: AppContext, exam_id: uuid.UUID, scope: str | None, session_id: uuid.UUID
) -> bool:
    """A session of this exam, and (for a proctor) of one of their candidates."""
    with context.session_factory() as db:
        session = db.get(ExamSession, session_id)
        if session is None or session.exam_id != exam_id:
            return False
        candidate = db.get(Candidate, session.candidate_id)
        return scope is None or (candidate is not None and str(candidate.proctor_id) == scope)


async def _receive_from_proctor(
    websocket: WebSocket,
    context: AppContext,
    watch: _Watch,
    may_watch: Callable[[uuid.UUID], Awaitable[bool]],
    signalling: rtc.StaffSignalling,
) -> None:
    budget = TokenBucket(WATCH_BURST)
    rtc_budget = TokenBucket(RTC_BURST)
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        try:
            body = json.loads(text) if text is not None else None
        except json.JSONDecodeError:
            body = None
        kind = body.get("type") if isinstance(body, dict) else None
        # Signalling has its own budget: a wall of 30 tiles sends a few hundred ICE candidates.
        bucket, rate = (rtc_budget, RTC_PER_S) if kind == "rtc" else (budget, WATCHES_PER_S)
        if not bucket.take(time.monotonic(), rate):
            await close(websocket, CloseCode.FLOODING, "too many messages: slow down")
            return
        if kind == "rtc" and isinstance(body, dict):
            await signalling.receive(websocket, body)
            continue
        # The wall sends JSON text only: bytes and other junk are ignored.
        if kind != "watch" or not isinstance(body, dict):
            continue
        wanted = as_uuid(body.get("session_id"))
        # Asked when watching starts, not at connect: assignments change during an exam.
        allowed = wanted is not None and await may_watch(wanted)
        watch.session_id = wanted if allowed else None
        context.hub.registry.watch(watch.watcher, watch.session_id)
