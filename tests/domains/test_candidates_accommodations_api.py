"""Accommodations through the API: the roster's columns (all lines or none, each bad value named
on its line), create and PATCH (an unknown kind is a 422 naming it), who may set them, the
candidate's own window on the invite link, and an attempt under way hearing a change at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from openproctor.db import utcnow
from openproctor.domains.candidates.accommodations import Accommodations
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.tokens import flows as tokens
from openproctor.domains.tokens.models import TokenCreate
from openproctor.domains.tokens.scopes import Scope
from openproctor.domains.users.models import Role
from openproctor.live.registry import HUB_TOPIC
from tests.conftest import Factory, login
from tests.domains.audit_trail import trail
from tests.domains.listening import listening
from tests.domains.test_sessions_flows import auditor
from tests.live.clients import running_session

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


@pytest.fixture
def admin_client(client: TestClient, factory: Factory) -> TestClient:
    login(client, factory.user(Role.ADMIN))
    return client


def import_csv(client: TestClient, exam_id: object, roster: str) -> tuple[int, object]:
    response = client.post(
        f"/api/v1/exams/{exam_id}/candidates/import",
        content=roster,
        headers={"content-type": "text/csv"},
    )
    return response.status_code, response.json()


def test_a_roster_sets_accommodations_per_line(admin_client: TestClient, factory: Factory) -> None:
    exam = factory.exam()
    roster = (
        "name,email,extra_time,exempt,opens_at,closes_at\n"
        "Ada,ada@example.com,25%,speech; tab_switch,,\n"
        "Bob,bob@example.com,15 min,,2026-12-02 09:00,2026-12-02T12:00+01:00\n"
        "Cy,cy@example.com,,,,\n"
    )
    status, body = import_csv(admin_client, exam.id, roster)
    assert status == 201, body
    assert isinstance(body, dict)
    by_name = {c["name"]: c["accommodations"] for c in body["candidates"]}
    assert by_name["Ada"]["extra_percent"] == 25
    assert by_name["Ada"]["exempt"] == ["speech", "tab_switch"]
    assert by_name["Bob"]["extra_minutes"] == 15
    assert by_name["Bob"]["opens_at"] == "2026-12-02T09:00:00Z"  # the exam's clock: UTC
    assert by_name["Bob"]["closes_at"] == "2026-12-02T12:00:00+01:00"
    assert by_name["Cy"] == Accommodations().model_dump(mode="json")
    factory.db.expire_all()
    stored = {c.name: c.accommodations for c in factory.db.scalars(select(Candidate))}
    assert stored["Ada"] == {"extra_percent": 25, "exempt": ["speech", "tab_switch"]}
    assert stored["Cy"] is None


def test_a_roster_window_without_an_offset_is_on_the_exams_clock(
    admin_client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(timezone="Europe/Berlin")
    roster = (
        "name,email,opens_at,closes_at\n"
        "Ada,ada@example.com,2027-01-12 09:00,2027-07-12 09:00\n"
        "Bob,bob@example.com,2027-01-12T09:00Z,\n"
    )
    status, body = import_csv(admin_client, exam.id, roster)
    assert status == 201, body
    assert isinstance(body, dict)
    by_name = {c["name"]: c["accommodations"] for c in body["candidates"]}
    assert by_name["Ada"]["opens_at"] == "2027-01-12T08:00:00Z"  # CET
    assert by_name["Ada"]["closes_at"] == "2027-07-12T07:00:00Z"  # CEST
    assert by_name["Bob"]["opens_at"] == "2027-01-12T09:00:00Z"  # an offset is kept

    skipped = "name,email,opens_at\nCy,cy@example.com,2027-03-28 02:30\n"
    status, body = import_csv(admin_client, exam.id, skipped)
    assert status == 422
    assert isinstance(body, dict)
    assert [e["message"] for e in body["detail"]] == [
        "opens_at: 2027-03-28 02:30 does not exist in Europe/Berlin: the clocks move forward then"
    ]


def test_bad_accommodations_are_named_per_line_and_nothing_is_imported(
    admin_client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    roster = (
        "name,email,extra_time,exempt,opens_at,closes_at\n"
        "Ada,ada@example.com,25%,speech,,\n"  # line 2: fine
        "Bob,bob@example.com,a lot,,,\n"  # 3
        "Cy,cy@example.com,,window_blur,,\n"  # 4
        "Di,di@example.com,500%,,,\n"  # 5
        "Ed,ed@example.com,,,2026-12-02 12:00,2026-12-02 09:00\n"  # 6
        "Fay,fay@example.com,,,tomorrow,\n"  # 7
        "Gus,not-an-email,0,,,\n"  # 8: two problems on one line
    )
    status, body = import_csv(admin_client, exam.id, roster)
    assert status == 422
    assert isinstance(body, dict)
    lines: dict[int, list[str]] = {}
    for error in body["detail"]:
        lines.setdefault(error["line"], []).append(error["message"])
    assert sorted(lines) == [3, 4, 5, 6, 7, 8]
    assert lines[3] == ["extra_time 'a lot' is neither minutes (15) nor a percentage (25%)"]
    assert lines[4][0].startswith("exempt: 'window_blur' is not a violation kind (one of: no_face")
    assert lines[5] == ["extra_time: Input should be less than or equal to 400"]
    assert lines[6] == ["the candidate's window must close after it opens"]
    assert lines[7] == ["opens_at 'tomorrow' is not a date and time (2026-12-01 13:00)"]
    assert len(lines[8]) == 2
    assert "not valid" in lines[8][0]
    assert lines[8][1] == "extra_time: Input should be greater than or equal to 1"
    assert factory.db.scalar(select(func.count()).select_from(Candidate)) == 0


def test_create_and_patch_set_them_and_an_unknown_kind_is_named(
    admin_client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    bad = admin_client.post(
        f"/api/v1/exams/{exam.id}/candidates",
        json={"name": "Ada", "email": "ada@example.com", "accommodations": {"exempt": ["blur"]}},
    )
    assert bad.status_code == 422
    assert "'blur' is not a violation kind" in bad.json()["detail"][0]["msg"]
    created = admin_client.post(
        f"/api/v1/exams/{exam.id}/candidates",
        json={
            "name": "Ada",
            "email": "ada@example.com",
            "accommodations": {"extra_minutes": 20, "exempt": ["looking_away"]},
        },
    )
    assert created.status_code == 201, created.text
    candidate_id = created.json()["id"]
    assert created.json()["accommodations"]["exempt"] == ["looking_away"]
    patched = admin_client.patch(
        f"/api/v1/candidates/{candidate_id}",
        json={"accommodations": {"extra_percent": 50, "exempt": ["speech"]}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Ada"  # left out: unchanged
    assert patched.json()["accommodations"]["extra_minutes"] is None  # replaced whole
    assert patched.json()["accommodations"]["extra_percent"] == 50
    both = admin_client.patch(
        f"/api/v1/candidates/{candidate_id}",
        json={"accommodations": {"extra_percent": 50, "extra_minutes": 5}},
    )
    assert both.status_code == 422
    assert "not both" in str(both.json()["detail"])
    read = admin_client.get(f"/api/v1/candidates/{candidate_id}").json()
    assert read["accommodations"]["exempt"] == ["speech"]
    assert [action for action, _ in trail(factory.db, candidate_id)] == [
        "candidate.create",
        "candidate.update",
    ]


def test_only_admins_and_write_tokens_set_them(client: TestClient, factory: Factory) -> None:
    proctor = factory.user(Role.PROCTOR)
    ada = factory.candidate(factory.exam(), proctor)
    change = {"accommodations": {"extra_minutes": 30}}
    login(client, proctor)  # their own candidate, but not theirs to accommodate
    refused = client.patch(f"/api/v1/candidates/{ada.id}", json=change)
    assert refused.status_code == 403
    client.cookies.clear()
    audit = auditor(factory.db, factory.user(Role.ADMIN))
    for scopes, expected in (([Scope.CANDIDATES_READ], 403), ([Scope.CANDIDATES_WRITE], 200)):
        _, token = tokens.create(
            db=factory.db,
            audit=audit,
            token_in=TokenCreate(name="lms", scopes=scopes),
            creator=audit.actor,
        )
        response = client.patch(
            f"/api/v1/candidates/{ada.id}",
            json=change,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == expected, response.text
        if expected == 403:
            assert "candidates:write" in response.json()["detail"]
    factory.db.expire_all()
    assert factory.db.get(Candidate, ada.id).accommodations == {"extra_minutes": 30}  # type: ignore[union-attr]


def test_the_invite_link_follows_the_candidates_own_window(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(opens_in=timedelta(hours=-5))  # closed two hours ago
    late = factory.candidate(
        exam,
        name="Late",
        accommodations=Accommodations(
            opens_at=utcnow() - timedelta(minutes=5), closes_at=utcnow() + timedelta(hours=2)
        ),
    )
    early = factory.candidate(
        exam, name="Early", accommodations=Accommodations(opens_at=utcnow() + timedelta(hours=1))
    )
    assert client.get(f"/api/v1/take/{late.invite_token}").status_code == 200
    closed = client.get(f"/api/v1/take/{early.invite_token}")
    assert closed.status_code == 403
    assert "opens at" in closed.json()["detail"]
    # The window's close moves with the extra time: an exam that closed 2 h ago, +3 h.
    extra = factory.candidate(exam, name="Extra", accommodations=Accommodations(extra_minutes=180))
    assert client.get(f"/api/v1/take/{extra.invite_token}").status_code == 200


def test_an_attempt_under_way_hears_new_accommodations_with_its_clock(
    admin_client: TestClient, factory: Factory
) -> None:
    ada = factory.candidate(factory.exam())
    session = running_session(factory, ada)
    with listening(admin_client, HUB_TOPIC) as hub_topic:
        response = admin_client.patch(
            f"/api/v1/candidates/{ada.id}",
            json={"accommodations": {"extra_percent": 25, "exempt": ["tab_switch"]}},
        )
        assert response.status_code == 200, response.text
        told = hub_topic.next_matching(lambda message: message.get("event") == "state")
    assert told["session_id"] == str(session.id)
    assert told["accommodations"] == {"extra_percent": 25, "exempt": ["tab_switch"]}
    assert told["clock"]["accommodated_s"] == 15 * 60
    clock = admin_client.get(f"/api/v1/sessions/{session.id}/clock").json()
    assert clock["accommodated_s"] == 15 * 60
    assert session.started_at is not None
    assert clock["left_s"] == pytest.approx(
        75 * 60 - (utcnow() - session.started_at).seconds, abs=2
    )


def test_the_candidates_page_says_how_long_their_exam_lasts(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()  # an hour
    ada = factory.candidate(exam, accommodations=Accommodations(extra_percent=25))
    page = client.get(f"/take/{ada.invite_token}", headers={"accept": "text/html"}).text
    assert "<strong>75 minutes</strong> once you start it (60 and your 15 extra minutes)" in page
    assert "<strong>75 minutes</strong>, your 15 extra minutes included" in page
    plain = factory.candidate(exam, name="Bob")
    page = client.get(f"/take/{plain.invite_token}", headers={"accept": "text/html"}).text
    assert "<strong>60 minutes</strong> once you start it." in page
