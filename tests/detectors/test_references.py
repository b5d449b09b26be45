"""The identity reference set, on generated embeddings (no model)."""

from __future__ import annotations

import numpy as np

from openproctor.detectors.references import (
    JOIN_DISTANCE,
    MAX_LEARNT,
    MIN_POSE_SPREAD_DEG,
    ReferenceSet,
)

ENROLMENT = np.zeros(128, np.float32)


def at(dist: float, axis: int = 0) -> np.ndarray:
    """An embedding `dist` from ENROLMENT along one axis."""
    vector = np.zeros(128, np.float32)
    vector[axis] = dist
    return vector


def test_a_turned_head_matching_well_joins_and_then_the_nearest_reference_counts() -> None:
    refs = ReferenceSet(ENROLMENT, (0.0, 0.0))
    turned = at(0.35, axis=1)
    assert refs.learn(turned, yaw=25.0, pitch=0.0)
    # A face further turned: 0.6 from the enrolment (a mismatch alone), 0.3 from the learnt one.
    further = at(0.35, axis=1) + at(0.3, axis=2)
    assert abs(refs.distance(further) - 0.3) < 1e-6
    assert abs(ReferenceSet(ENROLMENT).distance(further) - np.hypot(0.35, 0.3)) < 1e-6


def test_only_close_matches_from_new_poses_join_and_only_a_few() -> None:
    refs = ReferenceSet(ENROLMENT, (0.0, 0.0))
    assert not refs.learn(at(JOIN_DISTANCE + 0.01), yaw=30.0, pitch=0.0)  # not close enough
    assert not refs.learn(at(0.2), yaw=MIN_POSE_SPREAD_DEG - 1, pitch=0.0)  # same pose
    yaws = [15.0 * (i + 1) for i in range(MAX_LEARNT + 1)]
    joined = [refs.learn(at(0.2, axis=i + 1), yaw=yaw, pitch=0.0) for i, yaw in enumerate(yaws)]
    assert joined == [True] * MAX_LEARNT + [False]
    assert refs.learnt_poses == [(yaw, 0.0) for yaw in yaws[:MAX_LEARNT]]


def test_the_set_does_not_drift_one_step_at_a_time() -> None:
    refs = ReferenceSet(ENROLMENT, (0.0, 0.0))
    step = at(0.35, axis=1)
    assert refs.learn(step, yaw=20.0, pitch=0.0)
    # Close to the learnt one (0.3) but 0.65 from the enrolment: the enrolment decides.
    beyond = step + at(0.3, axis=1)
    assert not refs.learn(beyond, yaw=40.0, pitch=0.0)
    assert len(refs.learnt) == 1
