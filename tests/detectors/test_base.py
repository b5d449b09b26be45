from __future__ import annotations

import json

import numpy as np
import pytest

from openproctor.detectors.base import Box, FaceResult, FrameAnalysis, as_bgr
from openproctor.detectors.detections import Detections
from openproctor.detectors.persons import Persons


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((0, 0, 3), np.uint8), "too small"),
        (np.zeros((480, 640, 3), np.float32), "uint8"),
        (np.zeros((480, 640, 4), np.uint8), "HxWx3"),
        (np.zeros((2, 480, 640, 3), np.uint8), "HxWx3"),
        ([[0, 1], [2, 3]], "numpy array"),
        (None, "numpy array"),
    ],
)
def test_as_bgr_refuses_what_no_detector_can_use(frame: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        as_bgr(frame)


def test_as_bgr_widens_grey_frames() -> None:
    grey = np.full((48, 64), 7, np.uint8)
    for frame in (grey, grey[:, :, None]):
        out = as_bgr(frame)
        assert out.shape == (48, 64, 3)
        assert (out == 7).all()


def test_as_bgr_makes_views_contiguous() -> None:
    frame = np.zeros((64, 64, 3), np.uint8)[:, ::-1]
    assert as_bgr(frame).flags.c_contiguous


def test_box_rejects_empty_and_measures_overlap() -> None:
    with pytest.raises(ValueError, match="empty box"):
        Box(10, 10, 10, 20)
    a, b = Box(0, 0, 10, 10), Box(5, 0, 15, 10)
    assert a.area == 100
    assert a.iou(b) == pytest.approx(50 / 150)
    assert a.iou(Box(20, 20, 30, 30)) == 0


def test_frame_analysis_serialises_to_json() -> None:
    face = FaceResult(Box(1, 2, 30, 40), 0.91234, np.zeros((6, 2), np.float32))
    analysis = FrameAnalysis(
        ts_ms=1234,
        width=640,
        height=480,
        faces=(face,),
        objects=Detections.of(
            [[0, 0, 100, 200], [5, 5, 10, 10]], [0.8, 0.3], ["person", "cell phone"]
        ),
        speech_prob=None,
        timings_ms={"face": 3.14159},
        flags=("prohibited_object",),
        persons=Persons(faces=1, bodies=0),
    )
    data = json.loads(analysis.to_json())
    assert data["faces"] == [{"box": [1.0, 2.0, 30.0, 40.0], "score": 0.912}]
    assert data["persons"] == {"count": 1, "faces": 1, "bodies": 0}
    assert data["background"] == []
    assert data["timings_ms"] == {"face": 3.14}
    assert data["flags"] == ["prohibited_object"]
