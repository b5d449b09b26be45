"""What a frame's analysis, a browser signal or a stretch of audio says holds right now, as the
rule engine's conditions. Pure: no I/O, no clock of its own.

The one flag -> kind table is here: a detector flag is named after the violation kind it
raises (checked at import), so the kinds are the vocabulary and the flags a subset of it.

One event, one violation, with every detection that saw it in its details (``detections``,
which the engine adds up while the violation is open):
- leaving the page: the tab hidden ("tab"), the window without focus ("window") and the page
  gone ("page": it closed its socket itself, on a reload, a close or a navigation, and did not
  come back within the grace period) are one ``tab_switch``. A blur alone (focus in another
  window: a second browser window, an assistive tool, a system dialog) is a ``tab_switch``
  seen by "window" only, as before the merge: the policy has one rule for leaving the exam
  page, and the accommodations' rule exemptions are where a candidate's tool is let off;
- a second person: two faces are ``multiple_faces``, and the object pass counting two persons
  (faces plus bodies that hold none of them) on the same frame adds "persons" to it; only a
  second person the faces do not see (a body, the face turned away or cut by the frame) is
  ``extra_person``; while one of the two is open, the person keeps its kind.

A reload or a brief reconnect is not a leave: while the page is gone (its socket closed) for
less than the grace period nothing holds, and once it is back its camera has CAMERA_STALL_S
from the reconnect to send a frame. A page gone for longer is away from its exam from the
moment it left: ``tab_switch`` ("page") and ``camera_off`` ("page") start then. A connection the
page did not close (the network) is ``connection_lost``, after its rule's debounce.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np

from openproctor.detectors.base import Flag
from openproctor.domains.exams.policy import ExamPolicy, ViolationKind
from openproctor.live.protocol import Signal
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import FrameOutcome
from openproctor.rules.engine import DETECTIONS, Condition

K = ViolationKind

# A detector flag raises the kind of the same name; ViolationKind(flag) fails at import for a
# flag that names no kind.
FLAG_KINDS: dict[str, ViolationKind] = {flag: ViolationKind(flag) for flag in get_args(Flag)}
# Kinds every analysed frame decides (present or not), from the face pass and the gates.
FACE_KINDS = frozenset(
    {K.NO_FACE, K.MULTIPLE_FACES, K.LOOKING_AWAY, K.EYES_CLOSED, K.CAMERA_COVERED, K.FROZEN_VIDEO}
)
# Kinds only the object pass decides, from the exam's own list of prohibited objects (the
# worker's flags for these follow the detector config, not the exam).
OBJECT_KINDS = frozenset({K.PROHIBITED_OBJECT, K.EXTRA_PERSON})
# Kinds whose conditions come from browser signals and the connection, not from frames.
SIGNAL_KINDS = frozenset(
    {
        K.TAB_SWITCH,
        K.FULLSCREEN_EXIT,
        K.MULTIPLE_SCREENS,
        K.CAMERA_OFF,
        K.CONNECTION_LOST,
        K.SCREEN_SHARE_STOPPED,
    }
)
# Signals that are over as soon as they happen: a violation that opens and closes at once.
PULSES = {Signal.COPY: "copy", Signal.CUT: "cut", Signal.PASTE: "paste"}
# Without a frame for this long (and at least three frame intervals) the camera counts as off.
CAMERA_STALL_S = 5.0
SPEECH_RMS_FLOOR = 0.01  # below this an audio chunk is silence; VAD is not asked
# The detection that adds a second person seen by the object pass's person count.
PERSONS = "persons"

# Signals that switch a condition on, and the ones that switch it off again.
_SWITCHES: dict[Signal, tuple[str, bool]] = {
    Signal.TAB_HIDDEN: ("tab_hidden", True),
    Signal.TAB_VISIBLE: ("tab_hidden", False),
    Signal.WINDOW_BLUR: ("window_blur", True),
    Signal.WINDOW_FOCUS: ("window_blur", False),
    Signal.FULLSCREEN_EXIT: ("fullscreen_exit", True),
    Signal.FULLSCREEN_ENTER: ("fullscreen_exit", False),
    Signal.CAMERA_ENDED: ("camera_ended", True),
    Signal.MICROPHONE_ENDED: ("microphone_ended", True),
    Signal.SCREEN_SHARE_STOPPED: ("screen_share_stopped", True),
    Signal.SCREEN_SHARE_STARTED: ("screen_share_stopped", False),
}


@dataclass(slots=True)
class BrowserSignals:
    """What the candidate's browser last said about the page, the screens and the devices."""

    tab_hidden: bool = False
    window_blur: bool = False
    fullscreen_exit: bool = False
    camera_ended: bool = False
    microphone_ended: bool = False
    screen_share_stopped: bool = False
    screens: int | None = None

    def heard(self, signal: Signal, value: Any) -> Condition | None:
        """Takes a signal in; a pulse (copy, cut, paste) comes back as its condition."""
        if signal in PULSES:
            return Condition(K.COPY_PASTE, PULSES[signal])
        if signal is Signal.SCREENS:
            self.screens = value if isinstance(value, int) and not isinstance(value, bool) else None
        elif signal is Signal.CAMERA_RESTORED:  # the page has its camera and microphone
            self.camera_ended = self.microphone_ended = False
        elif signal in _SWITCHES:
            name, on = _SWITCHES[signal]
            setattr(self, name, on)
        return None


