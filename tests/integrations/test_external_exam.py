"""An external exam: the other system gets a signed completion callback; candidates get a
way back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from openproctor.domains.integrations import service as integrations
from openproctor.domains.integrations.models import ExamIntegration
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role, User
from openproctor.domains.webhooks import service as webhooks
from openproctor.domains.webhooks.models import DeliveryStatus
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.domains.webhooks.signing import new_secret, verify
from tests.conftest import Factory
from tests.integrations.receiver import NON_PUBLIC_URLS, RECEIVER_NETWORK, public_only, receiver

# The receiver listens on loopback: allowed here as a deployment allows an internal receiver.
pytestmark = pytest.mark.outbound_allow(RECEIVER_NETWORK)


def test_an_ended_session_calls_back_signed_and_candidates_can_return(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    session_factory: sessionmaker[Session],
    db: Session,
) -> None:
    login_as(factory.user(Role.ADMIN))
    exam = factory.exam(questions=[], external_url="https://quiz.example.com/7")
    candidate = factory.candidate(exam)
    candidate.external_id = "lms-user-42"
    session = sessions.current_for_candidate(db=db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    session.risk_score = 35.0
    db.commit()
    # The server's own deliverer, hurried up for the test.
    deliverer = client.app.state.context.hub.webhooks  # type: ignore[attr-defined]
    deliverer.retry, deliverer.poll_s = (
        RetryPolicy(first_s=0.2, jitter=lambda ceiling: ceiling),
        0.05,
    )
    try:
        with receiver([500]) as target:
            settings = client.put(
                f"/api/v1/exams/{exam.id}/integration",
                json={
                    "callback_url": target.url + "/done",
                    "return_url": "https://quiz.example.com/7/finished",
                },
            )
            assert settings.status_code == 200, settings.text
            secret = settings.json()["callback_secret"]
            assert secret.startswith("whsec_")

            ended = client.post(
                f"/api/v1/sessions/{session.id}/terminate", json={"reason": "phone in view"}
            )
            assert ended.status_code == 200, ended.text
            # The hub told it already; telling it again sends nothing more.
            deliverer.session_changed(session.id, SessionState.TERMINATED)
            first, second = target.wait_for(2)  # a 500, then retried
            assert first.body == second.body
            assert second.path == "/done"
            assert verify(secret, second.headers["x-openproctor-signature"], second.body)
            assert second.headers["x-openproctor-event"] == "session.completed"
            event = json.loads(second.body)
            assert event["type"] == "session.completed"
            data = event["data"]
            assert data["session_id"] == str(session.id)
            assert data["candidate_external_id"] == "lms-user-42"
            assert data["state"] == "terminated"
            assert data["risk_score"] == 35.0
            assert data["end_reason"] == "phone in view"
            page = client.get(f"/admin/exams/{exam.id}/integration")
            assert "session.completed" in page.text
            assert len(target.requests) == 2  # once per session, however often it is told
    finally:
        deliverer.retry, deliverer.poll_s = RetryPolicy(), 2.0
    assert (
        integrations.return_url_for(db=db, exam_id=exam.id) == "https://quiz.example.com/7/finished"
    )


@public_only
def test_callback_urls_that_are_not_public_are_refused_when_saved(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    login_as(factory.user(Role.ADMIN))
    exam = factory.exam()
    url = f"/api/v1/exams/{exam.id}/integration"
    accepted = {}
    for callback_url, reason in NON_PUBLIC_URLS:
        response = client.put(url, json={"callback_url": callback_url})
        if response.status_code != 422 or reason not in response.text:
            accepted[callback_url] = f"{response.status_code} {response.text[:120]}"
    assert accepted == {}
    assert response.json()["detail"][0]["loc"] == ["body", "callback_url"]
    page = client.post(
        f"/admin/exams/{exam.id}/integration",
        data={"callback_url": "http://[::ffff:169.254.169.254]/latest/meta-data/"},
    )
    assert page.status_code == 422
    assert "callback_url: refused: link-local address" in page.text
    assert client.get(url).json()["callback_url"] is None


@public_only
def test_a_stored_loopback_callback_is_refused_when_sent_and_the_receiver_gets_nothing(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    session_factory: sessionmaker[Session],
    db: Session,
) -> None:
    """The row is written past the save-time check (as DNS rebinding would get past it)."""
    login_as(factory.user(Role.ADMIN))
    exam = factory.exam()
    session = sessions.current_for_candidate(db=db, candidate=factory.candidate(exam))
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    deliverer = client.app.state.context.hub.webhooks  # type: ignore[attr-defined]
    deliverer.retry, deliverer.poll_s = (
        RetryPolicy(attempts=2, first_s=0.1, jitter=lambda ceiling: ceiling),
        0.05,
    )
    try:
        with receiver() as target:
            db.add(
                ExamIntegration(
                    exam_id=exam.id, callback_url=target.url + "/done", callback_secret=new_secret()
                )
            )
            db.commit()
            ended = client.post(f"/api/v1/sessions/{session.id}/terminate", json={"reason": "x"})
            assert ended.status_code == 200, ended.text
            deadline = time.monotonic() + 10
            while True:
                db.expire_all()
                rows = webhooks.deliveries(db=db, exam_id=exam.id, direct=True)
                if rows and rows[0].status is DeliveryStatus.FAILED:
                    break
                assert time.monotonic() < deadline, f"the callback was not given up: {rows}"
                time.sleep(0.05)
            assert [entry["error"] for entry in rows[0].log] == ["refused: loopback address"] * 2
            assert target.requests == []
    finally:
        deliverer.retry, deliverer.poll_s = RetryPolicy(), 2.0
