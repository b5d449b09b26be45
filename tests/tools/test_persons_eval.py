from __future__ import annotations

import numpy as np

from openproctor.detectors.base import Box, FaceResult, FrameAnalysis
from openproctor.detectors.detections import Detections
from openproctor.detectors.persons import Persons
from openproctor.tools.eval_stats import rate
from openproctor.tools.persons_eval import PersonTally


def _analysis(faces: int, bodies: int) -> FrameAnalysis:
    face = FaceResult(Box(1, 2, 30, 40), 0.9, np.zeros((6, 2), np.float32))
    return FrameAnalysis(
        ts_ms=0,
        width=640,
        height=480,
        faces=(face,) * faces,
        objects=Detections.empty(),
        speech_prob=None,
        timings_ms={},
        flags=(),
        persons=Persons(faces=faces, bodies=bodies),
    )


def test_persons_are_scored_against_faces_and_the_optional_persons_label() -> None:
    tally = PersonTally()
    tally.add({"file": "group.jpg", "faces": "2", "persons": "3"}, _analysis(2, 1))
    tally.add({"file": "cut.jpg", "faces": "1", "persons": "2"}, _analysis(1, 0))
    tally.add({"file": "alone.jpg", "faces": "1", "persons": ""}, _analysis(1, 1))
    tally.add({"file": "none.jpg", "faces": "1"}, _analysis(0, 0))
    report = tally.to_dict()
    assert report["at_least_faces"] == rate(3, 4)
    assert report["exact"] == rate(1, 2)
    assert report["wrong"] == [{"file": "cut.jpg", "want": 2, "got": 1, "faces": 1, "bodies": 0}]
    # Without a persons label, the faces label decides whether extra_person was right.
    assert report["one_counted_as_many"] == ["alone.jpg"]
    assert report["many_counted_as_one"] == ["cut.jpg"]
