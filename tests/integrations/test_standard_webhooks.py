"""Standard Webhooks as a receiver sees them: signatures checked by the `standardwebhooks`
library (also while a secret is rotated), every event delivered after a 40-minute outage,
and a webhook turned off when its receiver is gone."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks import WebhookVerificationError

from openproctor import outbound
from openproctor.db import utcnow
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.invitations import service as invitations
from openproctor.domains.invitations.mailer import Mailer
from openproctor.domains.invitations.models import EmailKind
from openproctor.domains.users.models import Role, User
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.domains.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.settings import Settings
from tests.conftest import Factory
from tests.integrations.receiver import RECEIVER_NETWORK, Received, receiver
from tests.mailbox import Mailbox, body_of

pytestmark = pytest.mark.outbound_allow(RECEIVER_NETWORK)
FAST = RetryPolicy(first_s=0.1, max_s=0.2, jitter=lambda ceiling: ceiling)


class Clock:
    """The deliverer's schedule clock, moved forward by the test (signatures keep real time:
    the receiver checks them against its own clock)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def verified(secret: str, request: Received) -> dict[str, object]:
    """What a receiver does: the library checks the headers against the raw body."""
    event = StandardWebhook(secret).verify(request.body, request.headers)
    assert isinstance(event, dict)
    assert request.headers["webhook-id"] == event["id"]
    return event


def rejected(secret: str, request: Received) -> bool:
    try:
        StandardWebhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return True
    return False


def pending(db: Session, webhook_id: str) -> list[WebhookDelivery]:
    db.expire_all()
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == uuid.UUID(webhook_id))
    return list(db.scalars(query.where(WebhookDelivery.status == DeliveryStatus.PENDING)))


def test_signatures_verify_with_the_standard_library_before_during_and_after_a_rotation(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    login_as(factory.user(Role.ADMIN))
    deliverer: WebhookDeliverer = client.app.state.context.hub.webhooks  # type: ignore[attr-defined]
    deliverer.retry, deliverer.poll_s = FAST, 0.05
    with receiver() as target:
        created = client.post(
            "/api/v1/webhooks", json={"url": target.url + "/hook", "events": ["review.completed"]}
        ).json()
        old = created["secret"]
        deliverer.emit("review.completed", None, {"id": "r-1"})
        (first,) = target.wait_for(1)
        assert verified(old, first)["data"] == {"id": "r-1"}
        assert first.headers["webhook-signature"].count("v1,") == 1
        assert first.headers["x-openproctor-signature"].startswith("t=")  # deprecated, kept
        assert rejected("whsec_" + old[-20:], first)

        rotated = client.post(
            f"/api/v1/webhooks/{created['id']}/rotate-secret", json={"grace_hours": 24}
        )
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old
        assert new.startswith("whsec_")
        assert rotated.json()["previous_secret_until"] is not None
        deliverer.emit("review.completed", None, {"id": "r-2"})
        during = target.wait_for(2)[1]
        # A receiver still holding the old secret and one already given the new one both
        # accept it: two signatures, space-separated.
        assert verified(old, during)["data"] == {"id": "r-2"}
        assert verified(new, during)["data"] == {"id": "r-2"}
        assert during.headers["webhook-signature"].count("v1,") == 2

        page = client.post(f"/admin/webhooks/{created['id']}/rotate", data={"grace_hours": "0"})
        assert page.status_code == 200
        newest = page.text.split('data-testid="webhook-secret">')[1].split("<")[0]
        deliverer.emit("review.completed", None, {"id": "r-3"})
        after = target.wait_for(3)[2]
        assert verified(newest, after)["data"] == {"id": "r-3"}
        assert rejected(new, after)  # no overlap asked for
        assert rejected(old, after)
    deliverer.retry, deliverer.poll_s = RetryPolicy(), 2.0


def test_a_receiver_down_for_40_minutes_gets_every_event_afterwards(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    session_factory: sessionmaker[Session],
    settings: Settings,
    db: Session,
) -> None:
    client.app.state.context.hub.webhooks.stop()  # type: ignore[attr-defined]
    login_as(factory.user(Role.ADMIN))
    with receiver() as gone:
        port, url = int(gone.url.rsplit(":", 1)[1]), gone.url + "/hook"
    # Closed: every connection to it is refused until it comes back on the same port.
    webhook = client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["violation.opened"]}
    ).json()
    clock = Clock()
    deliverer = WebhookDeliverer(
        session_factory, outbound_policy=settings.outbound_policy, clock=clock
    )  # the real schedule, jitter and all
    sent = {f"v-{minute}" for minute in (0, 10, 20, 30)}
    with outbound.client(5) as http:
        for minute in range(40):
            if f"v-{minute}" in sent:
                deliverer.emit("violation.opened", None, {"id": f"v-{minute}"})
            deliverer.persist_queued()
            deliverer.deliver_due(http)
            clock.advance(60)
        waiting = pending(db, webhook["id"])
        assert len(waiting) == 4
        assert all(row.last_error == "connection failed" for row in waiting)
        assert sum(row.attempts for row in waiting) >= 8
        back_at = clock.now
        with receiver(port=port) as target:
            while pending(db, webhook["id"]) and clock.now < back_at + timedelta(hours=25):
                wait = deliverer.deliver_due(http)
                clock.advance(max(wait, 1.0))
            got = target.requests
    assert {verified(webhook["secret"], request)["data"]["id"] for request in got} == sent  # type: ignore[index]
    assert len(got) == 4  # each once: nothing was lost, nothing sent twice
    db.expire_all()
    rows = db.scalars(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == uuid.UUID(webhook["id"]))
    ).all()
    assert {row.status for row in rows} == {DeliveryStatus.DELIVERED}
    for row in rows:  # every attempt recorded: refusals, then the 200
        assert len(row.log) == row.attempts
        assert [entry["status_code"] for entry in row.log][-1] == 200
        assert all(entry["error"] == "connection failed" for entry in row.log[:-1])
    assert db.get(Webhook, uuid.UUID(webhook["id"])).is_active  # type: ignore[union-attr]
    # The longest wait after 40 minutes of failures is well under the day it may take.
    assert clock.now - back_at < timedelta(hours=5)


