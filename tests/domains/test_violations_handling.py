"""Marking an alert handled (POST /api/v1/violations/{id}/handled): who and when are kept and
audited, every wall of the exam hears it, the first proctor stays on record, and only staff
who may act on the candidate can do it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient

from openproctor.bus.local import exam_topic
from openproctor.db import utcnow
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role, User
from openproctor.domains.violations.models import Violation
from tests.conftest import Factory, logout
from tests.domains.audit_trail import trail
from tests.domains.listening import listening
from tests.live.clients import running_session


def open_violation(factory: Factory, session: ExamSession) -> Violation:
    violation = Violation(
        session_id=session.id,
        kind=ViolationKind.MULTIPLE_FACES,
        severity=Severity.HIGH,
        started_at=utcnow(),
        details={},
    )
    factory.db.add(violation)
    factory.db.commit()
    return violation


def test_a_proctor_marks_an_alert_handled_and_every_wall_hears_it(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    proctor = factory.user(Role.PROCTOR)
    candidate = factory.candidate(factory.exam(), proctor, name="Ada")
    session = running_session(factory, candidate)
    violation = open_violation(factory, session)
    login_as(proctor)

    with listening(client, exam_topic(session.exam_id)) as walls:
        response = client.post(f"/api/v1/violations/{violation.id}/handled")
        pushed = walls.next()
    assert response.status_code == 200, response.text
    handled = response.json()
    assert handled["handled_by_name"] == proctor.name
    assert handled["handled_at"] is not None
    assert pushed["type"] == "violation"
    assert pushed["event"] == "handled"
    assert pushed["proctor_id"] == str(proctor.id)
    assert pushed["violation"]["id"] == str(violation.id)
    assert pushed["violation"]["candidate_name"] == "Ada"
    assert pushed["violation"]["handled_by_name"] == proctor.name
    assert trail(factory.db, violation.id) == [
        ("violation.handled", {"session_id": str(session.id)})
    ]

    listed = client.get(f"/api/v1/exams/{session.exam_id}/violations").json()
    assert [(v["handled_by_name"], v["handled_at"]) for v in listed] == [
        (proctor.name, handled["handled_at"])
    ]


def test_the_first_proctor_to_handle_an_alert_stays_on_record(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    proctor, admin = factory.user(Role.PROCTOR), factory.user(Role.ADMIN)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    violation = open_violation(factory, session)
    login_as(proctor)
    first = client.post(f"/api/v1/violations/{violation.id}/handled").json()
    logout(client)
    login_as(admin)
    with listening(client, exam_topic(session.exam_id)) as walls:
        again = client.post(f"/api/v1/violations/{violation.id}/handled")
        walls.assert_silent()  # nothing changed, nothing to tell
    assert again.status_code == 200
    assert again.json()["handled_by_name"] == proctor.name
    assert again.json()["handled_at"] == first["handled_at"]
    assert [action for action, _ in trail(factory.db, violation.id)] == ["violation.handled"]


def test_only_staff_who_act_on_the_candidate_may_mark_an_alert_handled(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    violation = open_violation(factory, session)
    url = f"/api/v1/violations/{violation.id}/handled"

    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    assert client.post(url).status_code == 401
    login_as(factory.user(Role.PROCTOR))  # another proctor's candidate
    assert client.post(url).status_code == 403
    logout(client)
    login_as(factory.user(Role.REVIEWER))  # reviewers decide afterwards, they do not proctor
    assert client.post(url).status_code == 403
    logout(client)
    login_as(proctor)
    assert client.post(f"/api/v1/violations/{uuid.uuid4()}/handled").status_code == 404
    assert client.post("/api/v1/violations/not-an-id/handled").status_code == 422
    factory.db.expire_all()
    row = factory.db.get(Violation, violation.id)
    assert row is not None
    assert row.handled_at is None
