"""Every message the server sends on the live sockets: one typed definition and one builder
each (the wire format and close codes are in live/protocol.py).

Wall messages travel on the exam's topic with the proctor whose candidate they are about
(`proctor_id`, None for none); the proctor socket drops that field, and the JPEG of a frame or
thumbnail, which follows as one binary message.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from openproctor.detectors.detections import Detections
from openproctor.domains.exams.policy import KIND_LABELS, ExamPolicy
from openproctor.domains.messages.models import Conversation, Message
from openproctor.domains.notes.models import NoteRead
from openproctor.domains.sessions.clock import Clock
from openproctor.domains.sessions.models import FINAL_STATES, SessionState
from openproctor.domains.violations.models import ViolationRead
from openproctor.live.runtime import CandidateSummary
from openproctor.live.tile import ANALYSIS_LABELS, STAGE_LABELS
from openproctor.pipeline.jobs import FaceLook, FrameOutcome
from openproctor.rules.attention import Attention
from openproctor.rules.conditions import SPEECH_RMS_FLOOR
from openproctor.rules.engine import QUIET_S
from openproctor.rules.prompts import PromptChange

# The page keeps sending audio this long after its last chunk above the floor: the rules
# need a quiet observation QUIET_S after speech to close a speech violation.
SPEECH_HANGOVER_S = QUIET_S + 0.5

ViolationChange = Literal["opened", "evidence", "closed", "handled"]
# The words the pages need to read these messages, rendered into every page (base.html) so
# that no script keeps its own copy: each kind's label, the states a session ends in, and
# the tile's stages and analysis statuses (live/tile.py).
VOCABULARY: dict[str, Any] = {
    "kinds": {kind.value: label for kind, label in KIND_LABELS.items()},
    "final_states": sorted(state.value for state in FINAL_STATES),
    "stages": {stage.value: label for stage, label in STAGE_LABELS.items()},
    "analysis": {status.value: label for status, label in ANALYSIS_LABELS.items()},
}


class LiveViolation(ViolationRead):
    """VIOLATION: the violation as the REST API reads it, with who it is about and, for
    measuring frame -> alert latency, the browser's capture time of the frame that opened it."""

    candidate_name: str
    frame_ts_ms: float | None = None


# --- to the candidate -----------------------------------------------------------------------


class Hello(TypedDict):
    type: Literal["hello"]
    session_id: str
    state: str
    fps: float
    width: int
    height: int
    clock: dict[str, Any] | None
    messages: list[MessageOut]
    prompts: list[Prompt]
    speech_rms_floor: float
    speech_hangover_s: float


class MessageOut(TypedDict):
    """A message written between the candidate and the proctors (either way)."""

    type: Literal["message"]
    id: str
    sender: str
    kind: str
    body: str
    at: str
    cleared: bool


class Prompt(TypedDict):
    """A self-correction prompt appears (shown) or goes away (rules/prompts.py)."""

    type: Literal["prompt"]
    kind: str
    text: str
    shown: bool


class Rate(TypedDict):
    type: Literal["rate"]
    fps: float


class State(TypedDict):
    type: Literal["state"]
    state: str
    reason: str | None
    score: float | None
    clock: dict[str, Any] | None


class Replaced(TypedDict):
    """Not sent: tells the socket `socket` of node `node` that a newer one took over."""

    type: Literal["_replaced"]
    socket: int
    node: str


def hello(
    *,
    session_id: uuid.UUID,
    state: SessionState,
    fps: float,
    policy: ExamPolicy,
    clock: Clock | None,
    history: list[MessageOut],
    prompts: list[Prompt],
) -> Hello:
    return {
        "type": "hello",
        "session_id": str(session_id),
        "state": state.value,
        "fps": fps,
        "width": policy.frame_width,
        "height": policy.frame_height,
        "clock": clock_now(clock),
        "messages": history,
        "prompts": prompts,
        "speech_rms_floor": SPEECH_RMS_FLOOR,
        "speech_hangover_s": SPEECH_HANGOVER_S,
    }


