"""Webhook subscriptions, secret rotations and redeliveries, audited and committed (the API
and the admin pages both make them here); turning off a webhook whose receiver is gone."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openproctor import smtp
from openproctor.domains.audit import service as audit_service
from openproctor.domains.audit.service import Auditor
from openproctor.domains.users.models import Role, User
from openproctor.domains.webhooks import service
from openproctor.domains.webhooks.models import Webhook, WebhookCreate, WebhookDelivery
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.outbound import OutboundPolicy

log = logging.getLogger(__name__)


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


def rotate_secret(
    *, db: Session, audit: Auditor, webhook: Webhook, grace: timedelta, now: datetime
) -> Webhook:
    """A new signing secret; the current one keeps signing beside it for `grace`."""
    service.rotate_secret(webhook=webhook, grace=grace, now=now)
    audit("webhook.rotate_secret", "webhook", webhook.id, grace_hours=grace.total_seconds() / 3600)
    db.commit()
    return webhook


def enable(*, db: Session, audit: Auditor, webhook: Webhook) -> Webhook:
    """Turns on a webhook the server turned off (its failed deliveries can be sent again)."""
    service.enable(webhook=webhook)
    audit("webhook.enable", "webhook", webhook.id, url=webhook.url)
    db.commit()
    return webhook


def turn_off_if_failing(
    *,
    db: Session,
    delivery: WebhookDelivery,
    status_code: int | None,
    retry: RetryPolicy,
    now: datetime,
) -> str | None:
    """After a delivery failed for good: turns its webhook off when the receiver answered
    410 Gone, or when nothing reached it for the whole retry schedule; audited (in the
    caller's transaction). Returns why it was turned off, or None."""
    webhook = db.get(Webhook, delivery.webhook_id) if delivery.webhook_id else None
    if webhook is None or not webhook.is_active:
        return None
    if status_code == service.GONE:
        reason = "its receiver answered 410 Gone (it no longer wants these events)"
    else:
        started = (delivery.retry_until or now) - timedelta(seconds=retry.span_s)
        if service.succeeded_since(db=db, webhook_id=webhook.id, since=started):
            return None  # other events got through: this one alone failed
        hours = retry.span_s / 3600
        reason = f"its receiver failed every attempt for {hours:g} hours ({delivery.last_error})"
    failed = service.disable(db=db, webhook=webhook, reason=reason, now=now)
    audit_service.record(
        db=db,
        actor=None,
        action="webhook.disabled",
        target_type="webhook",
        target_id=webhook.id,
        details={"url": webhook.url, "reason": reason, "pending_failed": failed},
    )
    return reason


def tell_admins(
    session_factory: sessionmaker[Session],
    mail: smtp.SmtpSettings,
    *,
    webhook_id: uuid.UUID,
    url: str,
    reason: str,
    public_url: str,
) -> None:
    """E-mails every active admin that the webhook was turned off (a failure is logged)."""
    with session_factory() as db:
        admins = db.scalars(select(User.email).where(User.role == Role.ADMIN, User.is_active)).all()
    if not admins:
        return
    message = EmailMessage()
    message["Subject"] = "OpenProctor turned off a webhook"
    message["From"] = mail.sender
    message["To"] = ", ".join(admins)
    message.set_content(
        f"The webhook to {url} was turned off because {reason}.\n\n"
        "No events are sent to it until it is turned on again. Events that could not be "
        "delivered are kept and can be sent again from its page:\n"
        f"{public_url.rstrip('/')}/admin/webhooks/{webhook_id}\n"
    )
    try:
        smtp.send(mail, message)
    except smtp.MailError as failure:
        log.warning("could not e-mail the admins about webhook %s: %s", webhook_id, failure)