def test_a_410_turns_the_webhook_off_and_the_admins_are_told(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    session_factory: sessionmaker[Session],
    settings: Settings,
    db: Session,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client.app.state.context.hub.webhooks.stop()  # type: ignore[attr-defined]
    admin = factory.user(Role.ADMIN)
    login_as(admin)
    deliverer = WebhookDeliverer(
        session_factory,
        outbound_policy=settings.outbound_policy,
        mail=mailbox.settings,
        public_url="https://exams.example.org",
    )
    with receiver(path_statuses={"/hook": [410]}) as target, outbound.client(5) as http:
        webhook = client.post(
            "/api/v1/webhooks", json={"url": target.url + "/hook", "events": ["review.completed"]}
        ).json()
        deliverer.emit("review.completed", None, {"id": "r-1"})
        deliverer.persist_queued()
        with caplog.at_level(logging.WARNING, logger="openproctor.domains.webhooks.deliverer"):
            deliverer.deliver_due(http)
        assert len(target.requests) == 1  # at once: no retry after 410
        deliverer.emit("review.completed", None, {"id": "r-2"})
        deliverer.persist_queued()
        deliverer.deliver_due(http)
        assert len(target.requests) == 1  # off: nothing more is queued or sent
    read = client.get(f"/api/v1/webhooks/{webhook['id']}").json()
    assert read["is_active"] is False
    assert "410 Gone" in read["disabled_reason"]
    log = client.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json()
    assert [(row["status"], row["last_status_code"]) for row in log] == [("failed", 410)]
    assert any("turned off" in record.getMessage() for record in caplog.records)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "webhook.disabled"))
    assert entry is not None
    assert entry.target_id == webhook["id"]
    (mail,) = mailbox.wait_for(1)
    assert admin.email in mail["To"]
    assert f"https://exams.example.org/admin/webhooks/{webhook['id']}" in body_of(mail)
    banner = client.get("/admin/webhooks").text
    assert 'data-testid="webhooks-turned-off"' in banner
    assert target.url in banner

    turned_on = client.post(f"/api/v1/webhooks/{webhook['id']}/enable")
    assert turned_on.json()["is_active"] is True
    assert 'data-testid="webhooks-turned-off"' not in client.get("/admin/webhooks").text