def message(message: Message) -> MessageOut:
    return {
        "type": "message",
        "id": str(message.id),
        "sender": message.sender.value,
        "kind": message.kind.value,
        "body": message.body,
        "at": message.created_at.isoformat(),
        "cleared": message.read_at is not None,
    }


def prompt(change: PromptChange) -> Prompt:
    return {"type": "prompt", "kind": change.kind.value, "text": change.text, "shown": change.shown}


def rate(fps: float) -> Rate:
    return {"type": "rate", "fps": fps}


def clock_now(clock: Clock | None) -> dict[str, Any] | None:
    """CLOCK: the attempt's clock read now, as the page counts it down (ClockRead)."""
    return clock.read(datetime.now(UTC)).model_dump(mode="json") if clock else None


def state(
    state: SessionState, reason: str | None, score: float | None, clock: Clock | None
) -> State:
    return {
        "type": "state",
        "state": state.value,
        "reason": reason,
        "score": score,
        "clock": clock_now(clock),
    }


def replaced(socket_id: int, node_id: str) -> Replaced:
    return {"type": "_replaced", "socket": socket_id, "node": node_id}


# --- to the proctor wall --------------------------------------------------------------------


class Snapshot(TypedDict):
    type: Literal["snapshot"]
    candidates: list[dict[str, Any]]


class CandidateChanged(TypedDict):
    type: Literal["candidate"]
    candidate: dict[str, Any]
    proctor_id: str | None


class ViolationChanged(TypedDict):
    type: Literal["violation"]
    event: ViolationChange
    violation: dict[str, Any]
    proctor_id: str | None


class Picture(TypedDict):
    """A thumbnail (every candidate) or a full frame (the watched one); then the JPEG. A frame
    says when it was captured (ts_ms), so the overlay draws that frame's analysis on it."""

    type: Literal["thumbnail", "frame"]
    session_id: str
    proctor_id: str | None
    ts_ms: float | None
    jpeg: bytes


class LookJson(TypedDict):
    yaw: float
    pitch: float
    gaze_x: float
    gaze_y: float
    eyes_open: bool


class FaceJson(TypedDict):
    box: list[float]
    look: LookJson | None


class ObjectJson(TypedDict):
    label: str
    score: float
    box: list[float]


class Analysis(TypedDict):
    """What one analysed frame of the watched candidate showed, for the detail view's overlay
    (sent, like "frame", only to the socket watching that candidate)."""

    type: Literal["analysis"]
    session_id: str
    proctor_id: str | None
    ts_ms: float
    width: int
    height: int
    faces: list[FaceJson]
    objects: list[ObjectJson]
    objects_ts_ms: float | None
    flags: list[str]
    attention: dict[str, Any] | None


# Wall messages only the socket watching that candidate closely gets.
WATCHED_ONLY = frozenset({"frame", "analysis"})


class Assigned(TypedDict):
    type: Literal["assigned"]
    candidate: dict[str, Any]
    proctor_id: str | None


class Unassigned(TypedDict):
    type: Literal["unassigned"]
    candidate_id: str
    proctor_id: str | None


class ConversationChanged(TypedDict):
    """A message between the candidate and the proctors was written (either way, MESSAGE as
    GET .../messages reads it) or read (message None); with the tile's count and hand."""

    type: Literal["conversation"]
    session_id: str
    message: dict[str, Any] | None
    unread: int
    hand_raised: bool
    proctor_id: str | None


class NoteAdded(TypedDict):
    """A proctor wrote a note on the candidate's attempt (NOTE as GET .../notes reads it)."""

    type: Literal["note"]
    session_id: str
    note: dict[str, Any]
    proctor_id: str | None


