from __future__ import annotations

from openproctor.detectors.base import FrameAnalysis
from openproctor.detectors.detections import Detections
from openproctor.detectors.persons import Persons
from openproctor.tools.objects_eval import ObjectTally

ROW = {"phone": "0", "book": "0", "laptop": "0"}


def _analysis(zone: list[str], background: list[str]) -> FrameAnalysis:
    def found(labels: list[str]) -> Detections:
        return Detections.of([[0, 0, 10, 10]] * len(labels), [0.5] * len(labels), labels)

    return FrameAnalysis(
        ts_ms=0,
        width=640,
        height=480,
        faces=(),
        objects=found(zone),
        speech_prob=None,
        timings_ms={},
        flags=(),
        persons=Persons(faces=1, bodies=0),
        background=found(background),
    )


def test_a_shelf_book_behind_the_candidate_is_reported_but_not_flagged() -> None:
    tally = ObjectTally()
    tally.add({**ROW, "file": "shelf.jpg", "book": "1"}, _analysis([], ["book"]))
    tally.add({**ROW, "file": "held.jpg", "book": "1"}, _analysis(["book"], []))
    tally.add({**ROW, "file": "poster.jpg"}, _analysis([], ["laptop"]))
    report = tally.to_dict()
    flagged, reported = report["objects"], report["objects_reported"]
    assert (flagged["book"]["tp"], flagged["book"]["missed"]) == (1, ["shelf.jpg"])
    assert (reported["book"]["tp"], reported["book"]["fn"]) == (2, 0)
    assert flagged["laptop"]["fp"] == 0
    assert reported["laptop"]["false_alarms"] == ["poster.jpg"]
    assert report["objects_outside_zone"] == [
        {"file": "shelf.jpg", "label": "book"},
        {"file": "poster.jpg", "label": "laptop"},
    ]
