"""Proctors' notes on an attempt (/api/v1/sessions/{id}/notes): written with author and time,
audited, pushed to every wall of the exam, read by staff who may see the session; bad input
gets a clear error and writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.bus.local import exam_topic
from openproctor.db import utcnow
from openproctor.domains.candidates import flows as candidates
from openproctor.domains.notes.models import SessionNote
from openproctor.domains.sessions import service as sessions
from openproctor.domains.users.models import Role, User
from tests.conftest import Factory, logout
from tests.domains.audit_trail import trail
from tests.domains.listening import listening
from tests.domains.test_sessions_flows import auditor
from tests.live.clients import running_session
from tests.test_reports import pdf_text


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_notes_are_kept_with_author_and_time_and_reach_every_wall(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    proctor, admin = factory.user(Role.PROCTOR), factory.user(Role.ADMIN)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    url = f"/api/v1/sessions/{session.id}/notes"
    login_as(proctor)
    with listening(client, exam_topic(session.exam_id)) as walls:
        written = client.post(url, json={"body": "  Looked at a second screen twice.  "})
        pushed = walls.next()
    assert written.status_code == 201, written.text
    note = written.json()
    assert (note["author_name"], note["body"]) == (proctor.name, "Looked at a second screen twice.")
    assert pushed == {
        "type": "note",
        "session_id": str(session.id),
        "note": note,
        "proctor_id": str(proctor.id),
    }
    assert trail(factory.db, session.id) == [
        ("session.note", {"body": "Looked at a second screen twice."})
    ]
    logout(client)
    login_as(admin)
    assert client.post(url, json={"body": "Spoke to them: a family member."}).status_code == 201
    logout(client)
    login_as(factory.user(Role.REVIEWER))  # reads them on the review page
    listed = client.get(url).json()
    assert [(n["author_name"], n["body"]) for n in listed] == [
        (proctor.name, "Looked at a second screen twice."),
        (admin.name, "Spoke to them: a family member."),
    ]


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_bad_notes_are_refused_and_nothing_is_written(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    url = f"/api/v1/sessions/{session.id}/notes"
    login_as(proctor)
    for body in ({"body": "   "}, {"body": ""}, {"body": "x" * 2001}, {}, {"body": "a", "x": 1}):
        response = client.post(url, json=body)
        assert response.status_code == 422, body
    assert "write the note first" in client.post(url, json={"body": "  "}).text
    assert (
        client.post(f"/api/v1/sessions/{uuid.uuid4()}/notes", json={"body": "a"}).status_code == 404
    )
    assert client.get(url).json() == []


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_only_staff_who_may_see_the_session_read_or_write_its_notes(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    url = f"/api/v1/sessions/{session.id}/notes"
    assert client.get(url).status_code == 401
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    assert client.post(url, json={"body": "a"}).status_code == 401
    login_as(factory.user(Role.PROCTOR))  # not their candidate
    assert client.get(url).status_code == 403
    assert client.post(url, json={"body": "a"}).status_code == 403
    logout(client)
    login_as(factory.user(Role.REVIEWER))  # reads, does not write
    assert client.get(url).status_code == 200
    assert client.post(url, json={"body": "a"}).status_code == 403
    logout(client)
    login_as(proctor)
    assert client.get(url).json() == []


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_the_review_page_and_the_pdf_show_the_notes_read_only(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    login_as(proctor)
    note = "Phone rang <b>twice</b>; it stayed on the floor."
    assert client.post(f"/api/v1/sessions/{session.id}/notes", json={"body": note}).status_code
    logout(client)
    login_as(factory.user(Role.REVIEWER))

    page = client.get(f"/review/sessions/{session.id}").text
    assert "Phone rang &lt;b&gt;twice&lt;/b&gt;; it stayed on the floor." in page  # escaped
    assert proctor.name in page
    assert 'data-testid="note-text"' not in page  # read-only: no way to write one here
    text = pdf_text(client.get(f"/api/v1/sessions/{session.id}/report.pdf").content)
    assert "Proctors' notes" in text
    assert "it stayed on the floor." in text


@pytest.mark.parametrize("database_kind", ["sqlite", "postgresql"])
def test_erasing_the_candidate_erases_their_notes_and_the_audited_text(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    proctor, admin = factory.user(Role.PROCTOR), factory.user(Role.ADMIN)
    candidate = factory.candidate(factory.exam(), proctor)
    session_id = sessions.current_for_candidate(db=factory.db, candidate=candidate).id
    factory.db.commit()
    login_as(proctor)
    body = {"body": "Her brother came in at 10:12."}
    assert client.post(f"/api/v1/sessions/{session_id}/notes", json=body).status_code == 201
    context = client.app.state.context  # type: ignore[attr-defined]
    candidates.erase(
        db=factory.db,
        audit=auditor(factory.db, admin),
        store=context.store,
        candidate_id=candidate.id,
        now=utcnow(),
    )
    factory.db.expire_all()
    assert factory.db.scalars(select(SessionNote)).all() == []
    assert trail(factory.db, session_id) == [("session.note", {"body": "[erased]"})]