class Load(TypedDict):
    type: Literal["load"]
    degraded: bool
    factor: float
    fps: float | None
    deferring: bool


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def snapshot(summaries: list[CandidateSummary]) -> Snapshot:
    return {"type": "snapshot", "candidates": [summary.to_json() for summary in summaries]}


def candidate(summary: CandidateSummary, proctor_id: uuid.UUID | None) -> CandidateChanged:
    return {"type": "candidate", "candidate": summary.to_json(), "proctor_id": _str(proctor_id)}


def violation(
    change: ViolationChange, read: LiveViolation, proctor_id: uuid.UUID | None
) -> ViolationChanged:
    return {
        "type": "violation",
        "event": change,
        "violation": read.model_dump(mode="json"),
        "proctor_id": _str(proctor_id),
    }


def picture(
    kind: Literal["thumbnail", "frame"],
    session_id: uuid.UUID,
    proctor_id: uuid.UUID | None,
    jpeg: bytes,
    ts_ms: float | None = None,
) -> Picture:
    return {
        "type": kind,
        "session_id": str(session_id),
        "proctor_id": _str(proctor_id),
        "ts_ms": ts_ms,
        "jpeg": jpeg,
    }


def analysis(
    session_id: uuid.UUID,
    proctor_id: uuid.UUID | None,
    outcome: FrameOutcome,
    *,
    objects: tuple[Detections, float] | None,
    attention: Attention | None,
) -> Analysis:
    """`objects`: the newest object pass's detections and the capture time of its frame (the
    object pass runs on some frames only)."""
    faces: list[FaceJson] = [
        {"box": [round(v, 1) for v in box], "look": _look(look)}
        for box, look in zip(outcome.face_boxes, outcome.looks, strict=False)
    ]
    found: list[ObjectJson] = [
        {"label": o.label, "score": round(o.score, 3), "box": [round(v, 1) for v in o.box]}
        for o in (objects[0] if objects else ())
    ]
    return {
        "type": "analysis",
        "session_id": str(session_id),
        "proctor_id": _str(proctor_id),
        "ts_ms": outcome.ts_ms,
        "width": outcome.width,
        "height": outcome.height,
        "faces": faces,
        "objects": found,
        "objects_ts_ms": objects[1] if objects else None,
        "flags": list(outcome.flags),
        "attention": attention.to_json() if attention else None,
    }


def _look(look: FaceLook | None) -> LookJson | None:
    if look is None:
        return None
    return {
        "yaw": look.yaw,
        "pitch": look.pitch,
        "gaze_x": look.gaze_x,
        "gaze_y": look.gaze_y,
        "eyes_open": look.eyes_open,
    }


def assigned(summary: CandidateSummary, proctor_id: uuid.UUID | None) -> Assigned:
    return {"type": "assigned", "candidate": summary.to_json(), "proctor_id": _str(proctor_id)}


def unassigned(candidate_id: uuid.UUID, proctor_id: uuid.UUID) -> Unassigned:
    return {"type": "unassigned", "candidate_id": str(candidate_id), "proctor_id": str(proctor_id)}


def conversation(
    session_id: uuid.UUID,
    message: dict[str, Any] | None,
    now: Conversation,
    proctor_id: uuid.UUID | None,
) -> ConversationChanged:
    return {
        "type": "conversation",
        "session_id": str(session_id),
        "message": message,
        "unread": now.unread,
        "hand_raised": now.hand_raised,
        "proctor_id": _str(proctor_id),
    }


def note(note: NoteRead, proctor_id: uuid.UUID | None) -> NoteAdded:
    return {
        "type": "note",
        "session_id": str(note.session_id),
        "note": note.model_dump(mode="json"),
        "proctor_id": _str(proctor_id),
    }


def load(*, factor: float, fps: float | None, deferring: bool) -> Load:
    return {
        "type": "load",
        "degraded": factor < 1.0,
        "factor": round(factor, 2),
        "fps": fps,
        "deferring": deferring,
    }
