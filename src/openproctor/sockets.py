"""The two live WebSockets: candidates stream in, proctors watch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from openproctor.access import invited_candidate, proctor_scope, visible_exam
from openproctor.bus.local import Subscription, exam_topic, session_topic, staff_topic
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.messages import service as messages
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import FINAL_STATES, IN_ROOM_STATES, ExamSession
from openproctor.domains.users import service as users
from openproctor.domains.users.models import Role, User
from openproctor.live import messages as wire
from openproctor.live.hub import LiveHub
from openproctor.live.limits import WATCH_BURST, WATCHES_PER_S, TokenBucket
from openproctor.live.protocol import CloseCode, MediaKind, ProtocolError, Signal, parse_media
from openproctor.live.registry import Budget
from openproctor.live.runtime import CandidateSummary, SessionRuntime
from openproctor.pipeline import images
from openproctor.security import SESSION_COOKIE

router = APIRouter()
log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 1024 * 1024
MAX_AUDIO_BYTES = 128 * 1024
MAX_TEXT_BYTES = 4096
# Wall messages about the exam as a whole, for everyone watching it; the others name the
# proctor whose candidate they are about.
EXAM_WIDE = frozenset({"load"})


class SignalMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern="^signal$")
    name: Signal
    ts: float | None = None
    value: int | str | bool | None = None


def _context(websocket: WebSocket) -> AppContext:
    context: AppContext = websocket.app.state.context
    return context


def same_origin(websocket: WebSocket) -> bool:
    """Browsers send Origin on WebSockets; one from another site must not ride our cookies."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient cookies to abuse
    host = websocket.headers.get("host", "")
    public = urlsplit(_context(websocket).settings.public_url).netloc
    return urlsplit(origin).netloc in {host, public}


async def _close(websocket: WebSocket, code: CloseCode, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=int(code), reason=reason[:120])


async def _both_ways(
    receive: Coroutine[Any, Any, None], *alongside: Coroutine[Any, Any, None]
) -> None:
    """Reads from the socket while the others run (forwarding bus messages, guarding the
    sign-in); ends when reading ends, which it does once one of them closes the socket."""
    tasks = [asyncio.create_task(coroutine) for coroutine in alongside]
    try:
        await receive
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            # What Starlette raises for a send racing a close made by another task.
            with contextlib.suppress(asyncio.CancelledError, RuntimeError, WebSocketDisconnect):
                await task


async def _refuse(websocket: WebSocket, code: CloseCode, reason: str) -> None:
    """Accepts only to close with a code and reason: a refused handshake would be a bare 403
    that the browser's page cannot explain to the candidate."""
    await websocket.accept()
    await _close(websocket, code, reason)


# --- candidate ------------------------------------------------------------------------------


def _candidate_session(context: AppContext, token: str) -> tuple[uuid.UUID, list[wire.MessageOut]]:
    with context.session_factory() as db:
        candidate, _ = invited_candidate(db=db, token=token, now=utcnow())
        session = sessions.current_for_candidate(db=db, candidate=candidate)
        db.commit()
        if session.state not in IN_ROOM_STATES:
            raise HTTPException(409, f"this exam session is {session.state.value}")
        history = [wire.message(m) for m in messages.for_session(db=db, session_id=session.id)]
        return session.id, history


@router.websocket("/ws/take/{token}")
async def candidate_socket(websocket: WebSocket, token: str) -> None:
    context = _context(websocket)
    hub = context.hub
    if not same_origin(websocket):
        await _refuse(websocket, CloseCode.FORBIDDEN, "cross-site socket refused")
        return
    try:
        session_id, history = await asyncio.to_thread(_candidate_session, context, token)
    except HTTPException as error:
        code = CloseCode.ENDED if error.status_code == 409 else CloseCode.BAD_INVITE
        await _refuse(websocket, code, str(error.detail))
        return
    runtime = await hub.runtime_for(session_id)
    if not hub.registry.admit(runtime, Budget.OPEN):
        # Before replacing the open socket: a storm of new ones must not take turns.
        await _refuse(websocket, CloseCode.FLOODING, "reconnecting too fast: wait a few seconds")
        return
    await websocket.accept()
    socket_id = hub.registry.connect(runtime)
    connections = hub.metrics.connections.labels("candidate")
    connections.inc()
    try:
        async with hub.bus.subscribe(session_topic(session_id)) as subscription:
            hello = wire.hello(
                session_id=session_id,
                state=runtime.state,
                fps=runtime.fps,
                policy=runtime.policy,
                ends_at=runtime.ends_at,
                history=history,
            )
            await websocket.send_json(hello)
            await _both_ways(
                _receive_from_candidate(websocket, hub, runtime),
                _forward_to_candidate(websocket, subscription, socket_id, hub.registry.node_id),
            )
    except WebSocketDisconnect:
        pass
    finally:
        connections.dec()
        hub.registry.disconnect(runtime, socket_id)


