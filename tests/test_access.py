"""Each role against each route family, on pages and the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.objects.models import ObjectPurpose, Recording, StoredObject
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role, User
from openproctor.live.protocol import CloseCode
from openproctor.settings import Settings
from openproctor.storage import open_store
from tests.conftest import Factory, login, logout
from tests.test_auth import CSRF_EXEMPT, PATH_VALUES, fill_path, state_changing_routes
from tests.test_retention import seed_session

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
        logout(client)


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
    logout(client)

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


# --- isolation and limits over the whole route table ----------------------------------------

# What an id in a route's path stands for, in IsolationScene; other ids get a fresh uuid.
OWNED_IDS = ("exam_id", "candidate_id", "session_id", "violation_id", "recording_id", "object_id")
# Bodies valid enough to reach the access check (an invalid one would answer 422 first).
ACTION_BODIES: dict[str, dict[str, object]] = {
    "/api/v1/sessions/{session_id}/messages": {"body": "hello"},
    "/api/v1/exams/{exam_id}/messages": {"body": "hello"},
    "/api/v1/sessions/{session_id}/terminate": {"reason": "taken over"},
    "/api/v1/sessions/{session_id}/extra-time": {"minutes": 5},
    "/api/v1/sessions/{session_id}/auto-terminate": {"enabled": True},
    "/api/v1/exams/{exam_id}/auto-terminate": {"enabled": True},
    "/api/v1/exams/{exam_id}/my-sessions/auto-terminate": {"enabled": True},
    "/api/v1/sessions/{session_id}/decision": {"decision": "suspicious"},
    "/api/v1/violations/{violation_id}/review": {"status": "confirmed"},
    "/api/v1/sessions/{session_id}/notes": {"body": "a note"},
}
# Not staff routes: the candidate's own (by invite token, tested above and in
# tests/domains/test_recordings.py) and the seed project's signed evidence links.
NOT_STAFF_ROUTES = ("/take/{token}", "/detect_faces/evidence/")


@dataclass
class IsolationScene:
    """Proctor A's running candidate with violations, evidence and a recording, in an exam
    where proctor B has nobody; B proctors another exam."""

    owner: User
    intruder: User
    ids: dict[str, str]
    session_id: uuid.UUID

    def path(self, template: str) -> str:
        return fill_path(template, self.ids)


@pytest.fixture
def isolation(factory: Factory, settings: Settings) -> IsolationScene:
    owner, intruder = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, owner, name="Ada")
    factory.candidate(factory.exam(title="Other exam"), intruder, name="Bob")
    seeded = seed_session(
        factory.db,
        open_store(settings.resolved_storage_url),
        ada,
        ended_at=None,
        state=SessionState.RUNNING,
    )
    evidence = factory.db.scalar(
        select(StoredObject.id).where(
            StoredObject.session_id == seeded.session_id,
            StoredObject.purpose == ObjectPurpose.EVIDENCE,
        )
    )
    recording = factory.db.scalar(
        select(Recording.id).where(Recording.session_id == seeded.session_id)
    )
    ids = {
        "exam_id": exam.id,
        "candidate_id": ada.id,
        "session_id": seeded.session_id,
        "violation_id": seeded.violation_ids[0],
        "recording_id": recording,
        "object_id": evidence,
    }
    return IsolationScene(owner, intruder, {k: str(v) for k, v in ids.items()}, seeded.session_id)


def routes_with_owned_ids(client: TestClient) -> list[tuple[str, str]]:
    """(method or "WS", path template) of every route that names something of a candidate."""
    found = []
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        path = route.path or ""
        if not any(f"{{{name}}}" in path for name in OWNED_IDS):
            continue
        if any(part in path for part in NOT_STAFF_ROUTES):
            continue
        if isinstance(route.original_route, APIWebSocketRoute):
            found.append(("WS", path))
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, path))
    return found


def socket_close_code(client: TestClient, path: str) -> int:
    with client.websocket_connect(path) as socket, pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_json()
    return closed.value.code


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_another_proctor_reaches_nothing_of_a_candidate_on_any_route(
    client: TestClient, factory: Factory, isolation: IsolationScene
) -> None:
    """REST, pages, sockets, reports, evidence and recordings, enumerated from the route
    table: a route added later with an exam, candidate, session, violation, recording or
    object id is checked too."""
    login(client, isolation.owner)
    own = client.get(isolation.path("/api/v1/recordings/{recording_id}/media"))
    assert own.status_code == 200  # the scene is reachable by its own proctor
    logout(client)
    login(client, isolation.intruder)
    routes = routes_with_owned_ids(client)
    assert len(routes) > 30
    for method, template in routes:
        path = isolation.path(template)
        if method == "WS":
            assert socket_close_code(client, path) == CloseCode.FORBIDDEN, template
            continue
        body = ACTION_BODIES.get(template, {})
        if template.startswith("/api/"):
            response = client.request(method, path, json=body if method != "GET" else None)
        else:
            response = client.request(method, path, headers={"accept": "text/html"})
        assert response.status_code in (403, 404), (
            f"{method} {template}: {response.status_code} {response.text[:200]}"
        )
        assert "Ada" not in response.text, f"{method} {template} leaked the candidate"
    factory.db.expire_all()
    session = factory.db.get(ExamSession, isolation.session_id)
    assert session is not None
    assert session.state is SessionState.RUNNING
    assert session.decision is None


# A reviewer judges finished sessions and changes nothing else (but their own password).
REVIEWER_MAY_CHANGE = {
    ("POST", "/api/v1/auth/password"),
    ("POST", "/account/password"),
    ("PUT", "/api/v1/sessions/{session_id}/decision"),
    ("PUT", "/api/v1/violations/{violation_id}/review"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/login"),
    ("POST", "/logout"),
}


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_a_reviewer_changes_nothing_but_decisions_and_reviews(
    client: TestClient, factory: Factory, isolation: IsolationScene
) -> None:
    login(client, factory.user(Role.REVIEWER))
    for method, template in state_changing_routes(client):
        if (method, template) in REVIEWER_MAY_CHANGE or (method, template) in CSRF_EXEMPT:
            continue
        if "/take/{token}" in template:  # the candidate's own routes
            continue
        path = isolation.path(template)
        body = ACTION_BODIES.get(template, {})
        if template.startswith("/api/"):
            response = client.request(method, path, json=body)
        else:
            response = client.request(method, path, data={"x": "1"})
        assert response.status_code == 403, (
            f"reviewer {method} {template}: {response.status_code} {response.text[:200]}"
        )
    wall = isolation.path("/ws/proctor/exams/{exam_id}")
    assert socket_close_code(client, wall) == CloseCode.FORBIDDEN
    decided = client.put(
        isolation.path("/api/v1/sessions/{session_id}/decision"), json={"decision": "clear"}
    )
    assert decided.status_code == 200, decided.text


# --- the invite token after the end ---------------------------------------------------------


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_a_terminated_candidates_token_changes_nothing_and_opens_no_socket(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor)
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    session.answers = {"0": 1}
    factory.db.commit()
    login(client, proctor)
    ended = client.post(f"/api/v1/sessions/{session.id}/terminate", json={"reason": "phone"})
    assert ended.status_code == 200, ended.text
    logout(client)

    base = f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}"
    assert client.put(f"{base}/answers", json={"answers": {"0": 0}}).status_code == 409
    assert client.post(f"{base}/submit", json={"answers": {"0": 0}}).status_code == 409
    for wanted in ("checking", "running"):
        assert client.post(f"{base}/state", json={"state": wanted}).status_code == 409
    view = client.get(f"/api/v1/take/{candidate.invite_token}").json()
    assert (view["session"]["id"], view["session"]["state"]) == (str(session.id), "terminated")
    assert socket_close_code(client, f"/ws/take/{candidate.invite_token}") == CloseCode.ENDED
    factory.db.expire_all()
    stored = factory.db.get(ExamSession, session.id)
    assert stored is not None
    assert (stored.state, stored.answers) == (SessionState.TERMINATED, {"0": 1})


# Bodies and headers valid enough to reach the ownership check of each candidate route.
TAKE_REQUESTS: dict[str, dict[str, Any]] = {
    "/state": {"json": {"state": "checking"}},
    "/answers": {"json": {"answers": {"0": 1}}},
    "/submit": {"json": {"answers": {"0": 1}}},
    "/enrol": {"content": b"\xff\xd8jpeg"},
    "/chunks/{index}": {"content": b"webm", "headers": {"X-Chunk-SHA256": "0" * 64}},
    "/complete": {"json": {"chunks": 1, "recorded_s": 1.0}},
    "/messages": {"json": {"body": "hello"}},
    "/hand": {"json": {"raised": True}},
}


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_an_invite_token_acts_on_no_other_session_on_any_route(
    client: TestClient, factory: Factory, world: World
) -> None:
    """Every candidate route that names a session, from the route table: with Cy's token
    and Ada's (running) session id, each is refused and Ada's session is untouched."""
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(world.session, state)
    factory.db.commit()
    intruder = factory.candidate(world.exam, name="Cy")
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    values = {"token": intruder.invite_token, "session_id": str(world.session.id)}
    checked = 0
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        template = route.path or ""
        if "/take/{token}/sessions/{session_id}" not in template:
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            request = next((r for end, r in TAKE_REQUESTS.items() if template.endswith(end)), {})
            path = fill_path(template, {**PATH_VALUES, **values})
            response = client.request(method, path, **request)
            assert response.status_code == 403, f"{method} {template}: {response.text[:200]}"
            assert response.json()["detail"] == "this session is not yours"
            checked += 1
    assert checked >= 9
    factory.db.expire_all()
    untouched = factory.db.get(ExamSession, world.session.id)
    assert untouched is not None
    assert (untouched.state, untouched.answers) == (SessionState.RUNNING, {})


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_after_the_window_a_token_opens_no_socket_and_saves_nothing(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(opens_in=timedelta(hours=-5))  # closed two hours ago
    candidate = factory.candidate(exam)
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    factory.db.commit()
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    answers = f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}/answers"
    refused = client.put(answers, json={"answers": {"0": 1}})
    assert refused.status_code == 403
    assert "closed at" in refused.json()["detail"]
    path = f"/ws/take/{candidate.invite_token}"
    assert socket_close_code(client, path) == CloseCode.BAD_INVITE
    factory.db.expire_all()
    kept = factory.db.get(ExamSession, session.id)
    assert kept is not None
    assert kept.answers == {}
