"""Webhooks: signed, retried with back-off, kept across restarts, redelivered by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook as StandardWebhook

from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role, User
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.domains.webhooks.models import Webhook, WebhookDelivery
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.domains.webhooks.signing import new_secret, verify
from openproctor.settings import Settings
from tests.conftest import Factory
from tests.integrations.receiver import (
    NON_PUBLIC_URLS,
    RECEIVER_NETWORK,
    Received,
    public_only,
    receiver,
)

# The receivers listen on loopback: allowed here as a deployment allows an internal receiver.
pytestmark = pytest.mark.outbound_allow(RECEIVER_NETWORK)
FAST = RetryPolicy(attempts=3, first_s=0.2, max_s=1.0, jitter=lambda ceiling: ceiling)


@pytest.fixture
def app_deliverer(client: TestClient) -> Iterator[WebhookDeliverer]:
    """The server's own deliverer (a second one would race it for deliveries), hurried."""
    running: WebhookDeliverer = client.app.state.context.hub.webhooks  # type: ignore[attr-defined]
    running.retry, running.poll_s, running.timeout_s = FAST, 0.05, 5
    yield running
    running.retry, running.poll_s = RetryPolicy(), 2.0


def _signature_ok(secret: str, request: Received) -> bool:
    """Both the Standard Webhooks signature (checked by the standardwebhooks library, as a
    receiver would) and the deprecated header (recomputed by hand)."""
    standard_ok = StandardWebhook(secret).verify(request.body, request.headers) is not None
    header = request.headers["x-openproctor-signature"]
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(
        secret.encode(), fields["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    legacy_ok = hmac.compare_digest(expected, fields["v1"]) and verify(secret, header, request.body)
    return standard_ok and legacy_ok


def test_signed_delivery_is_retried_after_a_500_and_redelivered_by_hand(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    app_deliverer: WebhookDeliverer,
) -> None:
    login_as(factory.user(Role.ADMIN))
    exam = factory.exam()
    with receiver([500]) as target:
        created = client.post(
            "/api/v1/webhooks",
            json={
                "url": target.url + "/hook",
                "events": ["violation.opened"],
                "exam_id": str(exam.id),
            },
        )
        assert created.status_code == 201, created.text
        webhook = created.json()
        secret = webhook["secret"]
        assert secret.startswith("whsec_")

        app_deliverer.emit("violation.opened", exam.id, {"id": "v-1", "kind": "multiple_faces"})
        first, second = target.wait_for(2)
        assert first.body == second.body
        assert second.path == "/hook"
        assert second.headers["x-openproctor-event"] == "violation.opened"
        assert second.headers["content-type"] == "application/json"
        assert _signature_ok(secret, first)
        assert _signature_ok(secret, second)
        assert not verify("whsec_wrong", second.headers["x-openproctor-signature"], second.body)
        assert not verify(secret, second.headers["x-openproctor-signature"], second.body + b" ")
        event = json.loads(second.body)
        assert event["type"] == "violation.opened"
        assert event["exam_id"] == str(exam.id)
        assert event["data"] == {"id": "v-1", "kind": "multiple_faces"}

        log_url = f"/api/v1/webhooks/{webhook['id']}/deliveries"
        delivery = _wait_for_status(client, log_url, "delivered")
        assert delivery["attempts"] == 2
        assert [entry["status_code"] for entry in delivery["log"]] == [500, 200]
        assert delivery["last_status_code"] == 200
        assert delivery["id"] == second.headers["x-openproctor-delivery"]

        again = client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver")
        assert again.status_code == 200
        third = target.wait_for(3)[2]
        assert json.loads(third.body)["id"] == event["id"]
        assert _signature_ok(secret, third)
        delivery = _wait_for_status(client, log_url, "delivered")
        assert [entry["status_code"] for entry in delivery["log"]] == [500, 200, 200]

        page = client.get(f"/admin/webhooks/{webhook['id']}")
        assert page.status_code == 200
        assert "violation.opened" in page.text
        assert "500" in page.text


def _wait_for_status(client: TestClient, url: str, wanted: str) -> dict[str, object]:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = client.get(url).json()
        if rows and rows[0]["status"] == wanted:
            return dict(rows[0])
        time.sleep(0.05)
    raise AssertionError(f"delivery not {wanted}: {rows}")


def test_events_survive_a_restart_reach_only_their_subscribers_and_give_up(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    session_factory: sessionmaker[Session],
    db: Session,
    settings: Settings,
) -> None:
    # This test runs deliverers of its own; the server's must not take their deliveries.
    client.app.state.context.hub.webhooks.stop()  # type: ignore[attr-defined]
    login_as(factory.user(Role.ADMIN))
    exam, other = factory.exam(), factory.exam(title="Other")
    candidate = factory.candidate(exam)
    with receiver(path_statuses={"/all": [503, 503, 503]}) as target:
        everything = client.post(
            "/api/v1/webhooks",
            json={"url": target.url + "/all", "events": ["session.ended", "session.started"]},
        ).json()
        client.post(
            "/api/v1/webhooks",
            json={
                "url": target.url + "/other",
                "events": ["violation.opened"],
                "exam_id": str(other.id),
            },
        )
        stopped = WebhookDeliverer(
            session_factory, outbound_policy=settings.outbound_policy, retry=FAST, poll_s=0.05
        )
        stopped.emit("violation.opened", exam.id, {"id": "not for anyone"})
        stopped.emit("violation.opened", other.id, {"id": "for /other"})
        session = sessions.current_for_candidate(db=db, candidate=candidate)
        sessions.move(session, SessionState.TERMINATED, reason="test")
        db.commit()
        stopped.session_changed(session.id, session.state)
        stopped.session_changed(session.id, session.state)  # once per session all the same
        stopped.stop()  # never started: the queue is written to the outbox
        assert target.requests == []
        pending = db.scalars(select(WebhookDelivery.event_type)).all()
        assert sorted(pending) == ["session.ended", "violation.opened"]

        restarted = WebhookDeliverer(
            session_factory, outbound_policy=settings.outbound_policy, retry=FAST, poll_s=0.05
        )
        restarted.start()
        try:
            got = target.wait_for(4)  # /other once, /all three times (503 each)
            paths = sorted(request.path for request in got)
            assert paths == ["/all", "/all", "/all", "/other"]
            ended = json.loads(next(r.body for r in got if r.path == "/all"))
            assert ended["data"]["state"] == "terminated"
            assert ended["data"]["candidate_id"] == str(candidate.id)
            log_url = f"/api/v1/webhooks/{everything['id']}/deliveries"
            failed = _wait_for_status(client, log_url, "failed")
            assert failed["attempts"] == 3
        finally:
            restarted.stop()


def _attempts(delivery: dict[str, object]) -> list[tuple[object, object]]:
    log = delivery["log"]
    assert isinstance(log, list)
    return [(entry["status_code"], entry["error"]) for entry in log]


@public_only
def test_webhook_urls_that_are_not_public_are_refused_when_saved(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    login_as(factory.user(Role.ADMIN))
    accepted = {}
    for url, reason in NON_PUBLIC_URLS:
        response = client.post(
            "/api/v1/webhooks", json={"url": url, "events": ["review.completed"]}
        )
        if response.status_code != 422 or reason not in response.text:
            accepted[url] = f"{response.status_code} {response.text[:120]}"
    assert accepted == {}
    assert response.json()["detail"][0]["loc"] == ["body", "url"]
    page = client.post(
        "/admin/webhooks",
        data={"url": "http://169.254.169.254/latest/meta-data/", "events": "review.completed"},
    )
    assert page.status_code == 422
    assert "url: refused: link-local address" in page.text
    assert client.get("/api/v1/webhooks").json() == []


@public_only
def test_a_stored_loopback_url_is_refused_at_delivery_and_the_receiver_gets_nothing(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    db: Session,
    app_deliverer: WebhookDeliverer,
) -> None:
    """The row is written past the save-time check, as if its name had resolved to a public
    address then and to loopback now (DNS rebinding): every attempt is vetted again."""
    login_as(factory.user(Role.ADMIN))
    with receiver() as target:
        webhook = Webhook(
            url=target.url + "/hook", events=["review.completed"], secret=new_secret()
        )
        db.add(webhook)
        db.commit()
        app_deliverer.emit("review.completed", None, {"id": "r-1"})
        failed = _wait_for_status(client, f"/api/v1/webhooks/{webhook.id}/deliveries", "failed")
        assert _attempts(failed) == [(None, "refused: loopback address")] * FAST.attempts
        assert target.requests == []


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    app_deliverer: WebhookDeliverer,
) -> None:
    login_as(factory.user(Role.ADMIN))
    with receiver() as target, receiver() as elsewhere:
        target.redirects["/hook"] = elsewhere.url + "/stolen"
        webhook = client.post(
            "/api/v1/webhooks", json={"url": target.url + "/hook", "events": ["review.completed"]}
        ).json()
        app_deliverer.emit("review.completed", None, {"id": "r-1"})
        failed = _wait_for_status(client, f"/api/v1/webhooks/{webhook['id']}/deliveries", "failed")
        assert _attempts(failed) == [(302, "HTTP 302")] * FAST.attempts
        assert len(target.requests) == FAST.attempts
        assert elsewhere.requests == []


def test_the_delivery_log_keeps_status_codes_not_what_the_receiver_said(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    app_deliverer: WebhookDeliverer,
) -> None:
    login_as(factory.user(Role.ADMIN))
    with receiver([500]) as target:
        target.reply = b"internal-service-reply: db_password=hunter2"
        webhook = client.post(
            "/api/v1/webhooks", json={"url": target.url + "/hook", "events": ["review.completed"]}
        ).json()
        app_deliverer.emit("review.completed", None, {"id": "r-1"})
        log_url = f"/api/v1/webhooks/{webhook['id']}/deliveries"
        delivered = _wait_for_status(client, log_url, "delivered")
        assert _attempts(delivered) == [(500, "HTTP 500"), (200, None)]
        assert "hunter2" not in client.get(log_url).text
        assert "hunter2" not in client.get(f"/admin/webhooks/{webhook['id']}").text
