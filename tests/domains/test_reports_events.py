"""Every intervention and message of an attempt in one list (domains/reports/events.py),
written through the real routes as a proctor does it, and the same list in the PDF."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.reports.events import EVENT_LABELS, EventKind
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role
from tests.conftest import Factory, login
from tests.live.clients import running_session
from tests.test_reports import pdf_text


def test_a_warned_paused_and_terminated_attempt_lists_each_intervention_in_order(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR, email="pat@example.com")
    session = running_session(factory, factory.candidate(factory.exam(), proctor=proctor))
    login(client, proctor)
    base = f"/api/v1/sessions/{session.id}"
    steps = (
        ("messages", {"body": "Eyes on your own screen", "kind": "warning"}),
        ("pause", None),
        ("resume", None),
        ("extra-time", {"minutes": 5}),
        ("terminate", {"reason": "a second person answered for them"}),
    )
    for path, body in steps:
        answer = client.post(f"{base}/{path}", json=body) if body else client.post(f"{base}/{path}")
        assert answer.status_code in (200, 201), (path, answer.text)

    events = client.get(f"{base}/events").json()
    assert [(e["kind"], e["by"], e["text"]) for e in events] == [
        ("warning", "pat@example.com", "Eyes on your own screen"),
        ("paused", "pat@example.com", ""),
        ("resumed", "pat@example.com", ""),
        ("extra_time", "pat@example.com", "5 more minutes"),
        ("terminated", "pat@example.com", "a second person answered for them"),
    ]
    assert all(e["intervention"] for e in events)
    assert events[1]["label"] == "Exam paused"

    text = pdf_text(client.get(f"{base}/report.pdf").content)
    for expected in (
        "Interventions and messages, times in UTC",
        "Warning from the proctor",
        "Eyes on your own screen",
        "Exam paused",
        "Exam resumed",
        "5 more minutes",
        "Exam ended by the proctor",
        "Termination reason",
        "a second person answered for them",
    ):
        assert expected in text, expected


def test_an_attempt_the_server_ended_says_so_and_messages_are_not_interventions(
    client: TestClient, factory: Factory
) -> None:
    session = running_session(factory, factory.candidate(factory.exam()))
    sessions.move(session, SessionState.TERMINATED, reason="automatic: risk score reached 90")
    factory.db.commit()
    admin = factory.user(Role.ADMIN)
    login(client, admin)
    events = client.get(f"/api/v1/sessions/{session.id}/events").json()
    assert [(e["kind"], e["label"], e["by"], e["text"]) for e in events] == [
        (
            "auto_terminated",
            EVENT_LABELS[EventKind.AUTO_TERMINATED],
            "System",
            "automatic: risk score reached 90",
        )
    ]
    # Nothing in the audit log is mistaken for a proctor's termination.
    assert not factory.db.scalars(
        select(AuditEntry).where(AuditEntry.action == "session.terminated")
    ).all()


def test_events_are_for_staff_who_may_see_the_attempt(client: TestClient, factory: Factory) -> None:
    mine, theirs = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor=mine))
    assert client.get(f"/api/v1/sessions/{session.id}/events").status_code == 401
    login(client, theirs)
    assert client.get(f"/api/v1/sessions/{session.id}/events").status_code == 403
