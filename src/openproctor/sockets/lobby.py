"""The candidate's lobby socket: while they wait for a proctor, the page hears the admission
decision at once (admitted, rejected, asked to retry). Nothing comes in; a page that was
decided about while it reconnected reads the decision from the first message."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from openproctor.access import invited_candidate
from openproctor.bus.local import session_topic
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.domains.checkin.models import Admission, CheckIn
from openproctor.domains.sessions import service as sessions
from openproctor.live.protocol import CloseCode
from openproctor.sockets.shared import both_ways, close, context_of, refuse, same_origin

router = APIRouter()


def _waiting_session(context: AppContext, token: str) -> tuple[uuid.UUID, dict[str, object]]:
    """The session and its admission now, as the first message tells it."""
    with context.session_factory() as db:
        candidate, _ = invited_candidate(db=db, token=token, now=utcnow())
        session = sessions.current_for_candidate(db=db, candidate=candidate)
        db.commit()
        checkin = CheckIn.of(session.checkin).for_candidate()
        now = {"type": "admission", **checkin.model_dump(mode="json"), "state": session.state}
        return session.id, now


@router.websocket("/ws/take/{token}/lobby")
async def lobby_socket(websocket: WebSocket, token: str) -> None:
    context = context_of(websocket)
    if not same_origin(websocket):
        await refuse(websocket, CloseCode.FORBIDDEN, "cross-site socket refused")
        return
    try:
        session_id, _ = await asyncio.to_thread(_waiting_session, context, token)
    except HTTPException as error:
        await refuse(websocket, CloseCode.BAD_INVITE, str(error.detail))
        return
    await websocket.accept()
    try:
        async with context.hub.bus.subscribe(session_topic(session_id)) as subscription:
            # Read again once subscribed: a decision taken in between is not missed.
            _, now = await asyncio.to_thread(_waiting_session, context, token)
            await websocket.send_json(now)
            if now["admission"] != Admission.WAITING:
                await close(websocket, CloseCode.ENDED, "not waiting in the lobby")
                return

            async def forward() -> None:
                while True:
                    message = await subscription.get()
                    if isinstance(message, dict) and message.get("type") == "admission":
                        await websocket.send_json(message)
                        if message.get("admission") != Admission.WAITING:
                            await close(websocket, CloseCode.ENDED, "decided")
                            return

            await both_ways(_drain(websocket), forward())
    except WebSocketDisconnect:
        pass


async def _drain(websocket: WebSocket) -> None:
    """Waits for the page to go; the page sends nothing, so anything it sends closes it."""
    message = await websocket.receive()
    if message["type"] != "websocket.disconnect":
        await close(websocket, CloseCode.BAD_MESSAGE, "the lobby socket only listens")
