from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from openproctor.detectors.base import Box, FloatArray, Frame
from openproctor.detectors.config import FaceConfig, IdentityConfig
from openproctor.detectors.face_mediapipe import FaceDetector
from openproctor.detectors.identity_dlib import (
    DlibEmbedder,
    OnnxEmbedder,
    build_embedder,
    distance,
)
from openproctor.tools.identity_eval import letterboxed

Embed = Callable[[Frame], FloatArray]


@pytest.fixture(scope="module")
def faces(model_dir: Path) -> FaceDetector:
    return FaceDetector(model_dir, FaceConfig(), 1)


def main_face(faces: FaceDetector, frame: Frame) -> Box:
    found = faces.detect(frame, 0)
    assert len(found) == 1
    return found[0].box


@pytest.fixture(scope="module", params=["resnet_onnx", "dlib"])
def embed(request: pytest.FixtureRequest, model_dir: Path, faces: FaceDetector) -> Embed:
    embedder = (
        DlibEmbedder(model_dir)
        if request.param == "dlib"
        else OnnxEmbedder(model_dir, 1, flip=IdentityConfig().flip)
    )
    return lambda frame: embedder.embed(frame, main_face(faces, frame))


def test_same_person_is_close_and_different_people_are_far(
    embed: Embed, image: Callable[[str], Frame]
) -> None:
    threshold = IdentityConfig().max_distance
    obama_1, obama_2 = embed(image("id_obama_1")), embed(image("id_obama_2"))
    biden = embed(image("id_biden_1"))
    assert obama_1.shape == (128,)
    assert distance(obama_1, obama_1) == 0
    assert distance(obama_1, obama_2) < threshold
    assert distance(obama_1, biden) > threshold
    assert distance(obama_2, biden) > threshold


@pytest.mark.parametrize("face_width", [160, 60, 40])
def test_a_pose_change_letterboxed_and_leaning_back_still_matches(
    face_width: int, embed: Embed, faces: FaceDetector, image: Callable[[str], Frame]
) -> None:
    """Enrolled from the podium photo (head turned, lit differently), checked on the portrait
    letterboxed into a 640x480 frame with the face down to 40 px wide (a candidate who leant
    back); Biden the same way."""
    threshold = IdentityConfig().max_distance
    portrait, biden = image("id_obama_1"), image("id_biden_1")
    small = letterboxed(portrait, main_face(faces, portrait), face_width)
    small_biden = letterboxed(biden, main_face(faces, biden), face_width)
    podium = embed(image("id_obama_2"))
    assert distance(embed(small), podium) < threshold
    assert distance(embed(small_biden), podium) > threshold
    assert distance(embed(small_biden), embed(small)) > threshold


def test_the_onnx_network_gives_dlibs_embedding(
    model_dir: Path, faces: FaceDetector, image: Callable[[str], Frame]
) -> None:
    """The converted graph is dlib's network: without the mirror average it lands within the
    8-bit quantisation's reach of dlib's own embedding, far inside the same-person range."""
    dlib_net, onnx_net = DlibEmbedder(model_dir), OnnxEmbedder(model_dir, 1, flip=False)
    for name in ("id_obama_1", "id_biden_1", "astronaut", "pai_webcam_center"):
        frame = image(name)
        box = main_face(faces, frame)
        assert distance(dlib_net.embed(frame, box), onnx_net.embed(frame, box)) < 0.06, name


def test_the_config_selects_the_embedder(model_dir: Path) -> None:
    assert isinstance(build_embedder(model_dir, IdentityConfig(), 1), OnnxEmbedder)
    assert isinstance(build_embedder(model_dir, IdentityConfig(model="dlib"), 1), DlibEmbedder)
