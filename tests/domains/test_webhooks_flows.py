"""The webhooks flows: a subscription is stored and audited (its secret is not); a URL that
is not allowed is refused with nothing written; removal is audited."""

from __future__ import annotations

import pytest

from openproctor.domains.users.models import Role
from openproctor.domains.webhooks import flows, service
from openproctor.domains.webhooks.models import WebhookCreate, WebhookEvent
from openproctor.outbound import OutboundPolicy, OutboundRefused
from tests.conftest import Factory
from tests.domains.audit_trail import trail
from tests.domains.test_sessions_flows import auditor

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])
LOOPBACK_ALLOWED = OutboundPolicy.from_entries(["127.0.0.1/32"])


def subscription(url: str) -> WebhookCreate:
    return WebhookCreate.model_validate({"url": url, "events": [WebhookEvent.SESSION_ENDED]})


def test_a_webhook_is_subscribed_and_removed_with_an_audit_trail(factory: Factory) -> None:
    db, audit = factory.db, auditor(factory.db, factory.user(Role.ADMIN))
    webhook = flows.create(
        db=db,
        audit=audit,
        webhook_in=subscription("http://127.0.0.1:9/hook"),
        creator_id=audit.actor.id,
        outbound_policy=LOOPBACK_ALLOWED,
    )
    webhook_id, secret = webhook.id, webhook.secret
    flows.delete(db=db, audit=audit, webhook=webhook)
    assert service.get(db=db, webhook_id=webhook_id) is None
    assert secret not in str(trail(db, webhook_id))
    assert trail(db, webhook_id) == [
        ("webhook.create", {"url": "http://127.0.0.1:9/hook", "events": ["session.ended"]}),
        ("webhook.delete", {"url": "http://127.0.0.1:9/hook"}),
    ]


def test_a_private_address_is_refused_and_nothing_is_written(factory: Factory) -> None:
    db, audit = factory.db, auditor(factory.db, factory.user(Role.ADMIN))
    with pytest.raises(OutboundRefused):
        flows.create(
            db=db,
            audit=audit,
            webhook_in=subscription("http://10.0.0.5/hook"),
            creator_id=audit.actor.id,
            outbound_policy=LOOPBACK_ALLOWED,
        )
    db.rollback()
    assert service.list_all(db=db) == []
