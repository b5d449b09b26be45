"""WebRTC signalling between a candidate's page (the publisher) and the staff pages watching it:
what each side may send, whom it reaches, and the limits. Pure: the sockets (sockets/rtc.py)
keep one Publisher (candidate socket) or Subscriber (staff socket) each and do the sending.

The flow (wire format in live/protocol.py): a staff page joins a session; the server stamps the
join with that socket's viewer id and publishes it on the session's topic; the candidate's
socket, where every join of the session arrives, admits it within the viewer budget or refuses
it; the candidate's page offers, the staff page answers, both send ICE candidates. Candidates
address only viewers that joined them, staff only sessions they joined. Ids and senders are
stamped by the server, never read from the client.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from openproctor.live.limits import TokenBucket

# An offer with camera, microphone and screen (simulcast included) is 6-12 KiB in Chromium.
MAX_SDP_BYTES = 32 * 1024
# A text message carrying an SDP may be this long; others keep the sockets' 4 KiB limit.
MAX_RTC_TEXT_BYTES = MAX_SDP_BYTES + 1024
# ICE candidates per connection: Chromium gathers a few per network interface and transport
# (host, reflexive, relay), all within the first seconds; a flood is dropped past this.
ICE_BURST = 40.0
ICE_PER_S = 5.0


class Quality(StrEnum):
    """What one viewer receives (take/live.js ENCODINGS sets each connection to it)."""

    TILE = "tile"  # low rate and resolution with low-rate audio (metered, not played), the wall
    LISTEN = "listen"  # a tile whose proctor listens: the same picture with full audio
    FULL = "full"  # full rate and audio with the screen, for the detail view


# What a viewer costs the candidate's uplink, in tiles (settings.live_viewer_budget); full
# audio adds about 20 kbit/s to a tile's 80, within its place.
QUALITY_COST = {Quality.TILE: 1, Quality.LISTEN: 1, Quality.FULL: 4}


class RtcRefused(ValueError):
    """A signalling message that is refused: the text is the reason sent back."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["rtc"]


class IceCandidate(BaseModel):
    """RTCIceCandidateInit, as the browser's toJSON() writes it."""

    model_config = ConfigDict(extra="forbid")

    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(default=None, max_length=64)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)
    usernameFragment: str | None = Field(default=None, max_length=256)


class Join(_Message):
    action: Literal["join"]
    session_id: uuid.UUID
    quality: Quality


class Answer(_Message):
    action: Literal["answer"]
    session_id: uuid.UUID
    sdp: str


class StaffIce(_Message):
    action: Literal["ice"]
    session_id: uuid.UUID
    candidate: IceCandidate | None  # None: no more candidates


class Leave(_Message):
    action: Literal["leave"]
    session_id: uuid.UUID


class Talk(_Message):
    """Push-to-talk started (on) or stopped: the candidate's page says the proctor speaks."""

    action: Literal["talk"]
    session_id: uuid.UUID
    on: bool


class Offer(_Message):
    action: Literal["offer"]
    viewer: str = Field(max_length=64)
    sdp: str


class CandidateIce(_Message):
    action: Literal["ice"]
    viewer: str = Field(max_length=64)
    candidate: IceCandidate | None


StaffMessage = Annotated[Join | Answer | StaffIce | Leave | Talk, Field(discriminator="action")]
CandidateMessage = Annotated[Offer | CandidateIce, Field(discriminator="action")]
_STAFF: TypeAdapter[StaffMessage] = TypeAdapter(StaffMessage)
_CANDIDATE: TypeAdapter[CandidateMessage] = TypeAdapter(CandidateMessage)
STAFF_ACTIONS = frozenset({"join", "answer", "ice", "leave", "talk"})
CANDIDATE_ACTIONS = frozenset({"offer", "ice"})


def _check_sdp(sdp: str) -> None:
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise RtcRefused(f"SDP larger than {MAX_SDP_BYTES} bytes")
    if not sdp.startswith("v=0"):
        raise RtcRefused("SDP must start with v=0")


def _reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return (
        f"bad rtc message: {where}: {first['msg']}" if where else f"bad rtc message: {first['msg']}"
    )


def parse_staff(body: dict[str, Any]) -> StaffMessage:
    """A staff page's signalling message; RtcRefused says what is wrong with it."""
    action = body.get("action")
    if action == "offer":
        raise RtcRefused("staff pages answer: only the candidate's page offers")
    if action not in STAFF_ACTIONS:
        raise RtcRefused(f"unknown rtc action {action!r}")
    try:
        message = _STAFF.validate_python(body)
    except ValidationError as error:
        raise RtcRefused(_reason(error)) from None
    if isinstance(message, Answer):
        _check_sdp(message.sdp)
    return message


