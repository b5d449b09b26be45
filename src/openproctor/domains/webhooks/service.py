"""Webhook subscriptions, the outbox of deliveries, and redelivery."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.webhooks.models import (
    DeliveryStatus,
    Webhook,
    WebhookCreate,
    WebhookDelivery,
)
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.domains.webhooks.signing import new_secret
from openproctor.outbound import OutboundPolicy
from openproctor.pagination import Page, PageRequest, scalars_page

# Enough for every attempt of a day's schedule (about 20); `attempts` counts them all.
MAX_LOG_ENTRIES = 50
GONE = 410
TURNED_OFF = "the webhook was turned off"


def create(
    *,
    db: Session,
    webhook_in: WebhookCreate,
    creator_id: uuid.UUID | None,
    outbound_policy: OutboundPolicy,
) -> Webhook:
    """Raises OutboundRefused for a URL the server may not send to."""
    outbound_policy.vet(str(webhook_in.url), field="url")
    webhook = Webhook(
        url=str(webhook_in.url),
        events=[event.value for event in webhook_in.events],
        exam_id=webhook_in.exam_id,
        description=webhook_in.description,
        secret=new_secret(),
        created_by_id=creator_id,
    )
    db.add(webhook)
    db.flush()
    return webhook


def get(*, db: Session, webhook_id: uuid.UUID) -> Webhook | None:
    return db.get(Webhook, webhook_id)


def list_all(*, db: Session) -> Sequence[Webhook]:
    return db.scalars(select(Webhook).order_by(Webhook.created_at.desc())).all()


def valid_secrets(webhook: Webhook, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one while a
    rotation's grace period lasts."""
    until = webhook.previous_secret_until
    if webhook.previous_secret and until is not None and now < until:
        return [webhook.secret, webhook.previous_secret]
    return [webhook.secret]


def rotate_secret(*, webhook: Webhook, grace: timedelta, now: datetime) -> None:
    """A new secret signs from now on; the current one signs beside it until now + grace."""
    webhook.previous_secret = webhook.secret if grace > timedelta(0) else None
    webhook.previous_secret_until = now + grace if grace > timedelta(0) else None
    webhook.secret = new_secret()


def disable(*, db: Session, webhook: Webhook, reason: str, now: datetime) -> int:
    """Turns the webhook off: no new deliveries, and those still pending fail (an admin can
    send them again after turning it on). Returns how many pending deliveries failed."""
    webhook.is_active = False
    webhook.disabled_at = now
    webhook.disabled_reason = reason[:300]
    failed = db.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == webhook.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.FAILED, last_error=TURNED_OFF)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(failed, "rowcount", 0))


def enable(*, webhook: Webhook) -> None:
    webhook.is_active = True
    webhook.disabled_at = None
    webhook.disabled_reason = None


def succeeded_since(*, db: Session, webhook_id: uuid.UUID, since: datetime) -> bool:
    """Whether any delivery to this webhook went through after `since`."""
    found = db.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.status == DeliveryStatus.DELIVERED,
            WebhookDelivery.delivered_at > since,
        )
        .limit(1)
    )
    return found is not None


def disabled(*, db: Session) -> Sequence[Webhook]:
    """Webhooks the server turned off, newest first (the admin page's banner)."""
    query = select(Webhook).where(Webhook.disabled_at.is_not(None))
    return db.scalars(query.order_by(Webhook.disabled_at.desc())).all()


def page_all(*, db: Session, page: PageRequest) -> Page[Webhook]:
    """Newest first."""
    order = (Webhook.created_at, Webhook.id)
    return scalars_page(db, select(Webhook), order, page, descending=True)


def page_deliveries(
    *, db: Session, webhook_id: uuid.UUID, page: PageRequest
) -> Page[WebhookDelivery]:
    """Newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    order = (WebhookDelivery.created_at, WebhookDelivery.id)
    return scalars_page(db, query, order, page, descending=True)


def delete(*, db: Session, webhook: Webhook) -> None:
    db.delete(webhook)
    db.flush()


def deliveries(
    *,
    db: Session,
    webhook_id: uuid.UUID | None = None,
    exam_id: uuid.UUID | None = None,
    direct: bool = False,
    limit: int = 100,
) -> Sequence[WebhookDelivery]:
    """Newest first; `direct`: only deliveries that are not a subscription's (callbacks)."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc()).limit(limit)
    if direct:
        query = query.where(WebhookDelivery.webhook_id.is_(None))
    if webhook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    if exam_id is not None:
        query = query.where(WebhookDelivery.exam_id == exam_id)
    return db.scalars(query).all()


