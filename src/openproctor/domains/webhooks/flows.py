"""Webhook subscriptions and redeliveries, audited and committed: the API and the admin pages
both make them here."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from openproctor.domains.audit.service import Auditor
from openproctor.domains.webhooks import service
from openproctor.domains.webhooks.models import Webhook, WebhookCreate, WebhookDelivery
from openproctor.outbound import OutboundPolicy


def create(
    *,
    db: Session,
    audit: Auditor,
    webhook_in: WebhookCreate,
    creator_id: uuid.UUID,
    outbound_policy: OutboundPolicy,
) -> Webhook:
    """Raises OutboundRefused for a URL that is not a public address. Resolves the URL's
    host name: call it off the event loop."""
    webhook = service.create(
        db=db, webhook_in=webhook_in, creator_id=creator_id, outbound_policy=outbound_policy
    )
    audit("webhook.create", "webhook", webhook.id, url=webhook.url, events=webhook.events)
    db.commit()
    return webhook


def delete(*, db: Session, audit: Auditor, webhook: Webhook) -> None:
    """Unsubscribes; its pending deliveries are dropped with it."""
    audit("webhook.delete", "webhook", webhook.id, url=webhook.url)
    service.delete(db=db, webhook=webhook)
    db.commit()


def redeliver(*, db: Session, audit: Auditor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends the delivery again (same event id and body, freshly signed) within seconds."""
    service.redeliver(delivery=delivery)
    audit("webhook.redeliver", "webhook_delivery", delivery.id, event_type=delivery.event_type)
    db.commit()
    return delivery
