"""Check-in over the API with the real face models, on SQLite and PostgreSQL: reference photos
(one, or a ZIP with the roster; refused with a reason, all or nothing), enrolment compared
with the reference and the exam's admission policy, the lobby, a proctor's admit / reject /
retry (audited), and the lobby after too many refused photos.

Two real people from the clean fixtures: Obama (two photos) and Biden; the live enrolment
photo is a fixture letterboxed into the 640x480 frame the page sends."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from tests.conftest import Factory, login
from tests.domains.audit_trail import trail
from tests.web.webcam import FIXTURES, webcam_jpeg

pytestmark = pytest.mark.analysis


def upload(client: TestClient, candidate: Candidate, name: str, data: bytes | None = None) -> Any:
    photo = data if data is not None else (FIXTURES / name).read_bytes()
    return client.put(
        f"/api/v1/candidates/{candidate.id}/reference-photo",
        files={"photo": (name, photo, "image/jpeg")},
    )


def checking(factory: Factory, candidate: Candidate) -> ExamSession:
    """The candidate agreed to the rules: their page takes the enrolment photo next."""
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    sessions.move(session, SessionState.CHECKING)
    factory.db.commit()
    return session


def enrol(client: TestClient, candidate: Candidate, session: ExamSession, photo: bytes) -> Any:
    return client.post(
        f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}/enrol",
        content=photo,
        headers={"Content-Type": "image/jpeg"},
    )


def stored(factory: Factory, row: Any) -> Any:
    factory.db.expire_all()
    return factory.db.get(type(row), row.id)


def setup(factory: Factory, client: TestClient, **policy: Any) -> tuple[Exam, Candidate]:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy=policy) if policy else factory.exam()
    candidate = factory.candidate(exam, proctor)
    login(client, factory.user(Role.ADMIN))
    return exam, candidate


def test_the_same_person_is_admitted_and_another_waits_for_the_proctor(
    client: TestClient, factory: Factory
) -> None:
    exam, ada = setup(factory, client)
    bob = factory.candidate(exam, name="Bob")
    assert upload(client, ada, "id_obama_1.jpg").status_code == 200
    registered = upload(client, bob, "id_biden_1.jpg")
    assert registered.status_code == 200, registered.text
    assert registered.json()["embedder"] == "resnet_onnx+flip"
    photo = client.get(registered.json()["url"])
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.content == (FIXTURES / "id_biden_1.jpg").read_bytes()

    # Obama's live face against Obama's reference: admitted at once.
    ada_session = checking(factory, ada)
    admitted = enrol(client, ada, ada_session, webcam_jpeg("id_obama_2.jpg"))
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["state"] == "enrolled"
    checkin = client.get(f"/api/v1/sessions/{ada_session.id}/checkin").json()
    assert checkin["admission"] == "admitted"
    assert checkin["decided_by"] == "auto"
    assert checkin["reference_distance"] < checkin["threshold"] == 0.5
    # Once admitted, another face cannot take the place of the enrolment.
    before = stored(factory, ada_session).enrollment
    swap = enrol(client, ada, ada_session, webcam_jpeg("pai_webcam_center.jpg"))
    assert swap.status_code == 409
    assert swap.json()["detail"] == (
        "you are admitted already; this photo cannot replace your photo"
    )
    assert stored(factory, ada_session).enrollment == before

    # Obama's live face against Biden's reference: waits in the lobby.
    bob_session = checking(factory, bob)
    held = enrol(client, bob, bob_session, webcam_jpeg("id_obama_2.jpg"))
    assert held.status_code == 200, held.text
    assert held.json()["state"] == "checking"
    [waiting] = client.get(f"/api/v1/exams/{exam.id}/lobby").json()
    assert waiting["session_id"] == str(bob_session.id)
    assert waiting["checkin"]["reference_distance"] > 0.5
    assert "does not match the reference photo" in waiting["checkin"]["reason"]
    assert client.get(waiting["live_url"]).headers["content-type"] == "image/jpeg"
    assert client.get(waiting["reference_url"]).status_code == 200
    # The candidate is told they wait, not how near they came.
    view = client.get(f"/api/v1/take/{bob.invite_token}").json()
    assert view["checkin"] == {
        "admission": "waiting",
        "note": None,
        "needs_help": False,
        "id_step": False,
    }
    again = enrol(client, bob, bob_session, webcam_jpeg("id_obama_2.jpg"))
    assert again.status_code == 409
    assert again.json()["detail"] == "a proctor will admit you shortly"

    with client.websocket_connect(f"/ws/take/{bob.invite_token}/lobby") as lobby:
        assert lobby.receive_json()["admission"] == "waiting"
        admit = client.post(f"/api/v1/sessions/{bob_session.id}/admit", json={"reason": "ID seen"})
        assert admit.status_code == 200, admit.text
        assert admit.json()["state"] == "enrolled"
        # The waiting page hears it at once, with the proctor's words.
        assert lobby.receive_json() == {
            "type": "admission",
            "admission": "admitted",
            "note": "ID seen",
            "needs_help": False,
            "id_step": False,
            "state": "enrolled",
        }
    assert client.get(f"/api/v1/exams/{exam.id}/lobby").json() == []
    assert ("checkin.admit", {"reason": "ID seen"}) in trail(factory.db, bob_session.id)
    twice = client.post(f"/api/v1/sessions/{bob_session.id}/admit", json={})
    assert twice.status_code == 409


def test_an_exam_admitted_by_proctors_holds_even_a_match(
    client: TestClient, factory: Factory
) -> None:
    _, ada = setup(factory, client, admission="proctor")
    upload(client, ada, "id_obama_1.jpg")
    session = checking(factory, ada)
    assert enrol(client, ada, session, webcam_jpeg("id_obama_2.jpg")).json()["state"] == "checking"
    checkin = client.get(f"/api/v1/sessions/{session.id}/checkin").json()
    assert checkin["admission"] == "waiting"
    assert checkin["reason"].startswith("this exam admits candidates by a proctor; the live face")

    retry = client.post(f"/api/v1/sessions/{session.id}/retry", json={"reason": "more light"})
    assert retry.status_code == 200, retry.text
    view = client.get(f"/api/v1/take/{ada.invite_token}").json()
    assert view["checkin"] == {
        "admission": "retry",
        "note": "more light",
        "needs_help": False,
        "id_step": False,
    }
    assert enrol(client, ada, session, webcam_jpeg("id_obama_2.jpg")).json()["state"] == "checking"

    missing_reason = client.post(f"/api/v1/sessions/{session.id}/reject", json={"reason": ""})
    assert missing_reason.status_code == 200  # the API default reason; the wall asks for one
    assert stored(factory, session).state is SessionState.TERMINATED
    assert stored(factory, session).end_reason == "not admitted: not admitted by the proctor"
    assert [a for a, _ in trail(factory.db, session.id)][-3:] == [
        "checkin.retry",
        "checkin.reject",
        "session.terminated",
    ]


def test_a_candidate_without_a_reference_is_admitted_as_before(
    client: TestClient, factory: Factory
) -> None:
    _, ada = setup(factory, client)
    session = checking(factory, ada)
    assert enrol(client, ada, session, webcam_jpeg("id_obama_2.jpg")).json()["state"] == "enrolled"
    checkin = client.get(f"/api/v1/sessions/{session.id}/checkin").json()
    assert checkin["reference_distance"] is None
    assert checkin["reason"] == "no reference photo: the enrolment photo is the reference"


def test_refused_photos_send_the_candidate_to_the_lobby_and_a_proctor_admits_them(
    client: TestClient, factory: Factory
) -> None:
    exam, ada = setup(factory, client, enrol_attempts=3)
    upload(client, ada, "id_obama_1.jpg")
    session = checking(factory, ada)
    no_face = webcam_jpeg("noface_coffee.jpg")
    for _ in range(2):
        refused = enrol(client, ada, session, no_face)
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("We cannot see your face.")
    assert client.get(f"/api/v1/exams/{exam.id}/lobby").json() == []
    third = enrol(client, ada, session, no_face)
    assert third.status_code == 200, third.text
    assert third.json()["state"] == "checking"
    [waiting] = client.get(f"/api/v1/exams/{exam.id}/lobby").json()
    assert waiting["checkin"]["failed_attempts"] == 3
    assert waiting["checkin"]["reason"].startswith("3 enrolment photos refused; the last: We")
    assert waiting["live_url"] is not None  # the proctor sees what the camera shows
    view = client.get(f"/api/v1/take/{ada.invite_token}").json()
    assert view["checkin"]["needs_help"] is True

    assert client.post(f"/api/v1/sessions/{session.id}/admit", json={}).status_code == 200
    row = stored(factory, session)
    assert row.state is SessionState.ENROLLED
    # Checked during the exam against the registered photo, the only face there is.
    assert row.enrollment["embedder"] == "resnet_onnx+flip"
    assert len(row.enrollment["embedding"]) == 128


def test_a_reference_photo_without_exactly_one_face_is_refused_with_the_reason(
    client: TestClient, factory: Factory
) -> None:
    _, ada = setup(factory, client)
    cases = {
        "noface_coffee.jpg": "no face found in the photo",
        "fr_two_people.jpg": "the photo shows 2 faces",
    }
    for name, why in cases.items():
        response = upload(client, ada, name)
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == [{"file": name, "message": why}]
    not_image = upload(client, ada, "notes.jpg", b"just text")
    assert not_image.json()["detail"] == [
        {"file": "notes.jpg", "message": "not a JPEG or PNG image"}
    ]
    assert stored(factory, ada).reference_photo is None
    assert client.get(f"/api/v1/candidates/{ada.id}/reference-photo").status_code == 404


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_roster_zip_is_imported_whole_or_not_at_all(client: TestClient, factory: Factory) -> None:
    exam, ada = setup(factory, client)
    bob = factory.candidate(exam, name="Bob")
    bob.external_id = "S-1002"
    factory.db.commit()
    obama, biden = (
        (FIXTURES / "id_obama_1.jpg").read_bytes(),
        (FIXTURES / "id_biden_1.jpg").read_bytes(),
    )
    path = f"/api/v1/exams/{exam.id}/reference-photos"

    def send(files: dict[str, bytes]) -> Any:
        return client.post(
            path, files={"archive": ("photos.zip", zipped(files), "application/zip")}
        )

    bad = send(
        {
            f"photos/{ada.email.upper()}.jpg": obama,
            "S-1002.JPG": (FIXTURES / "noface_coffee.jpg").read_bytes(),
            "stranger@example.com.jpg": biden,
            "readme.txt": b"hello",
        }
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["detail"] == [
        {
            "file": "stranger@example.com.jpg",
            "message": "names no candidate of this exam (email or external id)",
        },
        {"file": "readme.txt", "message": "not a .jpg, .jpeg or .png file"},
    ]
    faceless = send(
        {f"{ada.email}.jpg": obama, "S-1002.jpg": (FIXTURES / "noface_coffee.jpg").read_bytes()}
    )
    assert faceless.json()["detail"] == [
        {"file": "S-1002.jpg", "message": "no face found in the photo"}
    ]
    assert stored(factory, ada).reference_photo is None  # nothing half-imported

    good = send({f"{ada.email}.jpg": obama, "s-1002.jpeg": biden, ".DS_Store": b"x"})
    assert good.status_code == 201, good.text
    assert good.json()["imported"] == 2
    assert stored(factory, ada).reference_photo["embedder"] == "resnet_onnx+flip"
    assert client.get(f"/api/v1/candidates/{bob.id}/reference-photo").content == biden
    assert client.post(path, content=b"not a form").status_code == 422
    # Erasing the candidate erases their photo.
    key = stored(factory, bob).reference_photo["key"]
    store = client.app.state.context.store  # type: ignore[attr-defined]
    assert store.exists(key)
    assert client.delete(f"/api/v1/candidates/{bob.id}").status_code == 200
    assert not store.exists(key)
    assert send({"x.jpg": b""}).status_code == 422
