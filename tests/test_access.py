"""Each role against each route family, on pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role, User
from tests.conftest import Factory, login

ANON, ADMIN, PROCTOR, REVIEWER = "anonymous", Role.ADMIN, Role.PROCTOR, Role.REVIEWER

# route -> roles that may use it (GET); everyone else gets 403, anonymous 401 or a redirect.
READ_ROUTES = {
    "/admin/exams": {ADMIN},
    "/admin/staff": {ADMIN},
    "/admin/audit": {ADMIN},
    "/admin/exams/new": {ADMIN},
    "/admin/exams/{exam}": {ADMIN},
    "/proctor": {ADMIN, PROCTOR},
    "/proctor/exams/{exam}": {ADMIN, PROCTOR},
    "/review": {ADMIN, REVIEWER},
    "/review/exams/{exam}": {ADMIN, REVIEWER},
    "/review/sessions/{session}": {ADMIN, REVIEWER},
    "/api/v1/exams": {ADMIN, PROCTOR, REVIEWER},
    "/api/v1/exams/{exam}": {ADMIN, PROCTOR, REVIEWER},
    "/api/v1/exams/{exam}/candidates": {ADMIN, PROCTOR, REVIEWER},
    "/api/v1/exams/{exam}/sessions": {ADMIN, PROCTOR, REVIEWER},
    "/api/v1/exams/{exam}/violations": {ADMIN, PROCTOR, REVIEWER},
    "/api/v1/candidates/{candidate}": {ADMIN, PROCTOR, REVIEWER},
    "/api/v1/sessions/{session}": {ADMIN, PROCTOR, REVIEWER},
    "/api/v1/users": {ADMIN},
    "/api/v1/audit": {ADMIN},
    "/api/v1/auth/me": {ADMIN, PROCTOR, REVIEWER},
}


@dataclass
class World:
    proctor: User
    exam: Exam
    candidate: Candidate
    session: ExamSession

    def path(self, template: str) -> str:
        return template.format(
            exam=self.exam.id, candidate=self.candidate.id, session=self.session.id
        )


@pytest.fixture
def world(factory: Factory) -> World:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor)
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    factory.db.commit()
    return World(proctor, exam, candidate, session)


@pytest.mark.parametrize("role", [ANON, ADMIN, PROCTOR, REVIEWER])
def test_read_routes_by_role(
    role: str | Role, client: TestClient, factory: Factory, world: World
) -> None:
    if role is PROCTOR:
        login(client, world.proctor)
    elif role != ANON:
        login(client, factory.user(Role(role)))
    for template, allowed in READ_ROUTES.items():
        path = world.path(template)
        response = client.get(path, headers={"accept": "text/html"})
        if role == ANON:
            expected = 401 if path.startswith("/api/") else 303
        else:
            expected = 200 if role in allowed else 403
        assert response.status_code == expected, f"{role} GET {path}: {response.text[:200]}"


def test_only_admins_change_exams_and_staff(
    client: TestClient, factory: Factory, world: World
) -> None:
    exam_id = world.exam.id
    new_user = {"email": "x@example.com", "name": "X", "role": "admin", "password": "0123456789a"}
    for user in (world.proctor, factory.user(REVIEWER)):
        login(client, user)
        new_candidate = {"name": "Eve", "email": "eve@example.com"}
        assert (
            client.post(f"/api/v1/exams/{exam_id}/candidates", json=new_candidate).status_code
            == 403
        )
        assert client.post("/api/v1/users", json=new_user).status_code == 403
        assert client.post(f"/api/v1/exams/{exam_id}/candidates/auto-assign").status_code == 403
        assert client.post("/admin/exams/new", data={"title": "x"}).status_code == 403
        client.post("/api/v1/auth/logout")


def test_a_proctor_sees_only_their_candidates(
    client: TestClient, factory: Factory, world: World
) -> None:
    other = factory.user(Role.PROCTOR)
    exam = world.exam
    theirs = factory.candidate(exam, other, name="Bob")
    their_session = sessions.current_for_candidate(db=factory.db, candidate=theirs)
    factory.db.commit()

    login(client, world.proctor)
    listed = client.get(f"/api/v1/exams/{exam.id}/candidates").json()
    assert [c["id"] for c in listed] == [str(world.candidate.id)]
    assert "invite_url" not in listed[0]
    assert client.get(f"/api/v1/candidates/{theirs.id}").status_code == 403
    assert client.get(f"/api/v1/sessions/{their_session.id}").status_code == 403
    sessions_listed = client.get(f"/api/v1/exams/{exam.id}/sessions").json()
    assert {s["id"] for s in sessions_listed} == {str(world.session.id)}
    html = client.get(f"/proctor/exams/{exam.id}").text
    assert "Ada" in html
    assert "Bob" not in html


def test_a_proctors_auto_termination_reaches_only_their_candidates(
    client: TestClient, factory: Factory, world: World
) -> None:
    exam = world.exam
    other = factory.user(Role.PROCTOR)
    theirs = sessions.current_for_candidate(
        db=factory.db, candidate=factory.candidate(exam, other, name="Bob")
    )
    factory.db.commit()

    login(client, world.proctor)
    exam_wide = client.put(f"/api/v1/exams/{exam.id}/auto-terminate", json={"enabled": True})
    assert exam_wide.status_code == 403, exam_wide.text
    assert exam_wide.json()["detail"] == "this needs the admin role"
    mine = client.put(f"/api/v1/exams/{exam.id}/my-sessions/auto-terminate", json={"enabled": True})
    assert mine.status_code == 200, mine.text
    assert mine.json() == {"enabled": True, "scope": "my_sessions", "sessions": 1}
    factory.db.expire_all()
    assert exam.parsed_policy.auto_terminate is False  # other proctors' candidates keep it
    assert world.session.auto_terminate is True
    assert theirs.auto_terminate is None
    client.post("/api/v1/auth/logout")

    login(client, factory.user(Role.ADMIN))
    audited = [
        e for e in client.get("/api/v1/audit").json() if e["action"] == "exam.auto_terminate"
    ]
    assert [(e["actor_label"], e["target_id"], e["details"]) for e in audited] == [
        (
            world.proctor.email,
            str(exam.id),
            {"enabled": True, "scope": "my_sessions", "sessions": 1},
        )
    ]
    # The exam-wide switch is the admin's: every candidate follows the exam again.
    wide = client.put(f"/api/v1/exams/{exam.id}/auto-terminate", json={"enabled": False})
    assert wide.json() == {"enabled": False, "scope": "exam", "sessions": 2}
    factory.db.expire_all()
    assert exam.parsed_policy.auto_terminate is False
    assert (world.session.auto_terminate, theirs.auto_terminate) == (None, None)


def test_a_proctor_cannot_open_an_exam_without_their_candidates(
    client: TestClient, factory: Factory, world: World
) -> None:
    other_exam = factory.exam(title="Other exam")
    login(client, world.proctor)
    assert client.get(f"/api/v1/exams/{other_exam.id}").status_code == 403
    assert [e["title"] for e in client.get("/api/v1/exams").json()] == ["Algebra midterm"]


def test_candidate_token_opens_only_its_own_session(
    client: TestClient, factory: Factory, world: World
) -> None:
    mine = factory.candidate(world.exam, name="Cy")
    view = client.get(f"/api/v1/take/{mine.invite_token}").json()
    assert view["candidate_id"] == str(mine.id)
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    other_session = world.session.id
    response = client.post(
        f"/api/v1/take/{mine.invite_token}/sessions/{other_session}/state",
        json={"state": "checking"},
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "this session is not yours"
    own = client.post(
        f"/api/v1/take/{mine.invite_token}/sessions/{view['session']['id']}/state",
        json={"state": "checking"},
    )
    assert own.status_code == 200
    assert own.json()["state"] == "checking"
    # A candidate cannot jump ahead, nor end the session as terminated.
    for state in ("running", "terminated"):
        jump = client.post(
            f"/api/v1/take/{mine.invite_token}/sessions/{view['session']['id']}/state",
            json={"state": state},
        )
        assert jump.status_code == 409


def test_candidate_tokens_do_not_open_staff_routes(client: TestClient, world: World) -> None:
    response = client.get(
        f"/api/v1/exams/{world.exam.id}/candidates",
        headers={"Authorization": f"Bearer {world.candidate.invite_token}"},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("opens_in", "message"),
    [(timedelta(hours=2), "opens at"), (timedelta(hours=-5), "closed at")],
)
def test_invite_links_work_only_inside_the_window(
    client: TestClient, factory: Factory, opens_in: timedelta, message: str
) -> None:
    exam = factory.exam(opens_in=opens_in)
    candidate = factory.candidate(exam)
    api = client.get(f"/api/v1/take/{candidate.invite_token}")
    assert api.status_code == 403
    assert message in api.json()["detail"]
    page = client.get(f"/take/{candidate.invite_token}", headers={"accept": "text/html"})
    assert page.status_code == 403
    assert message in page.text


def test_unknown_invite_tokens_are_refused(client: TestClient) -> None:
    response = client.get("/api/v1/take/not-a-real-token")
    assert response.status_code == 404
    assert response.json()["detail"] == "this invite link is not valid"


def test_invite_tokens_carry_at_least_128_random_bits(factory: Factory) -> None:
    exam = factory.exam()
    tokens = {factory.candidate(exam, name=f"C{i}").invite_token for i in range(20)}
    assert len(tokens) == 20
    # token_urlsafe: 6 bits per character.
    assert all(len(token) * 6 >= 128 for token in tokens)
