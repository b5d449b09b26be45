"""POST /take/{token}/sessions/{id}/id-document: a generated ID card through a real worker."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.app import create_app
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin.models import Admission, CheckIn
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.settings import Settings
from openproctor.tools import id_cards
from tests.conftest import Factory
from tests.hostile_images import jpeg_declaring
from tests.idcards import CardMaker
from tests.web.webcam import webcam_jpeg

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="module")
def cards(model_dir: Path) -> dict[str, bytes]:
    """Cards held to the camera in front of Obama (a clean fixture): his own portrait and
    name, Biden's portrait with his name, and his portrait with another name."""
    maker = CardMaker(model_dir)
    return {
        "own": maker.held("id_obama_1.jpg", "Barack Hussein", "Obama"),
        "other_face": maker.held("id_biden_1.jpg", "Barack Hussein", "Obama"),
        "other_name": maker.held("id_obama_1.jpg", "Joseph Robinette", "Biden"),
    }


def checking_in(client: TestClient, factory: Factory, **policy: Any) -> tuple[str, Candidate]:
    exam = factory.exam(policy={"id_check": True, **policy})
    candidate = factory.candidate(exam, name="Barack")
    candidate.name = "Barack Obama"  # the factory makes the email from the name
    factory.db.commit()
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    base = f"/api/v1/take/{candidate.invite_token}"
    session_id = client.get(base).json()["session"]["id"]
    moved = client.post(f"{base}/sessions/{session_id}/state", json={"state": "checking"})
    assert moved.status_code == 200, moved.text
    return f"{base}/sessions/{session_id}/id-document", candidate


def send(client: TestClient, url: str, image: bytes) -> Any:
    return client.post(url, content=image, headers={"content-type": "image/jpeg"})


@pytest.mark.analysis
def test_the_candidates_own_id_passes_and_is_kept_as_evidence(
    client: TestClient, factory: Factory, cards: dict[str, bytes]
) -> None:
    url, candidate = checking_in(client, factory)
    answer = send(client, url, cards["own"])
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["passed"] is True, result
    assert result["face_found"]
    assert result["face_matched"]
    assert result["compared_with"] == "frame"  # not enrolled yet: the face holding the card
    assert result["distance"] <= result["max_distance"]
    assert result["name_matched"]
    assert "OBAMA" in result["name_lines"]
    assert {"received", "analysis", "store", "total", "ocr_detect", "faces"} <= set(
        result["timings_ms"]
    )
    assert result["guidance"] == "Thank you, your ID was checked."
    factory.db.expire_all()
    session = factory.db.scalar(select(ExamSession).where(ExamSession.candidate_id == candidate.id))
    assert session is not None
    stored = factory.db.get(StoredObject, uuid.UUID(result["document_id"]))
    assert stored is not None
    assert stored.purpose is ObjectPurpose.ID_DOCUMENT
    assert stored.session_id == session.id
    assert stored.storage_key.startswith(f"sessions/{session.id}/id-documents/")


@pytest.mark.analysis
def test_another_face_or_another_name_does_not_pass(
    client: TestClient, factory: Factory, cards: dict[str, bytes]
) -> None:
    url, _ = checking_in(client, factory)
    other_face = send(client, url, cards["other_face"]).json()
    assert other_face["face_found"], other_face
    assert other_face["face_matched"] is False, other_face
    assert other_face["name_matched"]
    assert not other_face["passed"]
    assert "does not look like you" in other_face["guidance"]
    other_name = send(client, url, cards["other_name"]).json()
    assert other_name["face_matched"], other_name
    assert not other_name["name_matched"], other_name
    assert not other_name["passed"]
    assert "cannot read your name" in other_name["guidance"]


def test_bad_input_gets_a_clear_error(client: TestClient, factory: Factory) -> None:
    url, _ = checking_in(client, factory)
    not_an_image = send(client, url, b"%PDF-1.4 a scanned passport")
    assert not_an_image.status_code == 422
    assert not_an_image.json()["detail"] == "send a JPEG or PNG photo: not a JPEG or PNG image"
    huge = send(client, url, jpeg_declaring(8000, 6000))
    assert huge.status_code == 413
    assert "at most 3840x2160" in huge.json()["detail"]
    too_many_bytes = send(client, url, b"\xff\xd8" + b"\0" * (4 * 1024 * 1024))
    assert too_many_bytes.status_code == 413
    assert too_many_bytes.json()["detail"] == "the ID photo may be at most 4 MiB"
    assert factory.db.scalar(select(StoredObject.id)) is None


def test_an_exam_without_the_id_check_refuses(client: TestClient, factory: Factory) -> None:
    url, _ = checking_in(client, factory, id_check=False)
    answer = send(client, url, id_cards.jpeg(np.zeros((10, 10, 3), np.uint8)))
    assert answer.status_code == 409
    assert answer.json()["detail"] == "this exam does not ask for an ID"


def enrolled(client: TestClient, url: str) -> None:
    """The candidate's accepted enrolment photo (Obama, letterboxed as the page sends it)."""
    answer = client.post(
        url.replace("/id-document", "/enrol"),
        content=webcam_jpeg("id_obama_2.jpg"),
        headers={"content-type": "image/jpeg"},
    )
    assert answer.status_code == 200, answer.text


