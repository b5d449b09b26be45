from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from openproctor.detectors.base import Frame
from openproctor.detectors.config import FaceConfig
from openproctor.detectors.face_mediapipe import FaceDetector, ssd_anchors


@pytest.fixture(scope="module")
def detector(model_dir: Path) -> FaceDetector:
    return FaceDetector(model_dir, FaceConfig(), 1)


def test_anchor_layouts_match_the_models() -> None:
    assert ssd_anchors(192, [(4, 1)]).shape == (2304, 2)
    back = ssd_anchors(256, [(16, 2), (32, 6)])
    assert back.shape == (896, 2)
    assert back[0] == pytest.approx([0.5 / 16, 0.5 / 16])


@pytest.mark.parametrize(
    ("name", "count"),
    [("astronaut", 1), ("id_obama_1", 1), ("fr_two_people", 2), ("noface_coffee", 0)],
)
def test_counts_faces(
    detector: FaceDetector, image: Callable[[str], Frame], name: str, count: int
) -> None:
    frame = image(name)
    first = detector.detect(frame, 0)
    both = detector.recheck(frame, first)
    assert len(first) == len(both) == count


def test_faces_are_most_confident_first_with_keypoints_inside(
    detector: FaceDetector, image: Callable[[str], Frame]
) -> None:
    faces = detector.detect(image("fr_two_people"), 0)
    assert faces[0].score >= faces[1].score
    for face in faces:
        assert face.score >= 0.5
        right_eye, left_eye, nose = face.keypoints[:3]
        assert face.box.x1 < right_eye[0] < nose[0] < left_eye[0] < face.box.x2
        assert face.box.y1 < nose[1] < face.box.y2


def test_boxes_follow_the_face_across_letterboxing(
    detector: FaceDetector, image: Callable[[str], Frame]
) -> None:
    frame = image("astronaut")
    offset = frame.shape[1] // 2
    wide = np.zeros((frame.shape[0], frame.shape[1] * 2, 3), np.uint8)
    wide[:, offset : offset + frame.shape[1]] = frame
    (face,) = detector.detect(frame, 0)
    (moved,) = detector.detect(wide, 0)
    assert moved.box.x1 - offset == pytest.approx(face.box.x1, abs=8)
    assert moved.box.y1 == pytest.approx(face.box.y1, abs=8)


def test_short_range_first_pass_for_near_faces(
    model_dir: Path, image: Callable[[str], Frame]
) -> None:
    detector = FaceDetector(model_dir, FaceConfig(first_pass="short_range"), 1)
    assert len(detector.detect(image("pai_webcam_center"), 0)) == 1
    assert len(detector.detect(image("fr_two_people"), 0)) == 2


def test_blank_and_grey_frames(detector: FaceDetector, image: Callable[[str], Frame]) -> None:
    assert detector.detect(np.zeros((480, 640, 3), np.uint8), 0) == ()
    grey = image("astronaut")[:, :, 1].copy()
    assert len(detector.detect(grey, 0)) == 1