@dataclass(frozen=True, slots=True)
class Link:
    """The candidate's socket as the rules see it (live/registry.py keeps it on the runtime)."""

    connected: bool
    since: float | None  # when it (dis)connected last; None: it never connected on this node
    page_closed: bool = False  # the page closed it itself (reloaded, closed, navigated away)
    last_frame_at: float | None = None

    def gone_beyond(self, grace_s: float, now: float) -> bool:
        """The page closed its socket and has not come back within the grace period."""
        return (
            not self.connected
            and self.page_closed
            and self.since is not None
            and now - self.since >= grace_s
        )

    def camera_stalled(self, now: float, fps: float) -> bool:
        """Connected, but no frame for CAMERA_STALL_S and three frame intervals, counted from
        the last frame or the last (re)connect, whichever is later: a page that reconnects
        gets the time to send its first frame again. Not before its first frame ever."""
        if not self.connected or self.last_frame_at is None:
            return False
        waiting_since = max(self.last_frame_at, self.since or self.last_frame_at)
        return now - waiting_since > max(CAMERA_STALL_S, 3 / fps)


def signal_conditions(
    signals: BrowserSignals,
    policy: ExamPolicy,
    link: Link,
    *,
    now: float,
    fps: float,
    grace_s: float,
) -> list[Condition]:
    """The conditions of SIGNAL_KINDS that hold now."""
    conditions = []
    gone = link.gone_beyond(grace_s, now)
    left = [
        name
        for name, holds in (("tab", signals.tab_hidden), ("window", signals.window_blur))
        if holds
    ]
    if gone:
        conditions.append(Condition(K.TAB_SWITCH, details={DETECTIONS: ["page"]}, since=link.since))
    elif left:
        conditions.append(Condition(K.TAB_SWITCH, details={DETECTIONS: left}))
    if signals.fullscreen_exit and policy.require_fullscreen:
        conditions.append(Condition(K.FULLSCREEN_EXIT))
    if signals.screens is not None and signals.screens > 1:
        conditions.append(Condition(K.MULTIPLE_SCREENS, details={"screens": signals.screens}))
    if gone:
        conditions.append(Condition(K.CAMERA_OFF, "camera", {DETECTIONS: ["page"]}, link.since))
    elif signals.camera_ended or link.camera_stalled(now, fps):
        conditions.append(Condition(K.CAMERA_OFF, "camera"))
    if signals.microphone_ended:
        conditions.append(Condition(K.CAMERA_OFF, "microphone"))
    if signals.screen_share_stopped and policy.record_screen:
        conditions.append(Condition(K.SCREEN_SHARE_STOPPED))
    if not link.connected and not link.page_closed:
        conditions.append(Condition(K.CONNECTION_LOST))
    return conditions


