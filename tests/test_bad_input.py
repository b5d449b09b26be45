"""Bad input anywhere gets a 4xx with a clear message and leaves no partial rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.candidates.service import MAX_ROSTER_ROWS
from openproctor.domains.exams.models import Exam
from openproctor.domains.users.models import Role
from tests.conftest import Factory, login
from tests.hostile_images import jpeg_declaring


@pytest.fixture
def admin_client(client: TestClient, factory: Factory) -> TestClient:
    login(client, factory.user(Role.ADMIN))
    return client


MULTIPLE = {"prompt": "?", "kind": "multiple", "choices": ["a", "b"]}


def rows(factory: Factory, model: type) -> int:
    factory.db.expire_all()
    return factory.db.scalar(select(func.count()).select_from(model)) or 0


def exam_body(**overrides: object) -> dict[str, object]:
    opens = utcnow()
    return {
        "title": "Physics",
        "opens_at": opens.isoformat(),
        "closes_at": (opens + timedelta(hours=2)).isoformat(),
        "duration_minutes": 45,
        "questions": [{"prompt": "g?", "choices": ["9.8", "3.1"], "answer": 0}],
        **overrides,
    }


def test_a_valid_exam_is_created_with_the_full_default_policy(
    admin_client: TestClient, factory: Factory
) -> None:
    response = admin_client.post("/api/v1/exams", json=exam_body())
    assert response.status_code == 201, response.text
    policy = response.json()["policy"]
    assert policy["frames_per_second"] == 1.0
    assert policy["auto_terminate"] is False
    assert policy["rules"]["multiple_faces"]["severity"] == "high"
    assert rows(factory, Exam) == 1


def test_malformed_json_is_refused(admin_client: TestClient, factory: Factory) -> None:
    response = admin_client.post(
        "/api/v1/exams", content=b'{"title": "x",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in str(response.json()["detail"])
    assert rows(factory, Exam) == 0


@pytest.mark.parametrize(
    ("overrides", "where", "fragment"),
    [
        ({"duration_minutes": "an hour"}, "duration_minutes", "integer"),
        ({"title": "   "}, "title", "blank"),
        ({"opens_at": "2030-01-01T10:00:00"}, "opens_at", "timezone"),
        ({"closes_at": "2000-01-01T00:00:00Z"}, "body", "closes_at must be after opens_at"),
        ({"questions": [], "external_url": None}, "body", "questions or an external_url"),
        (
            {"questions": [{"prompt": "?", "choices": ["a", "b"], "answer": 5}]},
            "questions",
            "not one of",
        ),
        (
            {"questions": [{**MULTIPLE, "answer": 0}]},
            "questions",
            "needs a list of its correct choices",
        ),
        (
            {"questions": [{"prompt": "?", "kind": "multiple", "choices": ["a"], "answer": [0]}]},
            "choices",
            "at least 2",
        ),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "not a known time zone"),
        ({"timezone": "../../etc/passwd"}, "timezone", "not a known time zone"),
        ({"policy": {"frames_per_second": 100}}, "frames_per_second", "less than or equal"),
        ({"policy": {"rules": {"looking_away": {"colour": "red"}}}}, "colour", "Extra inputs"),
        ({"policy": {"rules": {"sneezing": {"enabled": False}}}}, "sneezing", "Input should be"),
        ({"policy": {"unknown_knob": True}}, "unknown_knob", "Extra inputs"),
        ({"policy": {"rules": {"no_face": {"severity": "apocalyptic"}}}}, "severity", "low"),
        ({"external_url": "javascript:alert(1)"}, "external_url", "URL"),
        ({"surprise": 1}, "surprise", "Extra inputs"),
    ],
)
def test_wrong_types_and_values_name_the_field(
    admin_client: TestClient,
    factory: Factory,
    overrides: dict[str, object],
    where: str,
    fragment: str,
) -> None:
    response = admin_client.post("/api/v1/exams", json=exam_body(**overrides))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(where in map(str, item["loc"]) and fragment in item["msg"] for item in detail), (
        detail
    )
    assert rows(factory, Exam) == 0


def test_a_rule_given_in_part_keeps_the_defaults_of_the_rest(admin_client: TestClient) -> None:
    body = exam_body(policy={"rules": {"looking_away": {"enabled": False}}})
    response = admin_client.post("/api/v1/exams", json=body)
    assert response.status_code == 201, response.text
    looking_away = response.json()["policy"]["rules"]["looking_away"]
    assert looking_away == {
        "enabled": False,
        "min_duration_s": 5.0,
        "min_checks": 1,
        "cooldown_s": 20.0,
        "severity": "low",
        "weight": 5.0,
        "prompt_after_s": 2.0,
    }
    assert response.json()["policy"]["rules"]["no_face"]["enabled"] is True
    exam_id = response.json()["id"]
    replaced = admin_client.put(
        f"/api/v1/exams/{exam_id}",
        json=exam_body(policy={"rules": {"speech": {"weight": 40}}, "require_fullscreen": False}),
    )
    assert replaced.status_code == 200, replaced.text
    policy = replaced.json()["policy"]
    assert policy["rules"]["speech"] == {**policy["rules"]["speech"], "weight": 40.0}
    assert policy["rules"]["speech"]["min_duration_s"] == 3.0
    assert policy["rules"]["looking_away"]["enabled"] is True  # PUT replaces: back to defaults
    assert policy["require_fullscreen"] is False


def test_partial_policy_keeps_defaults_for_the_rest(admin_client: TestClient) -> None:
    body = exam_body(
        policy={
            "rules": {
                "no_face": {"min_duration_s": 8, "cooldown_s": 1, "severity": "low", "weight": 2}
            }
        }
    )
    policy = admin_client.post("/api/v1/exams", json=body).json()["policy"]
    assert policy["rules"]["no_face"]["min_duration_s"] == 8
    assert policy["rules"]["tab_switch"]["weight"] == 10


def test_oversized_bodies_are_refused_before_reading(
    admin_client: TestClient, factory: Factory
) -> None:
    huge = b"x" * (5 * 1024 * 1024 + 1)
    response = admin_client.post(
        "/api/v1/exams", content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert rows(factory, Exam) == 0


def test_unknown_and_malformed_ids(admin_client: TestClient) -> None:
    missing = uuid.uuid4()
    for path in (
        f"/api/v1/exams/{missing}",
        f"/api/v1/candidates/{missing}",
        f"/api/v1/sessions/{missing}",
        f"/api/v1/exams/{missing}/violations",
    ):
        response = admin_client.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"].endswith("not found")
    bad = admin_client.get("/api/v1/exams/not-a-uuid")
    assert bad.status_code == 422
    assert "UUID" in str(bad.json()["detail"])
    page = admin_client.get(f"/admin/exams/{missing}", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "exam not found" in page.text


def test_a_roster_with_errors_imports_nothing_through_the_api(
    admin_client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    roster = "name,email\nAda,ada@example.com\nBob,bob@\n"
    response = admin_client.post(
        f"/api/v1/exams/{exam.id}/candidates/import",
        content=roster,
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["line"] == 3
    assert rows(factory, Candidate) == 0
    good = admin_client.post(
        f"/api/v1/exams/{exam.id}/candidates/import",
        content="name,email\nAda,ada@example.com\n",
        headers={"content-type": "text/csv"},
    )
    assert good.status_code == 201
    created = good.json()["candidates"]
    assert created[0]["invite_url"].startswith("http://127.0.0.1:8000/take/")
    assert rows(factory, Candidate) == 1


def test_duplicate_candidate_email_is_a_conflict(
    admin_client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    body = {"name": "Ada", "email": "ada@example.com"}
    assert admin_client.post(f"/api/v1/exams/{exam.id}/candidates", json=body).status_code == 201
    again = admin_client.post(
        f"/api/v1/exams/{exam.id}/candidates", json={**body, "email": "ADA@example.com"}
    )
    assert again.status_code == 409
    assert "already a candidate" in again.json()["detail"]
    assert rows(factory, Candidate) == 1


def test_duplicate_staff_email_is_a_conflict(admin_client: TestClient) -> None:
    body = {
        "email": "pat@example.com",
        "name": "Pat",
        "role": "proctor",
        "password": "long enough pw",
    }
    assert admin_client.post("/api/v1/users", json=body).status_code == 201
    again = admin_client.post("/api/v1/users", json={**body, "email": "PAT@example.com"})
    assert again.status_code == 409
    short = admin_client.post(
        "/api/v1/users", json={**body, "email": "q@example.com", "password": "short"}
    )
    assert short.status_code == 422


def test_roster_upload_that_is_not_text(admin_client: TestClient, factory: Factory) -> None:
    exam = factory.exam()
    token = admin_client.headers["X-CSRF-Token"]
    response = admin_client.post(
        f"/admin/exams/{exam.id}/roster",
        data={"csrf_token": token},
        files={"roster": ("roster.csv", b"\xff\xfe\x00bad", "text/csv")},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 422
    assert "not UTF-8" in response.text
    assert rows(factory, Candidate) == 0


def test_exam_form_errors_are_shown_and_nothing_is_saved(
    admin_client: TestClient, factory: Factory
) -> None:
    token = admin_client.headers["X-CSRF-Token"]
    form = {
        "csrf_token": token,
        "title": "Chemistry",
        "timezone": "Mars/Olympus_Mons",
        "opens_at": "2030-01-01T10:00",
        "closes_at": "2030-01-01T09:00",
        "duration_minutes": "60",
        "questions": "[not json",
        "policy.require_fullscreen": "off",  # unticked: the hidden field alone
    }
    response = admin_client.post("/admin/exams/new", data=form)
    assert response.status_code == 422
    assert "Time zone: &#39;Mars/Olympus_Mons&#39; is not a known time zone" in response.text
    form["timezone"] = "Europe/Berlin"
    response = admin_client.post("/admin/exams/new", data=form)
    assert response.status_code == 422
    assert "Questions: the question editor did not send them" in response.text
    form["questions"] = '[{"prompt": "?", "choices": ["a", "b"], "answer": 0}]'
    form["opens_at"] = "2030-03-31T02:30"  # the clocks go from 02:00 to 03:00 in Berlin
    response = admin_client.post("/admin/exams/new", data=form)
    assert response.status_code == 422
    assert "Opens: 2030-03-31 02:30 does not exist in Europe/Berlin" in response.text
    form["opens_at"] = "2030-01-01T10:00"
    form["questions"] = json.dumps([{**MULTIPLE, "answer": 0}])
    response = admin_client.post("/admin/exams/new", data=form)
    assert response.status_code == 422
    assert "Question 1: a multiple-choice question needs a list" in response.text
    form["questions"] = json.dumps([{**MULTIPLE, "answer": [1]}])
    response = admin_client.post("/admin/exams/new", data=form)
    assert response.status_code == 422
    assert "closes_at must be after opens_at" in response.text
    assert 'value="Chemistry"' in response.text  # what was typed is kept
    assert 'id="policy.require_fullscreen" value="on">' in response.text  # still unticked
    assert 'id="policy.record_webcam" value="on" checked>' in response.text  # not sent: default
    assert rows(factory, Exam) == 0


def test_a_decompression_bomb_is_refused_at_enrolment(client: TestClient, factory: Factory) -> None:
    candidate = factory.candidate(factory.exam())
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    base = f"/api/v1/take/{candidate.invite_token}"
    session_id = client.get(base).json()["session"]["id"]
    moved = client.post(f"{base}/sessions/{session_id}/state", json={"state": "checking"})
    assert moved.status_code == 200, moved.text

    def enrol(photo: bytes) -> tuple[int, str]:
        answer = client.post(
            f"{base}/sessions/{session_id}/enrol",
            content=photo,
            headers={"content-type": "image/jpeg"},
        )
        return answer.status_code, answer.json()["detail"]

    assert enrol(jpeg_declaring(30000, 30000)) == (
        413,
        "the image declares 30000x30000 pixels; at most 640x480 is accepted",
    )
    assert enrol(b"\xff\xd8\xff\xdb\x00\x43" + b"\x01" * 20) == (
        422,
        "the JPEG header is truncated or damaged",
    )


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_a_streamed_body_without_a_length_is_cut_at_the_limit(
    admin_client: TestClient, factory: Factory
) -> None:
    """No Content-Length to refuse by: the limit is counted while the body arrives."""

    def six_mebibytes() -> Iterator[bytes]:
        for _ in range(6):
            yield b" " * (1024 * 1024)

    for path, content_type in (
        ("/api/v1/exams", "application/json"),
        ("/admin/exams/new", "application/x-www-form-urlencoded"),
    ):
        response = admin_client.post(
            path, content=six_mebibytes(), headers={"content-type": content_type}
        )
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, f"{path}: {response.text[:200]}"
        assert "request body larger than" in response.json()["detail"]
    assert rows(factory, Exam) == 0


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_a_roster_over_the_row_limit_imports_nothing(
    admin_client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    lines = [f"C{n},c{n}@example.com" for n in range(MAX_ROSTER_ROWS + 1)]
    response = admin_client.post(
        f"/api/v1/exams/{exam.id}/candidates/import",
        content="name,email\n" + "\n".join(lines) + "\n",
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"line": MAX_ROSTER_ROWS + 2, "message": f"more than {MAX_ROSTER_ROWS} rows"}
    ]
    assert rows(factory, Candidate) == 0
