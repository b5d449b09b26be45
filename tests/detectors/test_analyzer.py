from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from openproctor.detectors.analyzer import Analyzer, Baseline, EnrolmentError, face_region
from openproctor.detectors.base import Box, Frame
from openproctor.detectors.config import DetectorConfig, IdentityConfig
from openproctor.detectors.vad_silero import to_16k
from tests.detectors.conftest import read_wav


def test_one_frontal_face_raises_nothing(analyzer: Analyzer, image: Callable[[str], Frame]) -> None:
    result = analyzer.analyze(image("astronaut"), 40)
    assert result.flags == ()
    assert len(result.faces) == 1
    assert result.faces[0].mesh is not None
    assert result.persons.count == 1
    assert set(result.timings_ms) == {
        "face",
        "face_recheck",
        "mesh",
        "objects",
        "hands",
        "segmentation",
    }
    data = json.loads(result.to_json())
    assert data["ts_ms"] == 40
    assert {"pose", "eyes", "gaze"} <= set(data["faces"][0])


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("noface_coffee", {"no_face"}),
        ("fr_two_people", {"multiple_faces", "extra_person"}),
    ],
)
def test_single_frame_flags(
    analyzer: Analyzer, image: Callable[[str], Frame], name: str, flags: set[str]
) -> None:
    assert flags <= set(analyzer.analyze(image(name), 0).flags)


def test_gaze_is_judged_against_the_baseline(
    analyzer: Analyzer, image: Callable[[str], Frame]
) -> None:
    baseline = analyzer.enrol(image("pai_webcam_center")).baseline
    assert (
        "looking_away"
        not in analyzer.analyze(image("pai_webcam_center"), 0, baseline=baseline).flags
    )
    assert (
        "looking_away"
        in analyzer.analyze(image("pai_webcam_eyes_left"), 0, baseline=baseline).flags
    )
    turned = Baseline(yaw=baseline.yaw + 45, pitch=baseline.pitch, gaze_x=baseline.gaze_x)
    assert "looking_away" in analyzer.analyze(image("pai_webcam_center"), 0, baseline=turned).flags


def test_identity_against_the_enrolment(analyzer: Analyzer, image: Callable[[str], Frame]) -> None:
    reference = analyzer.enrol(image("id_obama_1")).embedding
    same = analyzer.analyze(image("id_obama_2"), 0, reference=reference, objects=False)
    other = analyzer.analyze(image("id_biden_1"), 0, reference=reference, objects=False)
    assert "identity_mismatch" not in same.flags
    assert "identity_mismatch" in other.flags
    assert (other.faces[0].identity_distance or 0) > (same.faces[0].identity_distance or 1)
    assert "identity" in same.timings_ms
    assert "objects" not in same.timings_ms


def test_enrolment_needs_exactly_one_face(
    analyzer: Analyzer, image: Callable[[str], Frame]
) -> None:
    for name in ("noface_coffee", "fr_two_people"):
        with pytest.raises(EnrolmentError, match="exactly one face"):
            analyzer.enrol(image(name))


def test_speech_comes_with_the_frame(analyzer: Analyzer, image: Callable[[str], Frame]) -> None:
    frame = image("astronaut")
    speech = analyzer.analyze(frame, 0, objects=False, audio=to_16k(read_wav("speech_en"), 16_000))
    quiet = analyzer.analyze(frame, 0, objects=False, audio=to_16k(read_wav("silence"), 16_000))
    assert "speech" in speech.flags
    assert (speech.speech_prob or 0) > 0.9
    assert "speech" not in quiet.flags


def test_bad_frames_are_refused_before_any_model(analyzer: Analyzer) -> None:
    for frame in (np.zeros((0, 0, 3), np.uint8), np.zeros((480, 640, 3), np.int16)):
        with pytest.raises(ValueError, match="frame"):
            analyzer.analyze(frame, 0)


def test_lean_config_skips_optional_stages(model_dir: Path, image: Callable[[str], Frame]) -> None:
    lean = Analyzer(
        model_dir,
        DetectorConfig(objects=None, speech=False, identity=IdentityConfig(enabled=False)),
    )
    result = lean.analyze(
        image("fr_two_people"),
        0,
        audio=np.zeros(16_000, np.float32),
        reference=np.zeros(128, np.float32),
    )
    assert len(result.objects) == 0
    # Without a body detector the two faces still make two persons.
    assert result.persons.count == 2
    assert "extra_person" in result.flags
    assert result.speech_prob is None
    assert set(result.timings_ms) == {"face", "face_recheck", "mesh"}
    with pytest.raises(EnrolmentError, match="disabled"):
        lean.enrol(image("astronaut"))


def test_face_region_lies_around_and_below_the_face() -> None:
    region = face_region(Box(600, 200, 700, 320), 1600, 1200)
    assert region == Box(400, 20, 900, 620)
    assert face_region(Box(600, 100, 700, 220), 1600, 1200) == Box(400, 0, 900, 520)
    # A face filling a webcam frame: the region would be most of the frame, nothing to magnify.
    assert face_region(Box(230, 150, 400, 330), 640, 480) is None


def test_small_faces_get_a_face_region_object_pass(
    analyzer: Analyzer, image: Callable[[str], Frame]
) -> None:
    frame = np.full((1200, 1600, 3), 90, np.uint8)
    frame[300:812, 700:1212] = image("astronaut")
    result = analyzer.analyze(frame, 0, recheck=False)
    assert len(result.faces) == 1
    assert "objects_crop" in result.timings_ms
    assert "cell phone" not in {o.label for o in result.objects}
    assert "objects_crop" not in analyzer.analyze(image("astronaut"), 0).timings_ms