def frame_conditions(
    outcome: FrameOutcome, prohibited: list[str], *, open_kinds: Collection[ViolationKind] = ()
) -> tuple[list[Condition], set[ViolationKind]]:
    """The conditions one analysed frame shows, and the kinds it decided (which may close);
    `open_kinds`: the kinds of the session's open violations."""
    if outcome.gate is Gate.COVERED:
        return [Condition(K.CAMERA_COVERED)], {K.CAMERA_COVERED, K.FROZEN_VIDEO}
    evaluated = set(FACE_KINDS)
    conditions = [Condition(K.FROZEN_VIDEO)] if outcome.frozen else []
    if outcome.identity_ran:
        evaluated.add(K.IDENTITY_MISMATCH)
    for flag in outcome.flags:
        kind = FLAG_KINDS.get(flag)
        if kind is None or kind in OBJECT_KINDS or kind in (K.SPEECH, K.MULTIPLE_FACES):
            # Objects follow the exam's list and a second person is one condition (below);
            # speech comes with the audio.
            continue
        if kind is K.IDENTITY_MISMATCH and not outcome.identity_ran:
            # An unchanged frame repeats the last check's flags: counting them would let one
            # failed check pass the debounce on a still picture. An open violation stays open
            # (identity was not evaluated), a pending one waits for the next check.
            continue
        details: dict[str, Any] = {"faces": outcome.faces}
        if kind is K.IDENTITY_MISMATCH:
            details["distance"] = outcome.identity_distance
        conditions.append(Condition(kind, details=details))
    if outcome.objects_ran:
        evaluated |= OBJECT_KINDS
        best: dict[str, float] = {}
        for found in outcome.objects:
            if found.label in prohibited:
                best[found.label] = max(best.get(found.label, 0.0), found.score)
        conditions += [
            Condition(K.PROHIBITED_OBJECT, label, {"score": round(score, 3)})
            for label, score in best.items()
        ]
    return conditions + _second_person(outcome, open_kinds), evaluated


def _second_person(outcome: FrameOutcome, open_kinds: Collection[ViolationKind]) -> list[Condition]:
    """One condition for a second person, whatever saw it: multiple_faces when the faces do
    (with "persons" too when this frame's object pass counts two), extra_person when only the
    object pass's person count does (a body without a face). While a violation of either kind
    is open, the person keeps its kind: someone seen from behind who then faces the camera,
    or a face missed on one frame, is still the one violation."""
    detections = [
        name
        for name, saw in (
            ("faces", "multiple_faces" in outcome.flags),
            (PERSONS, outcome.objects_ran and outcome.persons >= 2),
        )
        if saw
    ]
    if not detections:
        return []
    details: dict[str, Any] = {"faces": outcome.faces, DETECTIONS: detections}
    if outcome.objects_ran:
        details["persons"] = outcome.persons
    kind = K.MULTIPLE_FACES if "faces" in detections else K.EXTRA_PERSON
    for already in (K.MULTIPLE_FACES, K.EXTRA_PERSON):
        if already in open_kinds:
            kind = already
            break
    return [Condition(kind, details=details)]


def prohibited_in_view(held: Iterable[Condition]) -> bool:
    """Whether a frame's conditions show something its object pass decides (a prohibited
    object, a second person, also one the faces see): the schedule keeps object passes
    regular while they do."""
    return any(
        condition.kind in OBJECT_KINDS or PERSONS in condition.details.get(DETECTIONS, ())
        for condition in held
    )


def loudness(pcm: bytes) -> float:
    """The RMS of 16-bit little-endian PCM, 0..1."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768.0
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def speech_conditions(probability: float, min_speech: float) -> list[Condition]:
    return [Condition(K.SPEECH)] if probability >= min_speech else []
