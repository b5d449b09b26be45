from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from openproctor.detectors.base import FaceMesh, Frame
from openproctor.detectors.config import FaceConfig, TrackingConfig
from openproctor.detectors.face_mediapipe import FaceDetector
from openproctor.detectors.face_mesh import (
    FaceMeshDetector,
    eye_aspect_ratio,
    gaze_offset,
    head_pose,
    roi_of_face,
)


@pytest.fixture(scope="module")
def measure(model_dir: Path) -> Callable[[Frame], FaceMesh]:
    faces = FaceDetector(model_dir, FaceConfig(), 1)
    mesh = FaceMeshDetector(model_dir, FaceConfig().ear_closed, 1)

    def run(frame: Frame) -> FaceMesh:
        return mesh.measure(frame, faces.detect(frame, 0)[0])

    return run


def test_eye_aspect_ratio_of_an_open_and_a_shut_eye() -> None:
    open_eye = np.array([[0, 0], [3, -2], [7, -2], [10, 0], [7, 2], [3, 2]], np.float32)
    shut = np.asarray(open_eye * [1, 0.1], np.float32)
    assert eye_aspect_ratio(open_eye) == pytest.approx(0.4)
    assert eye_aspect_ratio(shut) == pytest.approx(0.04)


def test_gaze_offset_is_measured_along_the_eye() -> None:
    a, b = np.array([0, 0], np.float32), np.array([10, 0], np.float32)
    assert gaze_offset(a, b, np.array([5, 0], np.float32)) == pytest.approx((0, 0))
    assert gaze_offset(a, b, np.array([3, 1], np.float32)) == pytest.approx((-0.2, 0.1))


def test_head_pose_of_a_turned_synthetic_face() -> None:
    points = np.zeros((468, 3), np.float32)
    points[33], points[263] = [-1, 0, 0], [1, 0, 0]
    points[10], points[152] = [0, -1.5, 0], [0, 1.5, 0]
    assert head_pose(points).yaw == pytest.approx(0, abs=1e-4)
    angle = np.radians(30)
    # Turning to the image right brings the image-left eye towards the camera (smaller z).
    points[33] = [-np.cos(angle), 0, -np.sin(angle)]
    points[263] = [np.cos(angle), 0, np.sin(angle)]
    pose = head_pose(points)
    assert pose.yaw == pytest.approx(30, abs=1e-3)
    assert pose.pitch == pytest.approx(0, abs=1e-3)


def test_frontal_face_looks_ahead_with_open_eyes(
    measure: Callable[[Frame], FaceMesh], image: Callable[[str], Frame]
) -> None:
    mesh = measure(image("pai_webcam_center"))
    assert mesh.landmarks.shape == (468, 3)
    assert mesh.presence > 0.9
    assert abs(mesh.pose.yaw) < 10
    assert abs(mesh.pose.roll) < 10
    assert not mesh.eyes.closed
    assert min(mesh.eyes.ear_left, mesh.eyes.ear_right) > 0.25
    assert abs(mesh.gaze.x) < 0.08


def test_eyes_turned_aside_move_the_gaze(
    measure: Callable[[Frame], FaceMesh], image: Callable[[str], Frame]
) -> None:
    ahead = measure(image("pai_webcam_center"))
    aside = measure(image("pai_webcam_eyes_left"))
    assert aside.gaze.x < ahead.gaze.x - 0.1
    assert abs(aside.pose.yaw - ahead.pose.yaw) < 10


def test_steady_eyes_keep_their_reading_and_eyes_that_turn_are_read_again(
    model_dir: Path, image: Callable[[str], Frame]
) -> None:
    tracking = TrackingConfig()
    mesh = FaceMeshDetector(
        model_dir,
        FaceConfig().ear_closed,
        1,
        eyes_unchanged_diff=tracking.eyes_unchanged_diff,
        eyes_reuse_max=2,
    )
    ahead, aside = image("pai_webcam_center"), image("pai_webcam_eyes_left")
    roi = roi_of_face(FaceDetector(model_dir, FaceConfig(), 1).detect(ahead, 0)[0])
    first, seen = mesh.follow(ahead, roi, None)
    # The same eyes a frame later (a little sensor noise): the reading stands, up to twice.
    noisy = np.clip(
        ahead.astype(np.int16) + np.random.default_rng(1).integers(-3, 4, ahead.shape), 0, 255
    )
    again, kept = mesh.follow(noisy.astype(np.uint8), roi, seen)
    assert kept.reused == 1
    assert (again.gaze, again.eyes) == (first.gaze, first.eyes)
    assert mesh.follow(ahead, roi, kept)[1].reused == 2
    assert mesh.follow(ahead, roi, replace(kept, reused=2))[1].reused == 0
    # Eyes turned aside are read again: the gaze moves.
    turned, read = mesh.follow(aside, roi, seen)
    assert read.reused == 0
    assert turned.gaze.x < first.gaze.x - 0.1


def test_mirrored_face_mirrors_yaw_and_roll(
    measure: Callable[[Frame], FaceMesh], image: Callable[[str], Frame]
) -> None:
    frame = image("fr_two_people")[:, :420]  # Obama, head turned slightly
    mesh = measure(np.ascontiguousarray(frame))
    mirrored = measure(np.ascontiguousarray(frame[:, ::-1]))
    assert mirrored.pose.yaw == pytest.approx(-mesh.pose.yaw, abs=4)
    assert mirrored.pose.roll == pytest.approx(-mesh.pose.roll, abs=4)
