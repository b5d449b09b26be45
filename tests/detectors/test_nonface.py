"""Face plausibility: what BlazeFace boxes counts as a face only if the face-mesh model agrees.

chelsea.jpg is scikit-image's "Chelsea the cat" (skimage/data/chelsea.png in the scikit-image
0.26.0 wheel, CC0 by the photographer, Stefan van der Walt), re-encoded as JPEG q90. BlazeFace
scores her face 0.75-0.8, so without the check she is a face.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from openproctor.detectors.analyzer import Analyzer, EnrolmentError
from openproctor.detectors.base import Frame
from openproctor.detectors.config import DetectorConfig, FaceConfig
from openproctor.detectors.face_mesh import head_pose, is_face
from openproctor.tools.identity_eval import letterboxed

DEFAULTS = FaceConfig()


@pytest.fixture(scope="module")
def unchecked(model_dir: Path) -> Analyzer:
    """Counts every detection, as before the check: shows the detector does box the non-face."""
    config = DetectorConfig(face=FaceConfig(min_presence=0.0), objects=None, speech=False)
    return Analyzer(model_dir, config)


@pytest.fixture(scope="module")
def cat(image: Callable[[str], Frame]) -> Frame:
    return letterboxed(image("chelsea"))


def with_head(frame: Frame, person: Frame, analyzer: Analyzer, width: int, x: int, y: int) -> Frame:
    """`frame` with the person's head pasted at (x, y), face `width` px wide."""
    face = analyzer.enrol(person).face.box
    head = letterboxed(person, face, width)[240 - width : 240 + width, 320 - width : 320 + width]
    out = frame.copy()
    out[y : y + 2 * width, x : x + 2 * width] = head[: 480 - y, : 640 - x]
    return out


def covered(person: Frame, patch: Frame, analyzer: Analyzer) -> Frame:
    """The person with `patch` held over their face (stretched to the face box)."""
    face = analyzer.enrol(person).face.box
    x1, y1, x2, y2 = (round(v) for v in face.to_list())
    out = person.copy()
    out[y1:y2, x1:x2] = cv2.resize(patch, (x2 - x1, y2 - y1))
    return out


def test_a_cat_is_no_face(analyzer: Analyzer, unchecked: Analyzer, cat: Frame) -> None:
    assert len(unchecked.analyze(cat, 0).faces) == 1
    result = analyzer.analyze(cat, 0, objects=False)
    assert result.faces == ()
    assert "no_face" in result.flags
    with pytest.raises(EnrolmentError, match="exactly one face"):
        analyzer.enrol(cat)


@pytest.mark.parametrize("name", ["astronaut", "id_obama_1", "id_biden_1"])
def test_a_cat_beside_the_candidate_is_no_second_face(
    analyzer: Analyzer, unchecked: Analyzer, image: Callable[[str], Frame], cat: Frame, name: str
) -> None:
    frame = with_head(cat, image(name), analyzer, 60, 500, 150)
    assert len(unchecked.analyze(frame, 0).faces) == 2
    result = analyzer.analyze(frame, 0, objects=False)
    assert len(result.faces) == 1
    assert result.faces[0].box.x1 > 450  # the person, not the cat
    assert "multiple_faces" not in result.flags


@pytest.mark.parametrize("name", ["id_obama_1", "pai_webcam_center"])
def test_a_cat_held_over_the_face_is_no_face(
    analyzer: Analyzer, unchecked: Analyzer, image: Callable[[str], Frame], name: str
) -> None:
    frame = covered(image(name), image("chelsea"), analyzer)
    assert len(unchecked.analyze(frame, 0).faces) == 1
    assert "no_face" in analyzer.analyze(frame, 0, objects=False).flags


@pytest.mark.parametrize("name", ["astronaut", "id_obama_1", "pai_webcam_center", "id_biden_1"])
def test_a_40_px_face_still_counts(
    analyzer: Analyzer, image: Callable[[str], Frame], name: str
) -> None:
    frame = image(name)
    small = letterboxed(frame, analyzer.enrol(frame).face.box, 40)
    result = analyzer.analyze(small, 0, objects=False)
    assert len(result.faces) == 1
    assert result.faces[0].mesh is not None


def pitched(landmarks: np.ndarray, degrees: float) -> np.ndarray:
    """The landmarks turned about the horizontal axis through their centre (negative: down)."""
    a = math.radians(degrees)
    # x right, y down, z away from the camera: bowing moves the forehead towards the camera.
    rotation = np.array([[1, 0, 0], [0, math.cos(a), math.sin(a)], [0, -math.sin(a), math.cos(a)]])
    centre = landmarks.mean(axis=0)
    return np.asarray((landmarks - centre) @ rotation.T + centre, np.float64)


def test_a_bowed_head_counts_at_low_presence(
    analyzer: Analyzer, image: Callable[[str], Frame], cat: Frame
) -> None:
    """Writing on the desk, the mesh's presence falls to 0.04 (evaluation set) but its landmarks
    still read a head pitched far down; a cat's mesh is near-frontal."""
    upright = analyzer.enrol(image("astronaut")).face.mesh
    assert upright is not None
    bowed = head_pose(pitched(upright.landmarks.astype(np.float64), -50.0))
    assert bowed.pitch < upright.pose.pitch - 45
    low = 0.04
    assert is_face(low, bowed, DEFAULTS.min_presence, DEFAULTS.head_down_deg)
    assert not is_face(low, upright.pose, DEFAULTS.min_presence, DEFAULTS.head_down_deg)
    assert is_face(upright.presence, upright.pose, DEFAULTS.min_presence, DEFAULTS.head_down_deg)
