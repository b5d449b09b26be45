from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from openproctor.detectors.base import FloatArray, Frame
from openproctor.detectors.config import FaceConfig, IdentityConfig
from openproctor.detectors.face_mediapipe import FaceDetector
from openproctor.detectors.identity_dlib import IdentityEmbedder, distance


@pytest.fixture(scope="module")
def embed(model_dir: Path, image: Callable[[str], Frame]) -> Callable[[str], FloatArray]:
    faces = FaceDetector(model_dir, FaceConfig(), 1)
    embedder = IdentityEmbedder(model_dir)

    def run(name: str) -> FloatArray:
        frame = image(name)
        return embedder.embed(frame, faces.detect(frame, 0)[0].box)

    return run


def test_same_person_is_close_and_different_people_are_far(
    embed: Callable[[str], FloatArray],
) -> None:
    threshold = IdentityConfig().max_distance
    obama_1, obama_2, biden = embed("id_obama_1"), embed("id_obama_2"), embed("id_biden_1")
    assert obama_1.shape == (128,)
    assert distance(obama_1, obama_1) == 0
    assert distance(obama_1, obama_2) < threshold
    assert distance(obama_1, biden) > threshold
    assert distance(obama_2, biden) > threshold
