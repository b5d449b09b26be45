"""The decision on the web node, from a worker's findings and the roster name."""

from __future__ import annotations

import uuid
from dataclasses import replace

from openproctor.db import utcnow
from openproctor.detectors.base import TextLine
from openproctor.domains.iddoc.flows import decide
from openproctor.domains.iddoc.models import IdCheckRead
from openproctor.pipeline.jobs import IdDocumentOutcome

FOUND = IdDocumentOutcome(
    decoded=True,
    lines=(
        TextLine("IDENTITY CARD", 0.99, (10, 10, 200, 30)),
        TextLine("NGUYEN", 0.98, (120, 60, 220, 80)),
        TextLine("THI LAN", 0.97, (120, 90, 220, 110)),
    ),
    document_face=(10.0, 50.0, 110.0, 150.0),
    live_face=(300.0, 40.0, 460.0, 200.0),
    distance_enrolment=0.41,
    distance_frame=0.62,
    max_distance=0.5,
    embedder="resnet_onnx+flip",
    timings_ms={"ocr_detect": 200.0},
)


def result(outcome: IdDocumentOutcome, name: str = "Nguyễn Thị Lan") -> IdCheckRead:
    return decide(
        outcome, name, document_id=uuid.uuid4(), checked_at=utcnow(), timings_ms={"total": 1.0}
    )


def test_the_enrolment_decides_over_the_face_in_the_frame() -> None:
    checked = result(FOUND)
    assert checked.compared_with == "enrolment"
    assert checked.distance == 0.41
    assert checked.face_matched is True
    assert checked.name_matched is True
    assert checked.name_lines == ["NGUYEN", "THI LAN"]
    assert checked.passed is True
    assert checked.timings_ms == {"ocr_detect": 200.0, "total": 1.0}


def test_without_an_enrolment_the_holders_face_decides() -> None:
    checked = result(replace(FOUND, distance_enrolment=None))
    assert checked.compared_with == "frame"
    assert checked.face_matched is False
    assert checked.passed is False
    assert (
        checked.guidance == "The photo on the ID does not look like you. A proctor will check it."
    )


def test_a_small_portrait_that_does_not_match_asks_to_come_closer() -> None:
    small = replace(FOUND, distance_enrolment=0.55, document_face=(10.0, 50.0, 60.0, 100.0))
    assert "Hold the ID closer" in result(small).guidance


def test_nothing_to_compare_is_not_a_match_and_not_a_mismatch() -> None:
    checked = result(replace(FOUND, distance_enrolment=None, distance_frame=None))
    assert checked.face_matched is None
    assert checked.passed is False
    assert "A proctor will compare" in checked.guidance


def test_another_name_fails_and_says_so() -> None:
    checked = result(FOUND, name="Tran Van Minh")
    assert checked.name_matched is False
    assert checked.passed is False
    assert checked.guidance == "We cannot read your name on the ID. Hold it closer, without glare."
