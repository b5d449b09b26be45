"""Phone evidence: the object model's phone scores, made stronger by what the hands and the head
show, and confirmed across consecutive object passes of one stream.

The object models alone give no margin (real phones 0.24-0.37, other things up to 0.34), and a
phone at the ear is mostly hidden by the hand. So a phone candidate gains when it lies in a
hand or below a bowed head, and a gripping hand at the ear is evidence on its own; evidence
that is only weak must recur in k of the last n object passes (PhoneHistory), which the worker
keeps per session like its face tracker. The decision is made here, not in the rules, because
only here is it known how strong each pass's evidence was; the rules then debounce a confirmed
phone like any other prohibited object.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

from openproctor.detectors.base import Box, FaceResult, Hand, PhoneEvidence
from openproctor.detectors.config import PhoneConfig
from openproctor.detectors.detections import Detections

PHONE = "cell phone"
# FaceResult keypoints: eyes (0, 1), nose, mouth, ears (4, 5).
EYES, EARS = (0, 1), (4, 5)
# A hand at the ear lies outside the middle band of the face (this share of its width either
# side of the centre), where a hand on the chin, mouth or nose sits.
FACE_MIDDLE = 0.35
# Index and little finger further apart than this: an open hand (raised to ask), not a grip.
OPEN_HAND_DEG = 35.0
# Hands smaller or larger than this share of the face width belong to someone nearer or further.
HAND_SIZE = (0.15, 1.5)


def at_ear(hand: Hand, face: FaceResult, reach: float) -> bool:
    """A gripping hand beside the head, near an ear, between eye and chin height."""
    width = face.box.x2 - face.box.x1
    hx, hy = hand.centre
    if (
        not HAND_SIZE[0] * width <= hand.size <= HAND_SIZE[1] * width
        or hand.spread_deg > OPEN_HAND_DEG
    ):
        return False
    near = min(math.hypot(hx - x, hy - y) for x, y in face.keypoints[list(EARS)].tolist())
    eye_y = float(face.keypoints[list(EYES), 1].mean())
    beside = abs(hx - (face.box.x1 + face.box.x2) / 2) >= FACE_MIDDLE * width
    level = eye_y - 0.25 * width <= hy <= face.box.y2 + 0.25 * width
    return near <= reach * width and beside and level


def held(box: Box, hands: tuple[Hand, ...]) -> bool:
    """The box touches a hand (its landmark extent widened by half a hand)."""
    for hand in hands:
        pad = hand.size / 2
        if (
            box.x1 <= hand.box.x2 + pad
            and box.x2 >= hand.box.x1 - pad
            and box.y1 <= hand.box.y2 + pad
            and box.y2 >= hand.box.y1 - pad
        ):
            return True
    return False


def evidence(
    objects: Detections,
    hands: tuple[Hand, ...],
    face: FaceResult | None,
    head_down: bool,
    config: PhoneConfig,
) -> PhoneEvidence:
    """The best phone evidence in one object pass; `phone` says whether it suffices alone.

    head_down: the main face is bowed by config.head_down_deg or more from its baseline.
    """
    best = PhoneEvidence(0.0, None, (), phone=False)
    for found in objects[objects.label == PHONE]:
        box = Box(*found.box)
        score, cues = found.score, ["detected"]
        if held(box, hands):
            score, cues = score + config.held_bonus, [*cues, "in_hand"]
        if head_down and face is not None and box.y1 >= (face.box.y1 + face.box.y2) / 2:
            score, cues = score + config.looked_at_bonus, [*cues, "looked_at"]
        if score > best.score:
            best = PhoneEvidence(score, box, tuple(cues), phone=False)
    at_ears = [h for h in hands if face is not None and at_ear(h, face, config.ear_reach)]
    if at_ears:
        # The object model rarely sees a phone behind the hand: the hand alone is weak evidence.
        best = PhoneEvidence(
            max(best.score, config.weak_score),
            best.box if best.box is not None else at_ears[0].box,
            (*best.cues, "hand_at_ear"),
            phone=False,
        )
    return replace(best, score=min(best.score, 1.0), phone=best.score >= config.min_score)


@dataclass(slots=True)
class PhoneHistory:
    """The last object passes of one stream: whether each had at least weak phone evidence."""

    config: PhoneConfig
    passes: deque[bool] = field(default_factory=deque)

    def decide(self, found: PhoneEvidence) -> PhoneEvidence:
        """`found` with `phone` set when it is strong, or weak and confirm_passes of the last
        confirm_window passes (this one included) were at least weak."""
        self.passes.append(found.score >= self.config.weak_score)
        while len(self.passes) > self.config.confirm_window:
            self.passes.popleft()
        confirmed = self.passes[-1] and sum(self.passes) >= self.config.confirm_passes
        return replace(found, phone=found.phone or confirmed)


def with_phone(objects: Detections, found: PhoneEvidence) -> Detections:
    """The pass's objects with the phone candidates replaced by the decision: one phone at the
    evidence's box, scored by the evidence, or none."""
    others = objects[objects.label != PHONE]
    if not found.phone or found.box is None:
        return others
    b = found.box
    phone = Detections.of([[b.x1, b.y1, b.x2, b.y2]], [found.score], [PHONE])
    return Detections.merge(others, phone).by_confidence()
