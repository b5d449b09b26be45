"""A candidate's identity references: the enrolment embedding and a few learnt from live checks.

One enrolment photo shows one pose; later frames with the head turned or tilted are further
from it (README, "Identity"). So the first live checks that match the enrolment well, each
from a pose unlike the ones already kept, join the references, and a face is compared with the
nearest of them. Only the enrolment admits a newcomer (it must lie within JOIN_DISTANCE of the
enrolment itself), so the set cannot drift towards someone else one step at a time, and it
stops growing after MAX_LEARNT. Pure numpy; the worker keeps one per session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from openproctor.detectors.base import FloatArray
from openproctor.detectors.identity_dlib import distance

# A live embedding joins only this close to the enrolment: above every same-person pair's
# median and below the largest (0.386 photos, 0.439 letterboxed/small-face variants) and far
# below the nearest different-person pair (0.576) of `openproctor eval --variants`.
JOIN_DISTANCE = 0.40
# A newcomer's head pose must differ this much (degrees, yaw and pitch together) from every
# kept reference: a second frontal frame adds nothing.
MIN_POSE_SPREAD_DEG = 10.0
MAX_LEARNT = 4


@dataclass(slots=True)
class ReferenceSet:
    enrolment: FloatArray
    enrolment_pose: tuple[float, float] = (0.0, 0.0)  # yaw, pitch at enrolment
    learnt: list[FloatArray] = field(default_factory=list)
    learnt_poses: list[tuple[float, float]] = field(default_factory=list)

    def distance(self, embedding: FloatArray) -> float:
        """To the nearest reference."""
        return min(distance(embedding, ref) for ref in (self.enrolment, *self.learnt))

    def learn(self, embedding: FloatArray, yaw: float, pitch: float) -> bool:
        """Keeps `embedding` (from a frame showing one face at this pose) if it matches the
        enrolment within JOIN_DISTANCE from a new pose and there is room; says whether."""
        if len(self.learnt) >= MAX_LEARNT:
            return False
        if distance(embedding, self.enrolment) > JOIN_DISTANCE:
            return False
        poses = (self.enrolment_pose, *self.learnt_poses)
        if any(math.hypot(yaw - y, pitch - p) < MIN_POSE_SPREAD_DEG for y, p in poses):
            return False
        self.learnt.append(np.asarray(embedding, np.float32))
        self.learnt_poses.append((yaw, pitch))
        return True
