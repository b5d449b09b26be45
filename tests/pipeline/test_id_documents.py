"""The ID document job in a worker, on generated cards carrying the clean fixture faces."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from openproctor.detectors.base import Box, FaceResult, TextLine
from openproctor.detectors.config import DetectorConfig
from openproctor.pipeline import worker
from openproctor.pipeline.id_documents import pick_faces
from openproctor.pipeline.jobs import IdDocumentJob
from openproctor.pipeline.redis_queue import id_document_from_wire
from openproctor.pipeline.redis_worker import handle
from openproctor.tools import id_cards

FIXTURES = Path(__file__).parent.parent / "fixtures"


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(FIXTURES / f"{name}.jpg"))
    assert image is not None
    return np.asarray(image, np.uint8)


@pytest.fixture(scope="module")
def the_worker(model_dir: Path) -> worker.Worker:
    worker.init_worker(str(model_dir), DetectorConfig().model_dump_json())
    return worker._the_worker()


def card_of(the_worker: worker.Worker, face_photo: str, given: str, family: str) -> np.ndarray:
    image = photo(face_photo)
    (face,) = the_worker.analyzer.analyze(image, 0, objects=False).faces
    return id_cards.card(id_cards.CardText(given, family), id_cards.portrait(image, face.box))


def enrolment(the_worker: worker.Worker, name: str) -> tuple[float, ...]:
    return tuple(float(x) for x in the_worker.analyzer.enrol(photo(name)).embedding)


def test_the_same_persons_card_matches_and_anothers_does_not(the_worker: worker.Worker) -> None:
    reference = enrolment(the_worker, "id_obama_2")
    embedder = the_worker.analyzer.config.identity.embedder
    max_distance = the_worker.analyzer.config.identity.max_distance
    same = card_of(the_worker, "id_obama_1", "Barack", "Obama")
    other = card_of(the_worker, "id_biden_1", "Barack", "Obama")
    shot = id_cards.Shot(width=360, tilt_deg=4, turn=0.08, blur=0.6, noise=2)
    for image, matches in ((same, True), (other, False)):
        held = id_cards.held_to_camera(image, shot, photo("id_obama_2"))
        outcome = worker.id_document(IdDocumentJob("s1", held, reference, embedder))
        assert outcome.decoded
        assert outcome.document_face is not None
        # The portrait, not the holder: it sits on the card, in the lower part of the frame.
        assert outcome.document_face[1] > 240
        assert outcome.distance_enrolment is not None
        assert (outcome.distance_enrolment <= max_distance) is matches, outcome
        assert "OBAMA" in [line.text for line in outcome.lines]
        assert {"decode", "ocr_detect", "ocr_read", "faces"} <= set(outcome.timings_ms)


def test_a_frame_without_a_card_has_no_portrait(the_worker: worker.Worker) -> None:
    """The candidate's own face is never taken for the document's portrait."""
    reference = enrolment(the_worker, "id_obama_2")
    frame = id_cards.jpeg(photo("id_obama_1"))
    outcome = worker.id_document(IdDocumentJob("s1", frame, reference, None))
    assert outcome.document_face is None
    assert outcome.distance_enrolment is None
    assert outcome.distance_frame is None


def test_another_models_enrolment_is_not_compared(the_worker: worker.Worker) -> None:
    image = id_cards.jpeg(card_of(the_worker, "id_obama_1", "Barack", "Obama"))
    outcome = worker.id_document(
        IdDocumentJob("s1", image, enrolment(the_worker, "id_obama_2"), "dlib")
    )
    assert outcome.document_face is not None
    assert outcome.distance_enrolment is None


def test_an_image_that_cannot_be_read(the_worker: worker.Worker) -> None:
    outcome = worker.id_document(IdDocumentJob("s1", b"\xff\xd8 not a jpeg", None, None))
    assert not outcome.decoded
    assert outcome.lines == ()


def test_the_job_through_redis_gives_the_same_answer(the_worker: worker.Worker) -> None:
    image = id_cards.jpeg(card_of(the_worker, "id_obama_1", "Barack", "Obama"))
    job = IdDocumentJob("s1", image, enrolment(the_worker, "id_obama_2"), None)
    local = worker.id_document(job)
    description = asdict(job)
    description.pop("image")
    body, _, _ = handle({"kind": "id_document", **description}, image, b"", b"k" * 32)
    remote = id_document_from_wire(body)
    assert remote.lines == local.lines
    assert remote.document_face == local.document_face
    assert remote.distance_enrolment == local.distance_enrolment


def face(x1: float, y1: float, size: float) -> FaceResult:
    return FaceResult(Box(x1, y1, x1 + size, y1 + size), 0.9, np.zeros((6, 2), np.float32))


def line(x1: float, y1: float, height: float, width: float = 120) -> TextLine:
    return TextLine("TEXT", 0.9, (x1, y1, x1 + width, y1 + height))


def test_the_portrait_is_the_face_with_card_text_beside_it() -> None:
    holder, printed = face(250, 60, 160), face(200, 330, 50)
    card_lines = (line(260, 330, 8), line(260, 345, 10), line(260, 362, 8))
    assert pick_faces((holder, printed), card_lines) == (printed, holder)
    # The portrait was missed: the card's lines below the holder's face do not make it one.
    under_chin = (line(230, 260, 14), line(230, 280, 14), line(230, 300, 14))
    assert pick_faces((holder,), under_chin) == (None, None)
    # Nor does print much smaller than a face held beside the cheek.
    by_cheek = (line(430, 100, 5), line(430, 110, 5), line(430, 120, 5))
    assert pick_faces((holder,), by_cheek) == (None, None)
    # An uploaded photo of a card: one face, the lines beside it.
    assert pick_faces((printed,), card_lines) == (printed, None)
