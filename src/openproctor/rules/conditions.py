"""What a frame's analysis, a browser signal or a stretch of audio says holds right now, as the
rule engine's conditions. Pure: no I/O, no clock of its own.

The one flag -> kind table is here: a detector flag is named after the violation kind it
raises (checked at import), so the kinds are the vocabulary and the flags a subset of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np

from openproctor.detectors.base import Flag
from openproctor.domains.exams.policy import ExamPolicy, ViolationKind
from openproctor.live.protocol import Signal
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import FrameOutcome
from openproctor.rules.engine import Condition

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

# Signals that switch a condition on, and the ones that switch it off again.
_SWITCHES: dict[Signal, tuple[str, bool]] = {
    Signal.TAB_HIDDEN: ("tab_hidden", True),
    Signal.TAB_VISIBLE: ("tab_hidden", False),
    Signal.WINDOW_BLUR: ("window_blur", True),
    Signal.WINDOW_FOCUS: ("window_blur", False),
    Signal.FULLSCREEN_EXIT: ("fullscreen_exit", True),
    Signal.FULLSCREEN_ENTER: ("fullscreen_exit", False),
    Signal.CAMERA_ENDED: ("camera_ended", True),
    Signal.CAMERA_RESTORED: ("camera_ended", False),
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
        elif signal in _SWITCHES:
            name, on = _SWITCHES[signal]
            setattr(self, name, on)
        return None


def signal_conditions(
    signals: BrowserSignals, policy: ExamPolicy, *, connected: bool, camera_stalled: bool
) -> list[Condition]:
    """The conditions of SIGNAL_KINDS that hold now."""
    conditions = []
    if signals.tab_hidden:
        conditions.append(Condition(K.TAB_SWITCH, "tab"))
    if signals.window_blur:
        conditions.append(Condition(K.TAB_SWITCH, "window"))
    if signals.fullscreen_exit and policy.require_fullscreen:
        conditions.append(Condition(K.FULLSCREEN_EXIT))
    if signals.screens is not None and signals.screens > 1:
        conditions.append(Condition(K.MULTIPLE_SCREENS, details={"screens": signals.screens}))
    if signals.camera_ended or camera_stalled:
        conditions.append(Condition(K.CAMERA_OFF, "camera"))
    if signals.microphone_ended:
        conditions.append(Condition(K.CAMERA_OFF, "microphone"))
    if signals.screen_share_stopped and policy.record_screen:
        conditions.append(Condition(K.SCREEN_SHARE_STOPPED))
    if not connected:
        conditions.append(Condition(K.CONNECTION_LOST))
    return conditions


def camera_stalled(*, now: float, last_frame_at: float | None, fps: float) -> bool:
    """No frame for CAMERA_STALL_S and three frame intervals (from a connected candidate)."""
    return now - (last_frame_at or now) > max(CAMERA_STALL_S, 3 / fps)


def frame_conditions(
    outcome: FrameOutcome, prohibited: list[str]
) -> tuple[list[Condition], set[ViolationKind]]:
    """The conditions one analysed frame shows, and the kinds it decided (which may close)."""
    if outcome.gate is Gate.COVERED:
        return [Condition(K.CAMERA_COVERED)], {K.CAMERA_COVERED, K.FROZEN_VIDEO}
    evaluated = set(FACE_KINDS)
    conditions = [Condition(K.FROZEN_VIDEO)] if outcome.frozen else []
    if outcome.identity_ran:
        evaluated.add(K.IDENTITY_MISMATCH)
    for flag in outcome.flags:
        kind = FLAG_KINDS.get(flag)
        if kind is None or kind in OBJECT_KINDS or kind is K.SPEECH:
            continue  # objects follow the exam's list below; speech comes with the audio
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
        if outcome.persons >= 2:
            conditions.append(Condition(K.EXTRA_PERSON, details={"persons": outcome.persons}))
    return conditions, evaluated


def prohibited_in_view(held: Iterable[Condition]) -> bool:
    """Whether a frame's conditions show something its object pass decides (a prohibited
    object, a second person): the schedule keeps object passes regular while they do."""
    return any(condition.kind in OBJECT_KINDS for condition in held)


def loudness(pcm: bytes) -> float:
    """The RMS of 16-bit little-endian PCM, 0..1."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768.0
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def speech_conditions(probability: float, min_speech: float) -> list[Condition]:
    return [Condition(K.SPEECH)] if probability >= min_speech else []