def parse_candidate(body: dict[str, Any]) -> CandidateMessage:
    """A candidate page's signalling message; RtcRefused says what is wrong with it."""
    action = body.get("action")
    if action in ("join", "answer"):
        raise RtcRefused("a candidate's page only sends its own media: it cannot watch anyone")
    if action not in CANDIDATE_ACTIONS:
        raise RtcRefused(f"unknown rtc action {action!r}")
    try:
        message = _CANDIDATE.validate_python(body)
    except ValidationError as error:
        raise RtcRefused(_reason(error)) from None
    if isinstance(message, Offer):
        _check_sdp(message.sdp)
    return message


def _ice_bucket() -> TokenBucket:
    return TokenBucket(ICE_BURST)


@dataclass(slots=True)
class _Viewer:
    quality: Quality
    ice: TokenBucket = field(default_factory=_ice_bucket)


@dataclass(slots=True)
class Publisher:
    """One candidate socket's viewers: who joined, at what quality, within the budget."""

    budget: int
    viewers: dict[str, _Viewer] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return sum(QUALITY_COST[viewer.quality] for viewer in self.viewers.values())

    def join(self, viewer: str, quality: Quality) -> None:
        """Admits the viewer (again, maybe at another quality) or refuses it over the budget."""
        current = self.viewers.get(viewer)
        freed = QUALITY_COST[current.quality] if current else 0
        if self.used - freed + QUALITY_COST[quality] > self.budget:
            raise RtcRefused(
                f"this candidate already sends live video to {len(self.viewers)} viewers "
                f"(budget {self.budget} tiles, a close view costs {QUALITY_COST[Quality.FULL]})"
            )
        if current:
            current.quality = quality
        else:
            self.viewers[viewer] = _Viewer(quality)

    def leave(self, viewer: str) -> bool:
        return self.viewers.pop(viewer, None) is not None

    def drop_lapsed(self, alive: Callable[[str], bool]) -> list[str]:
        """Forgets the viewers `alive` says are gone (their staff node stopped without a
        leave), so their places are free; returns them."""
        lapsed = [viewer for viewer in self.viewers if not alive(viewer)]
        for viewer in lapsed:
            del self.viewers[viewer]
        return lapsed

    def check_outgoing(self, message: CandidateMessage, now: float | None = None) -> None:
        """The candidate may address a viewer that joined it, and send it few ICE candidates."""
        viewer = self.viewers.get(message.viewer)
        if viewer is None:
            raise RtcRefused("no such viewer: it left or never joined this candidate")
        if isinstance(message, CandidateIce) and not viewer.ice.take(
            time.monotonic() if now is None else now, ICE_PER_S
        ):
            raise RtcRefused("too many ICE candidates: slow down")


@dataclass(slots=True)
class _Joined:
    ice: TokenBucket = field(default_factory=_ice_bucket)
    talking_since: float | None = None


@dataclass(slots=True)
class Subscriber:
    """One staff socket's sessions: the ones it joined (after a scope check) and talks to."""

    joined: dict[uuid.UUID, _Joined] = field(default_factory=dict)

    def join(self, session_id: uuid.UUID) -> None:
        self.joined.setdefault(session_id, _Joined())

    def check_outgoing(self, message: StaffMessage, now: float | None = None) -> None:
        """Answers, ICE and talk go only to a session this socket joined, at a bounded rate."""
        joined = self.joined.get(message.session_id)
        if joined is None:
            raise RtcRefused("join this session before signalling to it")
        if isinstance(message, StaffIce) and not joined.ice.take(
            time.monotonic() if now is None else now, ICE_PER_S
        ):
            raise RtcRefused("too many ICE candidates: slow down")

    def talk(self, session_id: uuid.UUID, on: bool, now: float) -> float | None:
        """Starts or stops talking; the seconds talked when a talk ends, else None."""
        joined = self.joined[session_id]
        started = joined.talking_since
        if on:
            if started is None:  # a repeated "on" keeps the first start
                joined.talking_since = now
            return None
        joined.talking_since = None
        return None if started is None else now - started

    def leave(self, session_id: uuid.UUID, now: float) -> float | None:
        """Forgets the session; the seconds of a talk it cut short, if one was going on."""
        joined = self.joined.pop(session_id, None)
        if joined is None or joined.talking_since is None:
            return None
        return now - joined.talking_since