def get_delivery(*, db: Session, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    return db.get(WebhookDelivery, delivery_id)


def redeliver(*, delivery: WebhookDelivery) -> None:
    """Sends the same event (same body and event id) again, now, with a fresh retry budget."""
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.retry_until = None
    delivery.next_attempt_at = utcnow()


def envelope(
    *,
    event_id: uuid.UUID,
    event_type: str,
    exam_id: uuid.UUID | None,
    data: dict[str, Any],
    at: datetime,
) -> str:
    """The JSON body every receiver gets; signed as these exact bytes."""
    return json.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "created_at": at.isoformat(),
            "exam_id": str(exam_id) if exam_id else None,
            "data": data,
        },
        separators=(",", ":"),
        default=str,
    )


def _taken(db: Session, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    found = db.scalars(
        select(WebhookDelivery.dedupe_key).where(WebhookDelivery.dedupe_key.in_(keys))
    )
    return {key for key in found if key}


def enqueue(
    *,
    db: Session,
    event_type: str,
    exam_id: uuid.UUID | None,
    data: dict[str, Any],
    key: str | None = None,
) -> list[WebhookDelivery]:
    """Adds one pending delivery per active webhook that wants this event (in the caller's
    transaction, so the event is kept exactly when the change it reports is).

    With a key (e.g. the session id), each receiver gets the event once however often it is
    emitted."""
    query = select(Webhook).where(Webhook.is_active)
    if exam_id is None:
        query = query.where(Webhook.exam_id.is_(None))
    else:
        query = query.where((Webhook.exam_id.is_(None)) | (Webhook.exam_id == exam_id))
    targets = [webhook for webhook in db.scalars(query) if event_type in webhook.events]
    keys = {webhook.id: f"{webhook.id}:{event_type}:{key}" if key else None for webhook in targets}
    taken = _taken(db, [k for k in keys.values() if k])
    now = utcnow()
    event_id = uuid.uuid4()
    body = envelope(event_id=event_id, event_type=event_type, exam_id=exam_id, data=data, at=now)
    rows = [
        WebhookDelivery(
            webhook_id=webhook.id,
            exam_id=exam_id,
            event_id=event_id,
            event_type=event_type,
            dedupe_key=keys[webhook.id],
            url=webhook.url,
            body=body,
            next_attempt_at=now,
            log=[],
        )
        for webhook in targets
        if keys[webhook.id] not in taken
    ]
    db.add_all(rows)
    db.flush()
    return rows


def enqueue_direct(
    *,
    db: Session,
    url: str,
    event_type: str,
    exam_id: uuid.UUID | None,
    data: dict[str, Any],
    key: str | None = None,
) -> WebhookDelivery | None:
    """One delivery to a URL that is not a subscription (an exam's completion callback,
    signed with the exam's callback secret); None when the key was delivered already."""
    dedupe_key = f"direct:{url}:{event_type}:{key}" if key else None
    if dedupe_key and _taken(db, [dedupe_key]):
        return None
    now = utcnow()
    event_id = uuid.uuid4()
    row = WebhookDelivery(
        webhook_id=None,
        exam_id=exam_id,
        event_id=event_id,
        event_type=event_type,
        dedupe_key=dedupe_key[:300] if dedupe_key else None,
        url=url,
        body=envelope(event_id=event_id, event_type=event_type, exam_id=exam_id, data=data, at=now),
        next_attempt_at=now,
        log=[],
    )
    db.add(row)
    db.flush()
    return row


def record_attempt(
    *,
    delivery: WebhookDelivery,
    at: datetime,
    status_code: int | None,
    error: str | None,
    ms: float,
    retry: RetryPolicy,
    final: bool = False,
) -> DeliveryStatus:
    """Notes one attempt: delivered on 2xx; failed for good on 410 Gone, when `final`, or
    when the retry schedule (started at the first failure) is over; otherwise pending
    until the schedule's next attempt."""
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error[:500] if error else None
    entry = {"at": at.isoformat(), "status_code": status_code, "error": error, "ms": round(ms, 1)}
    delivery.log = [*delivery.log, entry][-MAX_LOG_ENTRIES:]
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = at
        return delivery.status
    if delivery.retry_until is None:
        delivery.retry_until = retry.deadline(at)
    next_at = retry.next_attempt(
        attempts_made=delivery.attempts, now=at, retry_until=delivery.retry_until
    )
    if final or status_code == GONE or next_at is None:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = next_at
    return delivery.status