async def _forward_to_candidate(
    websocket: WebSocket, subscription: Subscription, socket_id: int, node_id: str
) -> None:
    while True:
        message = await subscription.get()
        if not isinstance(message, dict):
            continue
        if message.get("type") == "_replaced":
            if message.get("socket") == socket_id and message.get("node") == node_id:
                await _close(websocket, CloseCode.REPLACED, "opened in another window")
                return
            continue
        await websocket.send_json(message)
        if message.get("type") == "state" and message.get("state") in {
            state.value for state in FINAL_STATES
        }:
            await _close(websocket, CloseCode.ENDED, f"the exam is {message['state']}")
            return


async def _receive_from_candidate(
    websocket: WebSocket, hub: LiveHub, runtime: SessionRuntime
) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            if message.get("bytes") is not None:
                _media(hub, runtime, message["bytes"])
            elif message.get("text") is not None:
                _text(hub, runtime, message["text"])
        except ProtocolError as error:
            code = getattr(error, "code", CloseCode.BAD_MESSAGE)
            await _close(websocket, code, str(error))
            return


class _Closing(ProtocolError):
    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _media(hub: LiveHub, runtime: SessionRuntime, data: bytes) -> None:
    media = parse_media(data)
    limit = MAX_FRAME_BYTES if media.kind is MediaKind.FRAME else MAX_AUDIO_BYTES
    if len(media.payload) > limit:
        raise _Closing(CloseCode.TOO_LARGE, f"{media.kind.name.lower()} larger than {limit} bytes")
    if media.kind is MediaKind.FRAME:
        _check_frame(hub, runtime, media.payload)
    last = runtime.last_seq.get(media.kind)
    if not hub.registry.accept_seq(runtime, media.kind, media.seq):
        raise ProtocolError(f"sequence went back from {last} to {media.seq}: replayed or reordered")
    if not hub.registry.admit(runtime, Budget.MEDIA):
        raise _Closing(CloseCode.FLOODING, "too many messages: slow down")
    hub.on_media(runtime, media)


def _check_frame(hub: LiveHub, runtime: SessionRuntime, jpeg: bytes) -> None:
    """A frame is a JPEG no larger than the hello's width x height (either way round), read
    from its header: one that declares more is a decompression bomb and is never decoded."""
    policy = runtime.policy
    limit = images.ImageSize(policy.frame_width, policy.frame_height)
    if not jpeg.startswith(images.JPEG_START):
        hub.registry.reject(runtime)
        raise ProtocolError("frames must be JPEG")
    try:
        images.check(jpeg, limit)
    except images.ImageTooLarge as error:
        hub.registry.reject(runtime)
        raise _Closing(CloseCode.TOO_LARGE, f"frame refused: {error}") from None
    except images.ImageRefused as error:
        hub.registry.reject(runtime)
        raise ProtocolError(f"frame refused: {error}") from None


