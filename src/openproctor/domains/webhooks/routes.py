"/api/v1/webhooks: subscriptions, their delivery log, redelivery."

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from openproctor.access import visible_exam
from openproctor.db import utcnow
from openproctor.deps import AdminUser, Audit, Context, DbSession, refused_url
from openproctor.domains.webhooks import flows, service
from openproctor.domains.webhooks.models import (
    DeliveryRead,
    SecretRotation,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookEvent,
    WebhookRead,
)
from openproctor.outbound import OutboundRefused
from openproctor.pagination import PageParams, send_page

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _found(db: DbSession, webhook_id: uuid.UUID) -> Webhook:
    webhook = service.get(db=db, webhook_id=webhook_id)
    if webhook is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "webhook not found")
    return webhook


@router.get("/events", response_model=list[str])
def list_events(_: AdminUser) -> list[str]:
    """The event types a webhook can subscribe to."""
    return [event.value for event in WebhookEvent]


@router.get("", response_model=list[WebhookRead])
def list_webhooks(
    db: DbSession, _: AdminUser, paging: PageParams, request: Request, response: Response
) -> list[WebhookRead]:
    """Newest first."""
    page = service.page_all(db=db, page=paging)
    reads = [WebhookRead.model_validate(webhook) for webhook in page.items]
    return send_page(request, response, page, reads)


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "Invalid, or a URL that is not a public address."}},
)
def create_webhook(
    webhook_in: WebhookCreate, db: DbSession, user: AdminUser, audit: Audit, context: Context
) -> WebhookCreated:
    """Subscribes a URL; the response holds the signing secret, the only time it is shown.
    The URL must resolve to public addresses only (see OPENPROCTOR_OUTBOUND_ALLOW)."""
    if webhook_in.exam_id is not None:
        visible_exam(db=db, user=user, exam_id=webhook_in.exam_id)
    try:
        webhook = flows.create(
            db=db,
            audit=audit,
            webhook_in=webhook_in,
            creator_id=user.id,
            outbound_policy=context.settings.outbound_policy,
        )
    except OutboundRefused as refusal:
        raise refused_url(refusal) from None
    return WebhookCreated(**WebhookRead.model_validate(webhook).model_dump(), secret=webhook.secret)


@router.get("/{webhook_id}", response_model=WebhookRead)
def get_webhook(webhook_id: uuid.UUID, db: DbSession, _: AdminUser) -> WebhookRead:
    return WebhookRead.model_validate(_found(db, webhook_id))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: uuid.UUID, db: DbSession, _: AdminUser, audit: Audit) -> None:
    """Unsubscribes; its pending deliveries are dropped with it."""
    flows.delete(db=db, audit=audit, webhook=_found(db, webhook_id))


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookCreated)
def rotate_secret(
    webhook_id: uuid.UUID, rotation: SecretRotation, db: DbSession, _: AdminUser, audit: Audit
) -> WebhookCreated:
    """A new signing secret, shown this once. Deliveries carry a signature with each secret
    (space-separated in webhook-signature) until the grace period ends, so a receiver can
    switch to the new secret without refusing a request."""
    webhook = flows.rotate_secret(
        db=db,
        audit=audit,
        webhook=_found(db, webhook_id),
        grace=timedelta(hours=rotation.grace_hours),
        now=utcnow(),
    )
    return WebhookCreated(**WebhookRead.model_validate(webhook).model_dump(), secret=webhook.secret)


@router.post("/{webhook_id}/enable", response_model=WebhookRead)
def enable_webhook(webhook_id: uuid.UUID, db: DbSession, _: AdminUser, audit: Audit) -> WebhookRead:
    """Turns a webhook back on after the server turned it off (see disabled_reason)."""
    webhook = flows.enable(db=db, audit=audit, webhook=_found(db, webhook_id))
    return WebhookRead.model_validate(webhook)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(
    webhook_id: uuid.UUID,
    db: DbSession,
    _: AdminUser,
    paging: PageParams,
    request: Request,
    response: Response,
) -> list[DeliveryRead]:
    """The delivery log, newest first: status, attempts and each attempt's response code."""
    webhook = _found(db, webhook_id)
    page = service.page_deliveries(db=db, webhook_id=webhook.id, page=paging)
    reads = [DeliveryRead.model_validate(row) for row in page.items]
    return send_page(request, response, page, reads)


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryRead)
def redeliver(delivery_id: uuid.UUID, db: DbSession, _: AdminUser, audit: Audit) -> DeliveryRead:
    """Sends a delivery again (same event id and body, freshly signed) within seconds."""
    delivery = service.get_delivery(db=db, delivery_id=delivery_id)
    if delivery is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "delivery not found")
    return DeliveryRead.model_validate(flows.redeliver(db=db, audit=audit, delivery=delivery))
