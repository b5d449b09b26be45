"""What both live sockets share: the Origin check, closing with a reason, running the reader
beside the forwarders."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketDisconnect

from openproctor.context import AppContext
from openproctor.live.protocol import CloseCode, ProtocolError

T = TypeVar("T")


def context_of(websocket: WebSocket) -> AppContext:
    context: AppContext = websocket.app.state.context
    return context


def same_origin(websocket: WebSocket) -> bool:
    """Browsers send Origin on WebSockets; one from another site must not ride our cookies."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient cookies to abuse
    host = websocket.headers.get("host", "")
    public = urlsplit(context_of(websocket).settings.public_url).netloc
    return urlsplit(origin).netloc in {host, public}


async def close(websocket: WebSocket, code: CloseCode, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=int(code), reason=reason[:120])


async def both_ways(receive: Coroutine[Any, Any, T], *alongside: Coroutine[Any, Any, None]) -> T:
    """Reads from the socket while the others run (forwarding bus messages, guarding the
    sign-in); ends when reading ends, which it does once one of them closes the socket, with
    what reading returned."""
    tasks = [asyncio.create_task(coroutine) for coroutine in alongside]
    try:
        return await receive
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            # What Starlette raises for a send racing a close made by another task.
            with contextlib.suppress(asyncio.CancelledError, RuntimeError, WebSocketDisconnect):
                await task


async def refuse(websocket: WebSocket, code: CloseCode, reason: str) -> None:
    """Accepts only to close with a code and reason: a refused handshake would be a bare 403
    that the browser's page cannot explain to the candidate."""
    await websocket.accept()
    await close(websocket, code, reason)


class Closing(ProtocolError):
    """A protocol error that closes with its own code rather than 4400."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def as_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