def _text(hub: LiveHub, runtime: SessionRuntime, text: str) -> None:
    # Counted before anything is parsed: a flood costs one subtraction a message.
    if not hub.registry.admit(runtime, Budget.SIGNAL):
        raise _Closing(CloseCode.FLOODING, "too many signals: slow down")
    if len(text) > MAX_TEXT_BYTES:
        raise _Closing(CloseCode.TOO_LARGE, f"text message larger than {MAX_TEXT_BYTES} bytes")
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        raise ProtocolError("text messages must be JSON") from None
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "heartbeat":
        return
    if kind != "signal":
        raise ProtocolError(f"unknown message type {kind!r}")
    try:
        signal = SignalMessage.model_validate(body)
    except ValidationError as error:
        raise ProtocolError(f"bad signal: {error.errors()[0]['msg']}") from None
    hub.on_signal(runtime, signal.name, signal.value)


# --- proctor --------------------------------------------------------------------------------


def _proctor(
    context: AppContext, token: str | None, exam_id: uuid.UUID
) -> tuple[User, users.SignIn, list[CandidateSummary]]:
    with context.session_factory() as db:
        user = users.user_for_session(db=db, token=token) if token else None
        if user is None or token is None:
            raise HTTPException(401, "sign in first")
        if user.role not in (Role.ADMIN, Role.PROCTOR):
            raise HTTPException(403, "this needs the admin or proctor role")
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
                await _close(websocket, CloseCode.SIGNED_OUT, f"You were signed out: {ended}")
                return
            until_expiry = (sign_in.expires_at - utcnow()).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(announcements.get(), max(0.0, min(interval, until_expiry)))


@router.websocket("/ws/proctor/exams/{exam_id}")
async def proctor_socket(websocket: WebSocket, exam_id: uuid.UUID) -> None:
    context = _context(websocket)
    hub = context.hub
    if not same_origin(websocket):
        await _refuse(websocket, CloseCode.FORBIDDEN, "cross-site socket refused")
        return
    try:
        user, sign_in, rows = await asyncio.to_thread(
            _proctor, context, websocket.cookies.get(SESSION_COOKIE), exam_id
        )
    except HTTPException as error:
        code = CloseCode.BAD_INVITE if error.status_code == 401 else CloseCode.FORBIDDEN
        await _refuse(websocket, code, str(error.detail))
        return
    limit = context.settings.staff_sockets_per_user
    if not context.staff_sockets.acquire(user.id, limit):
        reason = f"this account has {limit} live pages open already: close one"
        await _refuse(websocket, CloseCode.TOO_MANY_SOCKETS, reason)
        return
    scope = str(user.id) if user.role is Role.PROCTOR else None
    watch = _Watch(hub.registry.new_watcher())
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
            await websocket.send_json(hub.load_message(exam_id))
            await _both_ways(
                _receive_from_proctor(websocket, context, exam_id, scope, watch),
                _forward_to_proctor(websocket, subscription, scope, watch),
                _guard_sign_in(websocket, context, sign_in),
            )
    except WebSocketDisconnect:
        pass
    finally:
        context.staff_sockets.release(user.id)
        connections.dec()
        hub.registry.watch(watch.watcher, None)


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
) -> None:
    while True:
        message = await subscription.get()
        if not isinstance(message, dict):
            continue
        if not for_proctor(message, scope):
            continue
        outgoing = {k: v for k, v in message.items() if k not in ("proctor_id", "jpeg")}
        # Frames come from whichever node holds the session: matched by its id.
        watched = watch.session_id is not None and message.get("session_id") == str(
            watch.session_id
        )
        if message["type"] == "frame" and not watched:
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
    exam_id: uuid.UUID,
    scope: str | None,
    watch: _Watch,
) -> None:
    budget = TokenBucket(WATCH_BURST)
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if not budget.take(time.monotonic(), WATCHES_PER_S):
            await _close(websocket, CloseCode.FLOODING, "too many messages: slow down")
            return
        text = message.get("text")
        if text is None:  # the wall sends JSON text only: bytes are ignored like other junk
            continue
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            continue
        if not isinstance(body, dict) or body.get("type") != "watch":
            continue
        wanted = _uuid(body.get("session_id"))
        # Asked when watching starts, not at connect: assignments change during an exam.
        allowed = wanted is not None and await asyncio.to_thread(
            _may_watch, context, exam_id, scope, wanted
        )
        watch.session_id = wanted if allowed else None
        context.hub.registry.watch(watch.watcher, watch.session_id)


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
