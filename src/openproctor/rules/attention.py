"""The attention score: how much of the last WINDOW_S a candidate looked at the exam, 0-100,
with a label (focused / distracted / away). Pure: frames and times come in, nothing is read
from a clock or a socket. It describes; it is not a verdict (proctors decide).

Each analysed frame is one glance, worth 0..1:
- 0 and "absent" when no face is seen or the exam page is not in front (tab hidden, window
  blurred): the candidate is not at the exam;
- otherwise the smallest of three terms, since looking at the screen takes all of them:
  the head (yaw and pitch against the enrolment baseline), the eyes' direction (iris offset
  across the eye against the baseline) and open eyes. Each term is 1 inside a tolerance and
  falls linearly to 0 at a limit (the ramps below), so small movements cost nothing and a
  half-turned head costs half.

The score is the glances' mean over the window, weighted by recency (a glance's weight falls
linearly from 1 now to 0 at WINDOW_S ago), times 100. Recency weighting lets a 5-second look
away show within those 5 s (a flat 20-s mean would barely move) while a 1-s glance or a blink
hardly does. The figures that chose the numbers are in the README ("Attention score").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from openproctor.pipeline.jobs import FaceLook

Label = Literal["focused", "distracted", "away"]

WINDOW_S = 20.0
# (tolerance, limit): the term is 1 up to the tolerance and 0 from the limit on. The limits of
# the head are the looking-away flag's defaults (detectors/config.py FaceConfig); the gaze
# tolerance is the iris offset that reading across the screen reaches (about +-0.06 eye widths
# on the evaluation videos), its limit where eyes turned aside sit (0.12 and more).
YAW_RAMP = (15.0, 30.0)
PITCH_RAMP = (12.0, 25.0)
GAZE_RAMP = (0.06, 0.12)
FOCUSED_FROM = 70  # a score at or above this is "focused"
AWAY_SHARE = 0.5  # absent for at least this share of the (weighted) window is "away"


@dataclass(frozen=True, slots=True)
class Glance:
    """One analysed frame, as the score sees it."""

    at: float  # seconds
    value: float  # 0..1
    absent: bool


@dataclass(frozen=True, slots=True)
class Attention:
    score: int
    label: Label

    def to_json(self) -> dict[str, int | str]:
        return {"score": self.score, "label": self.label}


def _ramp(value: float, tolerance_and_limit: tuple[float, float]) -> float:
    tolerance, limit = tolerance_and_limit
    return min(max((limit - abs(value)) / (limit - tolerance), 0.0), 1.0)


def glance(at: float, *, faces: int, look: FaceLook | None, page_in_front: bool) -> Glance:
    """What one frame says. `look` is the main face's (None without a mesh: then only its
    presence is known, and presence is what counts)."""
    if faces == 0 or not page_in_front:
        return Glance(at, 0.0, absent=True)
    if look is None:
        return Glance(at, 1.0, absent=False)
    head = min(_ramp(look.yaw, YAW_RAMP), _ramp(look.pitch, PITCH_RAMP))
    # Closed eyes have no meaningful iris position: they count as not looking.
    eyes = _ramp(look.gaze_x, GAZE_RAMP) if look.eyes_open else 0.0
    return Glance(at, min(head, eyes), absent=False)


class AttentionWindow:
    """A session's glances over the last WINDOW_S; add() each analysed frame, read score()."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._glances: deque[Glance] = deque()

    def add(self, seen: Glance) -> None:
        if self._glances and seen.at < self._glances[-1].at:
            return  # an older frame's answer that arrived late: the window moved on
        self._glances.append(seen)

    def score(self, now: float) -> Attention | None:
        """The score at `now`; None when no frame was analysed in the window (the camera or
        the analysis is off: nothing is known, which is not the same as "away")."""
        while self._glances and now - self._glances[0].at >= self.window_s:
            self._glances.popleft()
        weights = [1.0 - (now - g.at) / self.window_s for g in self._glances]
        total = sum(weights)
        if total <= 0:
            return None
        value = sum(w * g.value for w, g in zip(weights, self._glances, strict=True)) / total
        absent = sum(w for w, g in zip(weights, self._glances, strict=True) if g.absent) / total
        score = round(100 * value)
        label: Label = (
            "away" if absent >= AWAY_SHARE else "focused" if score >= FOCUSED_FROM else "distracted"
        )
        return Attention(score, label)
