"""The seed tutorial's detection routes, with the real detector on real photos."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.app import create_app
from openproctor.compat.dyte import router as dyte_router
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import Factory, login
from tests.hostile_images import jpeg_declaring, png_declaring
from tests.integrations.test_tokens import bearer, make_token

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The app with the compat routes included as app.py includes them."""
    app = create_app(settings)
    app.include_router(dyte_router)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
    app.state.context.engine.dispose()


def _b64(name: str, data_url: bool = False) -> str:
    encoded = base64.b64encode((FIXTURES / name).read_bytes()).decode()
    return f"data:image/jpeg;base64,{encoded}" if data_url else encoded


@pytest.mark.analysis
def test_seed_routes_count_faces_keep_evidence_and_check_admins(
    app_client: TestClient, factory: Factory, db: Session
) -> None:
    client = app_client
    login(client, factory.user(Role.ADMIN))
    exam = factory.exam()
    put = client.put(f"/api/v1/exams/{exam.id}/integration", json={"meeting_id": "m-1"})
    assert put.status_code == 200, put.text
    detect = make_token(client, "detect", "candidates:write", name="detect")
    read_only = make_token(client, "detect", name="no-add")
    other = make_token(client, "exams:read", name="other")
    dashboard = make_token(client, "violations:read", name="dashboard")
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token")

    assert client.post("/is_admin/", json={"meeting_id": "m-1", "admin_id": dashboard}).json() == {
        "admin": True
    }
    assert client.post(
        "/is_admin/", json={"meeting_id": str(exam.id), "admin_id": dashboard}
    ).json()["admin"]
    unknown_or_not_admin = (
        ("m-1", other),
        ("m-1", detect),  # the participants' client reads nothing
        ("m-1", "opk_nope"),
        ("m-2", dashboard),
        ("m-1", ""),
    )
    for meeting, admin_id in unknown_or_not_admin:
        answer = client.post("/is_admin/", json={"meeting_id": meeting, "admin_id": admin_id})
        assert answer.json() == {"admin": False}, (meeting, admin_id)

    screen = {"meeting_id": "m-1", "participant_id": "p-1", "participant_name": "Ada"}
    one = client.post(
        "/detect_faces/",
        json={**screen, "base64_img": _b64("pai_webcam_center.jpg")},
        headers=bearer(detect),
    )
    assert one.status_code == 200, one.text
    assert one.json() == {
        "id": "p-1",
        "multiple_detected": False,
        "url": None,
        "faces": 1,
        "violation_id": None,
    }
    candidate = db.scalar(select(Candidate).where(Candidate.external_id == "p-1"))
    assert candidate is not None
    assert candidate.exam_id == exam.id
    assert candidate.name == "Ada"

    two = client.post(
        "/detect_faces/",
        json={**screen, "base64_img": _b64("fr_two_people.jpg", data_url=True)},
        headers=bearer(detect),
    )
    assert two.status_code == 200, two.text
    found = two.json()
    assert found["multiple_detected"] is True
    assert found["faces"] == 2
    assert found["url"].startswith(client.app.state.context.settings.public_url)
    image = client.get("/" + found["url"].split("/", 3)[3])
    assert image.status_code == 200
    assert image.content == (FIXTURES / "fr_two_people.jpg").read_bytes()
    tampered = found["url"][:-1] + ("0" if found["url"][-1] != "0" else "1")
    assert client.get("/" + tampered.split("/", 3)[3]).status_code == 403

    again = client.post(
        "/detect_faces/",
        json={**screen, "base64_img": _b64("fr_two_people.jpg")},
        headers=bearer(detect),
    ).json()
    assert again["violation_id"] == found["violation_id"]  # the same record within 10 minutes

    rows = client.post("/multiple_faces_list/", json={"meeting_id": "m-1", "admin_id": dashboard})
    assert rows.status_code == 200, rows.text
    [[ts, meeting, participant, url, verdict]] = rows.json()
    assert (meeting, participant) == ("m-1", "p-1")
    assert url.split("?")[0] == found["url"].split("?")[0]
    assert verdict == 'Detected more than one face for participant "Ada" and participant_id p-1'
    assert ts
    for lacking in (other, detect):
        refused = client.post(
            "/multiple_faces_list/", json={"meeting_id": "m-1", "admin_id": lacking}
        )
        assert refused.status_code == 403
        assert refused.json()["detail"] == "this API token lacks the scope violations:read"
    unknown = client.post("/multiple_faces_list/", json={"meeting_id": "m-1", "admin_id": "x"})
    assert unknown.status_code == 401

    newcomer = client.post(
        "/detect_faces/",
        json={**screen, "participant_id": "p-2", "base64_img": _b64("pai_webcam_center.jpg")},
        headers=bearer(read_only),
    )
    assert newcomer.status_code == 403
    assert "candidates:write" in newcomer.json()["detail"]
    no_token = client.post(
        "/detect_faces/", json={**screen, "base64_img": _b64("pai_webcam_center.jpg")}
    )
    assert no_token.status_code == 401
    unknown_meeting = client.post(
        "/detect_faces/",
        json={**screen, "meeting_id": "nope", "base64_img": _b64("pai_webcam_center.jpg")},
        headers=bearer(detect),
    )
    assert unknown_meeting.status_code == 404
    garbage = client.post(
        "/detect_faces/", json={**screen, "base64_img": "bm90IGFuIGltYWdl"}, headers=bearer(detect)
    )
    assert garbage.status_code == 422


def test_a_decompression_bomb_is_refused_before_any_analysis(
    app_client: TestClient, factory: Factory
) -> None:
    client = app_client
    login(client, factory.user(Role.ADMIN))
    exam = factory.exam()
    put = client.put(f"/api/v1/exams/{exam.id}/integration", json={"meeting_id": "m-1"})
    assert put.status_code == 200, put.text
    detect = make_token(client, "detect", "candidates:write", name="detect")
    screen = {"meeting_id": "m-1", "participant_id": "p-1", "participant_name": "Ada"}
    for bomb in (jpeg_declaring(30000, 30000), png_declaring(30000, 30000)):
        refused = client.post(
            "/detect_faces/",
            json={**screen, "base64_img": base64.b64encode(bomb).decode()},
            headers=bearer(detect),
        )
        assert refused.status_code == 413, refused.text
        assert refused.json()["detail"] == (
            "base64_img: the image declares 30000x30000 pixels; at most 3840x2160 is accepted"
        )
    damaged = client.post(
        "/detect_faces/",
        json={**screen, "base64_img": base64.b64encode(b"\xff\xd8\xff\x00garbage").decode()},
        headers=bearer(detect),
    )
    assert damaged.status_code == 422
    assert damaged.json()["detail"] == "base64_img: the JPEG header is truncated or damaged"
