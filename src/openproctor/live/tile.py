"""What a candidate's tile on the proctor's wall says, in the proctor's words: where the
candidate is on their way into and through the exam (Stage), and whether their camera is being
analysed right now (AnalysisStatus). Both are decided here from what the server knows and sent
with the tile (live/runtime.py CandidateSummary); the pages read the labels from the vocabulary
every page carries (live/messages.py VOCABULARY), never from a copy of their own.
"""

from __future__ import annotations

from enum import StrEnum

from openproctor.domains.checkin.models import Admission, CheckIn
from openproctor.domains.sessions.models import SessionState


class Stage(StrEnum):
    """The session's state, with `checking` split by the check-in record into its steps."""

    INVITED = "invited"  # has not opened the exam, or not agreed to its rules yet
    CHECKING = "checking"  # agreed; checks the camera, microphone and connection, no photo yet
    ENROLLING = "enrolling"  # a photo was refused, or a proctor asked for a new one
    WAITING = "waiting"  # in the lobby for a proctor's decision
    STUCK = "stuck"  # every photo refused (the exam's enrol_attempts): waits for a proctor's help
    ADMITTED = "admitted"  # photo accepted; room scan, screen sharing, the start page
    RUNNING = "running"
    PAUSED = "paused"
    SUBMITTED = "submitted"
    TERMINATED = "terminated"
    EXPIRED = "expired"


STAGE_LABELS: dict[Stage, str] = {
    Stage.INVITED: "Not started",
    Stage.CHECKING: "System check",
    Stage.ENROLLING: "Taking photo",
    Stage.WAITING: "In the lobby",
    Stage.STUCK: "Needs help",
    Stage.ADMITTED: "Getting ready",
    Stage.RUNNING: "In exam",
    Stage.PAUSED: "Paused",
    Stage.SUBMITTED: "Submitted",
    Stage.TERMINATED: "Terminated",
    Stage.EXPIRED: "Time ran out",
}

# A session in one of these states is named by it; `checking` and `enrolled` are split.
_SAME_NAME = {
    SessionState.INVITED: Stage.INVITED,
    SessionState.RUNNING: Stage.RUNNING,
    SessionState.PAUSED: Stage.PAUSED,
    SessionState.SUBMITTED: Stage.SUBMITTED,
    SessionState.TERMINATED: Stage.TERMINATED,
    SessionState.EXPIRED: Stage.EXPIRED,
}


def stage_of(state: SessionState, checkin: CheckIn) -> Stage:
    if state in _SAME_NAME:
        return _SAME_NAME[state]
    if state is SessionState.ENROLLED:
        return Stage.ADMITTED
    if checkin.admission is Admission.WAITING:
        return Stage.STUCK if checkin.needs_help else Stage.WAITING
    if checkin.admission is Admission.RETRY or checkin.failed_attempts:
        return Stage.ENROLLING
    return Stage.CHECKING


def stage_detail(stage: Stage, checkin: CheckIn) -> str | None:
    """A line under the stage while the check-in has more to say: refused photos, the
    proctor's request for a new one."""
    refused = checkin.failed_attempts
    if stage is Stage.STUCK:
        return f"Photo refused {refused} times" if refused else "No photo could be taken"
    if stage is not Stage.ENROLLING:
        return None
    if checkin.admission is Admission.RETRY and not refused:
        return "You asked for a new photo"
    return f"Photo refused {refused} time{'' if refused == 1 else 's'}"


class AnalysisStatus(StrEnum):
    """Whether the candidate's camera is analysed now (only while the exam runs or is paused)."""

    LIVE = "live"
    STARTING = "starting"  # connected, no camera picture has arrived yet
    CAMERA_OFF = "camera_off"
    NOT_CONNECTED = "not_connected"
    PAUSED = "paused"
    OFF = "off"  # the server analyses nothing (no analysis workers)


ANALYSIS_LABELS: dict[AnalysisStatus, str] = {
    AnalysisStatus.LIVE: "Analysis: live",
    AnalysisStatus.STARTING: "Analysis: no picture yet",
    AnalysisStatus.CAMERA_OFF: "Analysis paused: camera off",
    AnalysisStatus.NOT_CONNECTED: "Analysis paused: offline",
    AnalysisStatus.PAUSED: "Analysis paused",
    AnalysisStatus.OFF: "Analysis off on this server",
}


def analysis_status(
    state: SessionState,
    *,
    connected: bool,
    pictures: bool,
    camera_off: bool,
    server_off: bool = False,
) -> AnalysisStatus | None:
    """`pictures`: a camera picture arrived since the page connected; `camera_off`: the page
    said its camera ended, or pictures stopped coming (rules/conditions.py Link); `server_off`:
    the server runs no analysis at all."""
    if server_off and state in (SessionState.RUNNING, SessionState.PAUSED):
        return AnalysisStatus.OFF
    if state is SessionState.PAUSED:
        return AnalysisStatus.PAUSED
    if state is not SessionState.RUNNING:
        return None
    if not connected:
        return AnalysisStatus.NOT_CONNECTED
    if camera_off:
        return AnalysisStatus.CAMERA_OFF
    return AnalysisStatus.LIVE if pictures else AnalysisStatus.STARTING
