"""The WebRTC signalling messages, both ways (live/signalling.py decides what may pass; the
live sockets relay them over the bus). Each has one TypedDict and one builder, like the other
live messages in live/messages.py."""

from __future__ import annotations

import uuid
from typing import Any, Literal, NotRequired, TypedDict

from openproctor.live.ice import IceServer


class RtcConfig(TypedDict):
    """The ICE servers for the page's peer connections, TURN credentials included."""

    type: Literal["rtc_config"]
    ice_servers: list[IceServer]
    ice_transport_policy: Literal["all", "relay"]


class RtcSignal(TypedDict):
    """A signalling step relayed between the candidate's page and one viewer (`viewer`, stamped
    by the server): join, answer, ice, leave, talk reach the candidate; offer, ice the viewer;
    ready (no viewer) tells every viewer of the session to join again (the page reconnected)."""

    type: Literal["rtc"]
    action: Literal["join", "offer", "answer", "ice", "leave", "talk", "ready"]
    session_id: str
    viewer: str | None
    quality: NotRequired[str]
    sdp: NotRequired[str]
    candidate: NotRequired[dict[str, Any] | None]
    on: NotRequired[bool]


class RtcRefused(TypedDict):
    """A signalling message refused, with why; to its sender only."""

    type: Literal["rtc_refused"]
    session_id: str | None
    viewer: str | None
    reason: str


def rtc_config(ice_servers: list[IceServer], *, relay_only: bool) -> RtcConfig:
    return {
        "type": "rtc_config",
        "ice_servers": ice_servers,
        "ice_transport_policy": "relay" if relay_only else "all",
    }


def rtc_join(session_id: uuid.UUID, viewer: str, quality: str) -> RtcSignal:
    return {
        "type": "rtc",
        "action": "join",
        "session_id": str(session_id),
        "viewer": viewer,
        "quality": quality,
    }


def rtc_sdp(
    action: Literal["offer", "answer"], session_id: uuid.UUID, viewer: str, sdp: str
) -> RtcSignal:
    return {
        "type": "rtc",
        "action": action,
        "session_id": str(session_id),
        "viewer": viewer,
        "sdp": sdp,
    }


def rtc_ice(session_id: uuid.UUID, viewer: str, candidate: dict[str, Any] | None) -> RtcSignal:
    return {
        "type": "rtc",
        "action": "ice",
        "session_id": str(session_id),
        "viewer": viewer,
        "candidate": candidate,
    }


def rtc_leave(session_id: uuid.UUID, viewer: str) -> RtcSignal:
    return {"type": "rtc", "action": "leave", "session_id": str(session_id), "viewer": viewer}


def rtc_talk(session_id: uuid.UUID, viewer: str, on: bool) -> RtcSignal:
    return {
        "type": "rtc",
        "action": "talk",
        "session_id": str(session_id),
        "viewer": viewer,
        "on": on,
    }


def rtc_ready(session_id: uuid.UUID) -> RtcSignal:
    return {"type": "rtc", "action": "ready", "session_id": str(session_id), "viewer": None}


def rtc_refused(session_id: uuid.UUID | None, viewer: str | None, reason: str) -> RtcRefused:
    return {
        "type": "rtc_refused",
        "session_id": str(session_id) if session_id else None,
        "viewer": viewer,
        "reason": reason,
    }
