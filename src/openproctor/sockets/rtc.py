"""WebRTC signalling on the two live sockets: live/signalling.py decides what may pass, this
relays it over the bus (so viewer and candidate may be on different web nodes) and answers
refusals. Media never passes here: it goes browser to browser, or through TURN."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import WebSocket

from openproctor.bus.local import exam_topic, session_topic
from openproctor.context import AppContext
from openproctor.domains.audit.service import Auditor
from openproctor.domains.users.models import User
from openproctor.live import rtc_messages
from openproctor.live.ice import ice_servers
from openproctor.live.runtime import SessionRuntime
from openproctor.live.signalling import (
    Answer,
    Join,
    Leave,
    Offer,
    Publisher,
    Quality,
    RtcRefused,
    StaffIce,
    Subscriber,
    Talk,
    parse_candidate,
    parse_staff,
)
from openproctor.sockets.shared import as_uuid

RTC_TYPES = frozenset({"rtc", "rtc_refused"})


async def send_ice_config(websocket: WebSocket, context: AppContext, label: str) -> None:
    """The page's ICE servers now, and fresh TURN credentials at half their lifetime."""
    settings = context.settings
    while True:
        servers = ice_servers(settings, label, time.time())
        await websocket.send_json(
            rtc_messages.rtc_config(servers, relay_only=settings.ice_relay_only)
        )
        await asyncio.sleep(settings.turn_ttl_seconds / 2)


# --- candidate ------------------------------------------------------------------------------


def from_candidate(
    context: AppContext, runtime: SessionRuntime, publisher: Publisher, body: dict[str, Any]
) -> rtc_messages.RtcRefused | None:
    """Relays the candidate page's offer or ICE candidate to the viewer it names; returns the
    refusal to send back when it may not."""
    try:
        message = parse_candidate(body)
        publisher.check_outgoing(message)
    except RtcRefused as error:
        viewer = body.get("viewer")
        return rtc_messages.rtc_refused(
            runtime.session_id, viewer if isinstance(viewer, str) else None, str(error)
        )
    topic = exam_topic(runtime.exam_id)
    if isinstance(message, Offer):
        relayed = rtc_messages.rtc_sdp("offer", runtime.session_id, message.viewer, message.sdp)
    else:
        candidate = message.candidate.model_dump() if message.candidate else None
        relayed = rtc_messages.rtc_ice(runtime.session_id, message.viewer, candidate)
    context.hub.bus.publish(topic, relayed)
    return None


def to_candidate(
    context: AppContext, runtime: SessionRuntime, publisher: Publisher, message: dict[str, Any]
) -> list[Mapping[str, Any]]:
    """What of a staff page's signalling (from the session's topic) reaches the candidate's
    page: joins within the budget (a refused one is answered to its viewer, wherever it is)
    and the rest only from viewers it admitted. Before a join, viewers whose staff node has
    stopped saying it is alive (killed: their pages' leave never came) are left, freeing
    their places."""
    viewer = str(message.get("viewer"))
    action = message.get("action")
    if action == "join":
        registry = context.hub.registry
        registry.heard_from(viewer)
        lapsed = publisher.drop_lapsed(registry.node_alive)
        left: list[Mapping[str, Any]] = [
            rtc_messages.rtc_leave(runtime.session_id, gone) for gone in lapsed
        ]
        try:
            publisher.join(viewer, Quality(message["quality"]))
        except RtcRefused as error:
            refusal = rtc_messages.rtc_refused(runtime.session_id, viewer, str(error))
            context.hub.bus.publish(exam_topic(runtime.exam_id), refusal)
            return left
        return [*left, message]
    if action == "leave":
        return [message] if publisher.leave(viewer) else []
    return [message] if viewer in publisher.viewers else []


# --- staff ----------------------------------------------------------------------------------


def for_viewer(message: dict[str, Any], viewer: str, subscriber: Subscriber) -> bool:
    """Whether a signalling message on the exam's topic is for this staff socket: addressed
    to it, or (a candidate's page back on line) about a session it joined."""
    if message.get("viewer") is not None:
        return bool(message["viewer"] == viewer)
    session_id = as_uuid(message.get("session_id"))
    return session_id is not None and session_id in subscriber.joined


def _audit_talk(
    context: AppContext, user: User, client_ip: str, session_id: uuid.UUID, seconds: float
) -> None:
    started = datetime.fromtimestamp(time.time() - seconds, UTC)
    with context.session_factory() as db:
        audit = Auditor(db=db, actor=user, client_ip=client_ip)
        audit(
            "session.talk",
            "session",
            session_id,
            started_at=started.isoformat(),
            seconds=round(seconds, 1),
        )
        db.commit()


class StaffSignalling:
    """One staff socket's side of signalling: its viewer id, the sessions it joined, and who
    is signed in (for the talk-back audit)."""

    def __init__(
        self,
        context: AppContext,
        viewer: str,
        user: User,
        client_ip: str,
        may_watch: Callable[[uuid.UUID], Awaitable[bool]],
    ) -> None:
        self.context = context
        self.viewer = viewer
        self.user = user
        self.client_ip = client_ip
        self.may_watch = may_watch
        self.subscriber = Subscriber()

    async def receive(self, websocket: WebSocket, body: dict[str, Any]) -> None:
        """Relays one message of the staff page, or answers why it may not pass."""
        try:
            message = parse_staff(body)
            if isinstance(message, Join):
                # Asked at each join, not at connect: assignments change during an exam.
                if not await self.may_watch(message.session_id):
                    raise RtcRefused("not a candidate of yours in this exam")
                self.subscriber.join(message.session_id)
            else:
                self.subscriber.check_outgoing(message)
        except RtcRefused as error:
            session_id = as_uuid(body.get("session_id"))
            await websocket.send_json(rtc_messages.rtc_refused(session_id, None, str(error)))
            return
        session_id = message.session_id
        relayed: rtc_messages.RtcSignal
        talked: float | None = None
        if isinstance(message, Join):
            relayed = rtc_messages.rtc_join(session_id, self.viewer, message.quality.value)
        elif isinstance(message, Answer):
            relayed = rtc_messages.rtc_sdp("answer", session_id, self.viewer, message.sdp)
        elif isinstance(message, StaffIce):
            candidate = message.candidate.model_dump() if message.candidate else None
            relayed = rtc_messages.rtc_ice(session_id, self.viewer, candidate)
        elif isinstance(message, Leave):
            talked = self.subscriber.leave(session_id, time.time())
            relayed = rtc_messages.rtc_leave(session_id, self.viewer)
        else:
            assert isinstance(message, Talk)
            talked = self.subscriber.talk(session_id, message.on, time.time())
            relayed = rtc_messages.rtc_talk(session_id, self.viewer, message.on)
        self.context.hub.bus.publish(session_topic(session_id), relayed)
        if talked is not None:
            await self._audit(session_id, talked)

    async def leave_all(self) -> None:
        """The socket closed: its viewers free their places, a talk going on ends."""
        for session_id in list(self.subscriber.joined):
            talked = self.subscriber.leave(session_id, time.time())
            self.context.hub.bus.publish(
                session_topic(session_id), rtc_messages.rtc_leave(session_id, self.viewer)
            )
            if talked is not None:
                await self._audit(session_id, talked)

    async def _audit(self, session_id: uuid.UUID, seconds: float) -> None:
        await asyncio.to_thread(
            _audit_talk, self.context, self.user, self.client_ip, session_id, seconds
        )
