"""The candidate's live socket: frames, audio and browser signals in; the proctor's messages
and state changes out (live/protocol.py)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openproctor.access import invited_candidate
from openproctor.bus.local import Subscription, exam_topic, session_topic
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.domains.messages import service as messages
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import FINAL_STATES, IN_ROOM_STATES
from openproctor.live import messages as wire
from openproctor.live import rtc_messages
from openproctor.live.hub import LiveHub
from openproctor.live.protocol import (
    GOING_AWAY,
    CloseCode,
    MediaKind,
    ProtocolError,
    Signal,
    parse_media,
)
from openproctor.live.registry import Budget
from openproctor.live.runtime import SessionRuntime
from openproctor.live.signalling import MAX_RTC_TEXT_BYTES, Publisher
from openproctor.pipeline import images
from openproctor.sockets import rtc
from openproctor.sockets.shared import Closing, both_ways, close, context_of, refuse, same_origin

router = APIRouter()

MAX_FRAME_BYTES = 1024 * 1024
MAX_AUDIO_BYTES = 128 * 1024
MAX_TEXT_BYTES = 4096


class SignalMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern="^signal$")
    name: Signal
    ts: float | None = None
    value: int | str | bool | None = None


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
    context = context_of(websocket)
    hub = context.hub
    if not same_origin(websocket):
        await refuse(websocket, CloseCode.FORBIDDEN, "cross-site socket refused")
        return
    try:
        session_id, history = await asyncio.to_thread(_candidate_session, context, token)
    except HTTPException as error:
        code = CloseCode.ENDED if error.status_code == 409 else CloseCode.BAD_INVITE
        await refuse(websocket, code, str(error.detail))
        return
    runtime = await hub.runtime_for(session_id)
    if not hub.registry.admit(runtime, Budget.OPEN):
        # Before replacing the open socket: a storm of new ones must not take turns.
        await refuse(websocket, CloseCode.FLOODING, "reconnecting too fast: wait a few seconds")
        return
    await websocket.accept()
    socket_id = hub.registry.connect(runtime)
    connections = hub.metrics.connections.labels("candidate")
    connections.inc()
    page_closed = False
    try:
        async with hub.bus.subscribe(session_topic(session_id)) as subscription:
            hello = wire.hello(
                session_id=session_id,
                state=runtime.state,
                fps=runtime.fps,
                policy=runtime.policy,
                clock=runtime.clock,
                history=history,
                prompts=[wire.prompt(shown) for shown in runtime.prompts.current(time.time())],
            )
            await websocket.send_json(hello)
            # Viewers joined to the page this one replaces join again (live/signalling.py).
            publisher = Publisher(context.settings.live_viewer_budget)
            hub.bus.publish(exam_topic(runtime.exam_id), rtc_messages.rtc_ready(session_id))
            page_closed = await both_ways(
                _receive_from_candidate(websocket, context, runtime, publisher),
                _forward_to_candidate(
                    websocket, subscription, socket_id, context, runtime, publisher
                ),
                rtc.send_ice_config(websocket, context, f"session-{session_id}"),
            )
    except WebSocketDisconnect:
        pass
    finally:
        connections.dec()
        hub.registry.disconnect(runtime, socket_id, page_closed=page_closed)


async def _forward_to_candidate(
    websocket: WebSocket,
    subscription: Subscription,
    socket_id: int,
    context: AppContext,
    runtime: SessionRuntime,
    publisher: Publisher,
) -> None:
    node_id = context.hub.registry.node_id
    while True:
        message = await subscription.get()
        if not isinstance(message, dict):
            continue
        if message.get("type") == "_replaced":
            if message.get("socket") == socket_id and message.get("node") == node_id:
                await close(websocket, CloseCode.REPLACED, "opened in another window")
                return
            continue
        if message.get("type") == "rtc":
            for relayed in rtc.to_candidate(context, runtime, publisher, message):
                await websocket.send_json(relayed)
            continue
        await websocket.send_json(message)
        if message.get("type") == "state" and message.get("state") in {
            state.value for state in FINAL_STATES
        }:
            await close(websocket, CloseCode.ENDED, f"the exam is {message['state']}")
            return


async def _receive_from_candidate(
    websocket: WebSocket, context: AppContext, runtime: SessionRuntime, publisher: Publisher
) -> bool:
    """Reads until the socket closes; True when the page closed it going away (a reload, a
    closed tab, a navigation), False when the network or the server did."""
    hub = context.hub
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return message.get("code") == GOING_AWAY
        try:
            if message.get("bytes") is not None:
                _media(hub, runtime, message["bytes"])
            elif message.get("text") is not None:
                refusal = _text(context, runtime, publisher, message["text"])
                if refusal is not None:
                    await websocket.send_json(refusal)
        except ProtocolError as error:
            code = getattr(error, "code", CloseCode.BAD_MESSAGE)
            await close(websocket, code, str(error))
            return False


def _media(hub: LiveHub, runtime: SessionRuntime, data: bytes) -> None:
    media = parse_media(data)
    limit = MAX_FRAME_BYTES if media.kind is MediaKind.FRAME else MAX_AUDIO_BYTES
    if len(media.payload) > limit:
        raise Closing(CloseCode.TOO_LARGE, f"{media.kind.name.lower()} larger than {limit} bytes")
    if media.kind is MediaKind.FRAME:
        _check_frame(hub, runtime, media.payload)
    last = runtime.last_seq.get(media.kind)
    if not hub.registry.accept_seq(runtime, media.kind, media.seq):
        raise ProtocolError(f"sequence went back from {last} to {media.seq}: replayed or reordered")
    if not hub.registry.admit(runtime, Budget.MEDIA):
        raise Closing(CloseCode.FLOODING, "too many messages: slow down")
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
        raise Closing(CloseCode.TOO_LARGE, f"frame refused: {error}") from None
    except images.ImageRefused as error:
        hub.registry.reject(runtime)
        raise ProtocolError(f"frame refused: {error}") from None


def _text(
    context: AppContext, runtime: SessionRuntime, publisher: Publisher, text: str
) -> rtc_messages.RtcRefused | None:
    """Handles one text message; a refused signalling step comes back to be answered."""
    hub = context.hub
    # Counted before anything is parsed: a flood costs one subtraction a message.
    if not hub.registry.admit(runtime, Budget.SIGNAL):
        raise Closing(CloseCode.FLOODING, "too many signals: slow down")
    if len(text) > MAX_RTC_TEXT_BYTES:
        raise Closing(CloseCode.TOO_LARGE, f"text message larger than {MAX_RTC_TEXT_BYTES} bytes")
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        raise ProtocolError("text messages must be JSON") from None
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "rtc":  # the only kind that carries an SDP, so the only one this long
        return rtc.from_candidate(context, runtime, publisher, body)
    if len(text) > MAX_TEXT_BYTES:
        raise Closing(CloseCode.TOO_LARGE, f"text message larger than {MAX_TEXT_BYTES} bytes")
    if kind == "heartbeat":
        return None
    if kind != "signal":
        raise ProtocolError(f"unknown message type {kind!r}")
    try:
        signal = SignalMessage.model_validate(body)
    except ValidationError as error:
        raise ProtocolError(f"bad signal: {error.errors()[0]['msg']}") from None
    hub.on_signal(runtime, signal.name, signal.value)
    return None
