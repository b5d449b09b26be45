"""Detections (detectors/detections.py): one structure of arrays from the object model to the
live layer, checked when made, selected with masks."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from openproctor.detectors.base import Box
from openproctor.detectors.detections import DetectedObject, Detections


def three() -> Detections:
    return Detections.of(
        [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 70]],
        [0.4, 0.9, 0.7],
        ["cell phone", "cell phone", "person"],
    )


@pytest.mark.parametrize(
    ("xyxy", "confidence", "label", "message"),
    [
        ([[0, 0, 1, 1]], [0.5, 0.6], ["a"], "need xyxy of shape"),
        ([[0, 0, 1, 1]], [0.5], ["a", "b"], "need 1 labels"),
        ([[5, 0, 5, 1]], [0.5], ["a"], "empty boxes"),
        ([[0, 0, 1, 1]], [float("nan")], ["a"], "must be finite"),
    ],
)
def test_bad_detections_are_refused_when_made(
    xyxy: list[list[float]], confidence: list[float], label: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Detections.of(xyxy, confidence, label)


def test_masks_select_and_rows_read_as_plain_values() -> None:
    found = three()
    people = found[found.label == "person"]
    assert list(people) == [DetectedObject("person", 0.7, (50.0, 50.0, 60.0, 70.0))]
    assert len(found[found.confidence > 0.5]) == 2
    assert found.count("cell phone") == 2
    assert len(Detections.empty()) == 0
    assert Detections.empty().label.dtype.kind == "U"


def test_overlaps_of_one_label_go_and_the_most_confident_stays() -> None:
    kept = three().without_overlaps(0.45)
    assert [(o.label, o.score) for o in kept] == [("cell phone", 0.9), ("person", 0.7)]
    # The same as comparing Box by Box.
    a, b = Box(0, 0, 10, 10), Box(1, 1, 11, 11)
    assert a.iou(b) >= 0.45
    assert len(three().without_overlaps(a.iou(b))) == 2  # an overlap of exactly iou goes
    assert len(three().without_overlaps(a.iou(b) + 1e-9)) == 3


def test_merge_shift_and_order() -> None:
    merged = Detections.merge(three(), three().shifted(100, 200))
    assert len(merged) == 6
    assert merged.xyxy[3].tolist() == [100.0, 200.0, 110.0, 210.0]
    assert merged.by_confidence().confidence.tolist() == [0.9, 0.9, 0.7, 0.7, 0.4, 0.4]
    assert len(Detections.merge()) == 0


def test_detections_cross_processes_and_the_wire_exactly() -> None:
    found = three()
    assert pickle.loads(pickle.dumps(found)) == found  # noqa: S301 - our own bytes
    assert Detections.from_wire(json.loads(json.dumps(found.to_wire()))) == found
    assert found != found[np.array([True, True, False])]
    assert found.to_dicts()[2] == {"label": "person", "score": 0.7, "box": [50, 50, 60, 70]}