def test_a_receiver_failing_for_the_whole_day_is_turned_off_after_its_last_attempt(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    session_factory: sessionmaker[Session],
    settings: Settings,
    db: Session,
) -> None:
    client.app.state.context.hub.webhooks.stop()  # type: ignore[attr-defined]
    login_as(factory.user(Role.ADMIN))
    clock = Clock()
    deliverer = WebhookDeliverer(
        session_factory, outbound_policy=settings.outbound_policy, clock=clock
    )
    with receiver([500] * 100) as target, outbound.client(5) as http:
        webhook = client.post(
            "/api/v1/webhooks", json={"url": target.url + "/hook", "events": ["review.completed"]}
        ).json()
        deliverer.emit("review.completed", None, {"id": "r-1"})
        deliverer.persist_queued()
        started = clock.now
        while pending(db, webhook["id"]) and clock.now < started + timedelta(hours=25):
            clock.advance(max(deliverer.deliver_due(http), 1.0))
    (row,) = db.scalars(select(WebhookDelivery)).all()
    assert row.status is DeliveryStatus.FAILED
    assert len(row.log) == row.attempts == len(target.requests)
    first, last = (datetime.fromisoformat(row.log[i]["at"]) for i in (0, -1))
    assert last - first == timedelta(hours=24)
    hook = db.get(Webhook, uuid.UUID(webhook["id"]))
    assert hook is not None
    assert not hook.is_active
    assert hook.disabled_reason is not None
    assert "24 hours" in hook.disabled_reason


def test_invitation_events_carry_the_link_so_another_system_can_send_the_invitation(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    session_factory: sessionmaker[Session],
    settings: Settings,
    db: Session,
    mailbox: Mailbox,
) -> None:
    client.app.state.context.hub.webhooks.stop()  # type: ignore[attr-defined]
    admin = factory.user(Role.ADMIN)
    login_as(admin)
    exam = factory.exam()
    deliverer = WebhookDeliverer(session_factory, outbound_policy=settings.outbound_policy)
    mailer = Mailer(session_factory, settings=mailbox.settings, public_url=settings.public_url)
    with receiver() as target, outbound.client(5) as http:
        webhook = client.post(
            "/api/v1/webhooks",
            json={"url": target.url + "/hook", "events": ["invitation.created", "invitation.sent"]},
        ).json()
        ada = client.post(
            f"/api/v1/exams/{exam.id}/candidates", json={"name": "Ada", "email": "ada@example.org"}
        ).json()
        deliverer.deliver_due(http)
        (created,) = [verified(webhook["secret"], request) for request in target.wait_for(1)]
        assert created["type"] == "invitation.created"
        assert created["data"]["invite_url"] == ada["invite_url"]  # type: ignore[index]
        assert created["data"]["candidate_email"] == "ada@example.org"  # type: ignore[index]

        candidate = invitations.recipients(db=db, exam_id=exam.id, only_unsent=True)
        (email,), _ = invitations.queue(
            db=db, candidates=candidate, kind=EmailKind.INVITATION, requested_by=admin.email
        )
        db.commit()
        assert mailer.send_waiting() == 1
        mailbox.wait_for(1)
        deliverer.deliver_due(http)
        sent = verified(webhook["secret"], target.wait_for(2)[1])
    assert sent["type"] == "invitation.sent"
    assert sent["data"]["email_id"] == str(email.id)  # type: ignore[index]
    assert sent["data"]["invite_url"] == ada["invite_url"]  # type: ignore[index]
