"""The live wire protocol between browsers and the server, in one place.

Candidate socket: ``/ws/take/{invite_token}`` (the invite token is the credential; the Origin
must be this server). One socket per candidate; a second one replaces the first.

Client -> server, binary messages (big-endian), one media item each::

    u8  kind        1 = webcam frame (JPEG), 2 = microphone audio (PCM s16le, 16 kHz mono)
    u32 seq         per-kind sequence number, +1 per message, starts at 0 on each socket
    f64 ts_ms       capture time, performance.timeOrigin + performance.now() (ms)
    ... payload     the JPEG bytes, or the PCM samples

Client -> server, text messages (JSON objects)::

    {"type": "signal", "name": SIGNAL, "ts": ms, "value": optional detail}
    {"type": "heartbeat", "ts": ms}

    SIGNAL (class Signal below; what each feeds: rules/conditions.py): "tab_hidden" /
    "tab_visible", "window_blur" / "window_focus", "fullscreen_exit" / "fullscreen_enter",
    "copy", "cut", "paste", "screens" (value: how many), "camera_ended",
    "microphone_ended", "camera_restored" (the page has its camera and microphone again),
    "screen_share_stopped" / "screen_share_started". A page starts by saying where it stands
    ("tab_visible" or "tab_hidden", "window_focus" when it has the focus, "camera_restored"
    when its camera runs), so nothing an earlier page said outlives a reload; from "pagehide"
    on it sends none: what the browser reports while the page unloads is the page going away,
    which its socket's close (GOING_AWAY) tells.

    {"type": "rtc", "action": "offer", "viewer": VIEWER, "sdp": str}     WebRTC, see below
    {"type": "rtc", "action": "ice", "viewer": VIEWER, "candidate": ICE | null}

Answers and submission go over REST (PUT .../answers, POST .../submit), which answers with the
saved state, so nothing depends on a socket being up at that moment.

Server -> client, text messages (each typed and built in live/messages.py)::

    {"type": "hello", "session_id": ..., "state": ..., "fps": 1.0, "width": 640, "height": 480,
     "clock": CLOCK | null, "messages": [MESSAGE...], "prompts": [PROMPT...] (showing now),
     "speech_rms_floor": 0.01, "speech_hangover_s": 2.5}
        the page sends audio only while a chunk's RMS (samples / 32768) is at or above the
        floor the server applies (rules/conditions.py SPEECH_RMS_FLOOR), plus the chunk
        before and speech_hangover_s after, so onsets are kept and speech violations close
    {"type": "rate", "fps": 2.0}                             send frames at this rate from now on
    {"type": "message", "id": ..., "sender": "proctor" | "candidate", "kind": KIND,
     "body": ..., "at": iso8601, "cleared": bool}
        a message written (by a proctor, or by the candidate, also from another tab);
        KIND = "message" | "warning" | "broadcast" (to the whole exam) | "hand_raised" |
        "hand_lowered" (by the candidate, or by a proctor's answer)
    {"type": "warnings_cleared"}                             the proctor cleared the warnings
    {"type": "prompt", "kind": KIND, "text": str, "shown": bool}     (PROMPT)
        a self-correction prompt (rules/prompts.py): the condition of KIND (a violation kind)
        has held for its rule's prompt_after_s, before the violation opens (shown), or it
        cleared or the exam stopped running (not shown); the page shows text while shown
    {"type": "state", "state": "running" | "paused" | "submitted" | "terminated" | "expired",
     "reason": str | null, "score": float | null, "clock": CLOCK | null}
        also with the same state when only the clock moved (a proctor gave extra time)
    CLOCK = {"ends_at": iso8601 | null, "paused": bool, "left_s": float | null, "extra_s",
             "paused_s"} (domains/sessions/clock.py ClockRead, read when sent): the page
             counts down to ends_at on the server's clock while running, and shows left_s
             standing still while paused
    {"type": "rtc_config", ...}, {"type": "rtc", ...}, {"type": "rtc_refused", ...}  below

A refused or broken socket is closed with a close code and a reason (below), never with a
message.

Proctor socket: ``/ws/proctor/exams/{exam_id}`` (staff session cookie; proctors get only their
candidates). Server -> client text messages::

    {"type": "snapshot", "candidates": [CANDIDATE...]}         on connect
    {"type": "candidate", "candidate": CANDIDATE}              state, risk or counters changed
    {"type": "violation", "event": "opened" | "evidence" | "closed" | "handled",
     "violation": VIOLATION}
        "opened" once its row is written (evidence_url still null), "evidence" once its
        evidence image is stored (evidence_url) or could not be (evidence_error), "closed"
        (its "detections" then list everything that saw it while it was open), "handled"
        once a proctor marked it handled (handled_by_name, handled_at; the live events
        carry null there, and a handled alert stays handled)
    {"type": "thumbnail", "session_id": ...}                  then one binary message: the JPEG
    {"type": "frame", "session_id": ..., "ts_ms": ...}       the same, full size, for "watch",
        with its capture time (its "analysis" came just before, with the same ts_ms)
    {"type": "analysis", "session_id": ..., "ts_ms": capture time of the analysed frame,
     "width": ..., "height": ... (its pixels; boxes are in them),
     "faces": [{"box": [x1, y1, x2, y2], "look": LOOK | null}...],
     "objects": [{"label": "cell phone", "score": 0.8, "box": [...]}...] (the newest object
     pass, taken from the frame of "objects_ts_ms"; null before the first),
     "flags": [what this frame showed: "multiple_faces", "looking_away"...],
     "attention": ATTENTION | null}
        for "watch" too: one per analysed frame, for the detail view's overlay
    LOOK = {"yaw", "pitch" (degrees; yaw + to the image right, pitch + up), "gaze_x",
            "gaze_y" (iris offset in eye widths, x + to the image right, y + down),
            "eyes_open": bool}; yaw, pitch and gaze_x against the enrolment baseline
    ATTENTION = {"score": 0-100, "label": "focused" | "distracted" | "away"}
                (rules/attention.py; null while no frame was analysed in its window)
    {"type": "assigned", "candidate": CANDIDATE}             an admin gave you this candidate
    {"type": "unassigned", "candidate_id": ...}               ... or gave yours to someone else
    {"type": "conversation", "session_id": ..., "message": MESSAGE | null, "unread": int,
     "hand_raised": bool}
        a message between the candidate and the proctors was written (either way, MESSAGE
        as GET /api/v1/sessions/{id}/messages reads it) or the candidate's were read (null);
        unread and hand_raised are the tile's after it
    {"type": "note", "session_id": ..., "note": NOTE}
        a proctor wrote a note on the candidate's attempt (NOTE as GET
        /api/v1/sessions/{id}/notes reads it)
    {"type": "load", "degraded": bool, "factor": float, "fps": float | null, "deferring": bool}
        after the snapshot and whenever it changes: degraded while candidates are asked for
        fewer frames (factor of the policy's rate, fps per candidate), deferring while object
        and identity passes run later than the policy sets

    CANDIDATE = live/runtime.py CandidateSummary: {"candidate_id", "session_id", "name",
                 "email", "external_id", "state", "risk_score", "auto_terminate": bool,
                 "stage": live/tile.py Stage, "stage_detail": str | null,
                 "analysis": live/tile.py AnalysisStatus | null, "connected": bool,
                 "open_violations": ["kind" or "kind:label"...], "unread": int,
                 "hand_raised": bool,
                 "frames": {"received", "analysed", "skipped", "rejected"},
                 "attention": ATTENTION | null,
                 "identity_off": why identity is not checked (enrolled by another model) | null}
    VIOLATION = the VIOLATION JSON of GET /api/v1/exams/{id}/violations, with "candidate_name"
                and "frame_ts_ms" (live/messages.py LiveViolation)

Pages read kinds' labels and the final states from the JSON block "live-vocabulary" every
page carries (live/messages.py VOCABULARY), not from copies of their own.

Proctor -> server: text ``{"type": "watch", "session_id": ... | null}`` asks for that one
candidate's frames and analysis at the full analysed rate (the detail view); null goes back to
thumbnails.
The watch travels to every node (live/registry.py), so it works whichever node the candidate
streams to.
Actions (message, warn, pause, resume, terminate, auto-termination) are REST calls under
/api/v1/sessions/{id}/... so they are authorised and audited like every other change; so are
a broadcast (POST /api/v1/exams/{id}/messages) and the candidate's messages and hand (POST
/api/v1/take/{token}/sessions/{id}/messages and .../hand).

Live media (WebRTC: live/signalling.py decides what passes, live/rtc_messages.py builds the
messages; media goes browser to browser or through TURN, never through this server). Both
sockets get, on connect and again at half the TURN credential's lifetime::

    {"type": "rtc_config", "ice_servers": [{"urls": [...], "username"?, "credential"?}],
     "ice_transport_policy": "all" | "relay"}

Proctor -> server (the wall joins every unfinished session at "tile" quality, a tile it listens
to at "listen" (full audio), the open one at "full"; a join again with another quality changes
it on the same connection)::

    {"type": "rtc", "action": "join", "session_id": ..., "quality": "tile" | "listen" | "full"}
    {"type": "rtc", "action": "answer", "session_id": ..., "sdp": str}
    {"type": "rtc", "action": "ice", "session_id": ..., "candidate": ICE | null}
    {"type": "rtc", "action": "talk", "session_id": ..., "on": bool}     push-to-talk
    {"type": "rtc", "action": "leave", "session_id": ...}

The server stamps each with the socket's viewer id (VIEWER) and relays it on the session's
topic; the candidate's socket admits a join within settings.live_viewer_budget (a tile,
listened or not, costs 1, a close view 4) and passes the rest only from viewers it admitted.
The candidate's page gets {"type": "rtc", "action": "join" | "answer" | "ice" | "talk" |
"leave", "session_id", "viewer", ...the fields above} and offers to each viewer (camera,
microphone both ways for talk-back, then the screen when shared, in that order); its audio
goes in 60 ms packets (take/sdp.js). Its offers and ICE candidates reach only that viewer's
socket, as {"type": "rtc", "action": "offer" | "ice", "session_id", "sdp" | "candidate"}.
A candidate's page that (re)connects sends {"type": "rtc", "action": "ready", "session_id"}
to the viewers that joined it, which join again.
A staff node that stops without its pages' leave (killed) stops saying it is alive on the hub
topic (live/registry.py): at the next join, the candidate's socket forgets the viewers of a
node not heard of for WATCH_TTL_S (30 s), so their places in the budget are free, and sends
the page their leave.
Refused steps are answered to their sender only, and nothing else happens::

    {"type": "rtc_refused", "session_id": ... | null, "viewer": ... | null, "reason": str}

for: a session not the proctor's (or not in this exam), a step for a session not joined, a
join over the viewer budget, an SDP over 32 KiB or not starting with v=0, ICE candidates over
40 at once or 5 a second per connection, a candidate's page joining or answering (it only
publishes), a candidate addressing a viewer that did not join it. Text messages longer than
33 KiB close the candidate's socket with 4413; a proctor socket sending more than its
signalling budget (live/limits.py) is closed with 4429. Talk-back is audited at its end as
"session.talk" with started_at and seconds (also when the wall closes while talking).
ICE = RTCIceCandidateInit {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}.

Close codes: 4400 bad message (also a frame whose JPEG header cannot be read), 4401 bad or
expired invite (proctor socket: not signed in), 4403 not allowed, 4408 replaced by a newer
socket, 4409 session already ended, 4413 message too large (also a frame whose header declares
more pixels than the hello's width x height, either way round: it is never decoded), 4429
flooding (more messages than the budgets of live/limits.py, or a candidate opening sockets too
fast), 4430 too many staff sockets open for one account, 4440 the staff sign-in ended (signed
out, expired, account deactivated, role or password changed). The reason says which. Refused
frames count as rejected.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class MediaKind(IntEnum):
    FRAME = 1
    AUDIO = 2


MEDIA_HEADER = struct.Struct(">BId")


class Signal(StrEnum):
    TAB_HIDDEN = "tab_hidden"
    TAB_VISIBLE = "tab_visible"
    WINDOW_BLUR = "window_blur"
    WINDOW_FOCUS = "window_focus"
    FULLSCREEN_EXIT = "fullscreen_exit"
    FULLSCREEN_ENTER = "fullscreen_enter"
    COPY = "copy"
    CUT = "cut"
    PASTE = "paste"
    SCREENS = "screens"  # value: number of screens (int)
    CAMERA_ENDED = "camera_ended"
    MICROPHONE_ENDED = "microphone_ended"
    CAMERA_RESTORED = "camera_restored"
    SCREEN_SHARE_STOPPED = "screen_share_stopped"
    SCREEN_SHARE_STARTED = "screen_share_started"


# The close code browsers send when a page with an open socket unloads (RFC 6455 "going
# away"; Chromium on a reload, a closed tab, a navigation): the candidate's page left, which
# the rules judge with the reconnect grace (rules/conditions.py), not the network.
GOING_AWAY = 1001


class CloseCode(IntEnum):
    BAD_MESSAGE = 4400
    BAD_INVITE = 4401
    FORBIDDEN = 4403
    REPLACED = 4408
    ENDED = 4409
    TOO_LARGE = 4413
    FLOODING = 4429
    TOO_MANY_SOCKETS = 4430
    SIGNED_OUT = 4440


@dataclass(frozen=True, slots=True)
class MediaMessage:
    kind: MediaKind
    seq: int
    ts_ms: float
    payload: bytes


class ProtocolError(ValueError):
    """A message that breaks the protocol; the text is sent back as the close reason."""


def parse_media(data: bytes) -> MediaMessage:
    if len(data) <= MEDIA_HEADER.size:
        raise ProtocolError("binary message shorter than its header")
    kind, seq, ts_ms = MEDIA_HEADER.unpack_from(data)
    try:
        media_kind = MediaKind(kind)
    except ValueError:
        raise ProtocolError(f"unknown media kind {kind}") from None
    if ts_ms != ts_ms or ts_ms < 0:  # NaN or negative
        raise ProtocolError("capture timestamp must be a non-negative number")
    return MediaMessage(media_kind, seq, ts_ms, data[MEDIA_HEADER.size :])


def pack_media(kind: MediaKind, seq: int, ts_ms: float, payload: bytes) -> bytes:
    return MEDIA_HEADER.pack(kind, seq, ts_ms) + payload