def checkin_of(factory: Factory, candidate: Candidate) -> tuple[SessionState, CheckIn]:
    factory.db.expire_all()
    session = factory.db.scalar(select(ExamSession).where(ExamSession.candidate_id == candidate.id))
    assert session is not None
    return session.state, CheckIn.of(session.checkin)


@pytest.mark.analysis
def test_the_id_after_the_photo_decides_the_admission(
    client: TestClient, factory: Factory, cards: dict[str, bytes]
) -> None:
    url, candidate = checking_in(client, factory)
    enrolled(client, url)
    # The photo would admit, but the exam waits for the ID: the candidate's page shows it next.
    state, checkin = checkin_of(factory, candidate)
    assert (state, checkin.admission, checkin.photo_admits) == (SessionState.CHECKING, None, True)
    assert client.get(url.split("/sessions/")[0]).json()["checkin"]["id_step"] is True

    result = send(client, url, cards["own"]).json()
    assert result["passed"], result
    assert result["compared_with"] == "enrolment"
    assert not result["retry"]
    state, checkin = checkin_of(factory, candidate)
    assert (state, checkin.admission) == (SessionState.ENROLLED, Admission.ADMITTED)
    assert checkin.photo_admits is None
    assert checkin.id_document is not None
    assert checkin.id_document.image_url == f"/api/v1/evidence/{result['document_id']}"
    assert checkin.reason is not None
    assert checkin.reason.startswith("no reference photo: the enrolment photo is the reference; ")
    assert "the ID's photo matches the live face" in checkin.reason
    assert checkin.reason.endswith(", the name is on it")


@pytest.mark.analysis
def test_another_face_on_the_id_waits_for_a_proctor_at_once(
    client: TestClient, factory: Factory, cards: dict[str, bytes]
) -> None:
    url, candidate = checking_in(client, factory)
    enrolled(client, url)
    result = send(client, url, cards["other_face"]).json()
    assert not result["retry"], result  # another picture cannot make it Obama
    state, checkin = checkin_of(factory, candidate)
    assert (state, checkin.admission) == (SessionState.CHECKING, Admission.WAITING)
    assert not checkin.needs_help
    assert "the ID's photo does not match the live face" in (checkin.reason or "")
    # Waiting: the proctor decides, the page sends nothing more.
    again = send(client, url, cards["own"])
    assert again.status_code == 409
    assert again.json()["detail"] == "a proctor will admit you shortly"


@pytest.mark.analysis
def test_unreadable_names_are_retried_then_a_proctor_helps(
    client: TestClient, factory: Factory, cards: dict[str, bytes]
) -> None:
    url, candidate = checking_in(client, factory, enrol_attempts=2)
    enrolled(client, url)
    first = send(client, url, cards["other_name"]).json()
    assert first["retry"], first
    state, checkin = checkin_of(factory, candidate)
    assert (state, checkin.admission, checkin.failed_attempts) == (SessionState.CHECKING, None, 1)
    assert checkin.photo_admits is True  # still waiting for an ID
    send(client, url, cards["other_name"])
    state, checkin = checkin_of(factory, candidate)
    assert (state, checkin.admission) == (SessionState.CHECKING, Admission.WAITING)
    assert checkin.needs_help
    assert checkin.photo_admits is None
    assert checkin.reason is not None
    assert checkin.reason.startswith("2 ID photos refused; the last: the ID's photo matches")
    assert checkin.reason.endswith("the roster name was not found")


@pytest.mark.analysis
def test_the_practice_run_says_whether_the_id_would_be_read_and_keeps_nothing(
    client: TestClient, factory: Factory, cards: dict[str, bytes]
) -> None:
    _, candidate = checking_in(client, factory)
    practice = f"/api/v1/take/{candidate.invite_token}/practice/id-document"
    own = send(client, practice, cards["own"]).json()
    assert own == {
        "passed": True,
        "guidance": "Your ID can be read: we found your name and your photo on it.",
    }
    other_name = send(client, practice, cards["other_name"]).json()
    assert other_name == {
        "passed": False,
        "guidance": "We cannot read your name on the ID. Hold it closer, without glare.",
    }
    assert send(client, practice, b"%PDF-1.4").status_code == 422
    assert factory.db.scalar(select(StoredObject.id)) is None
    state, checkin = checkin_of(factory, candidate)
    assert (state, checkin.id_document) == (SessionState.CHECKING, None)


def test_the_practice_run_of_an_exam_without_the_id_check_refuses(
    client: TestClient, factory: Factory
) -> None:
    _, candidate = checking_in(client, factory, id_check=False)
    practice = f"/api/v1/take/{candidate.invite_token}/practice/id-document"
    answer = send(client, practice, id_cards.jpeg(np.zeros((10, 10, 3), np.uint8)))
    assert answer.status_code == 409
    assert answer.json()["detail"] == "this exam does not ask for an ID"


@pytest.mark.analysis
def test_a_check_that_overruns_says_busy_not_an_error(
    settings: Settings, factory: Factory, cards: dict[str, bytes]
) -> None:
    app = create_app(settings.model_copy(update={"analysis_job_timeout_s": 0.001}))
    with TestClient(app, follow_redirects=False) as client:
        url, _ = checking_in(client, factory)
        answer = send(client, url, cards["own"])
    app.state.context.engine.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.json()["detail"] == "the image check is busy right now: try again in a moment"
    assert answer.headers["retry-after"] == "5"
