"""Admin pages for outbound calls: webhook subscriptions with their deliveries, and an exam's
integration (meeting id, completion callback, return URL)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from openproctor.access import visible_exam
from openproctor.db import utcnow
from openproctor.deps import AdminUser, Audit, Context, DbSession
from openproctor.domains.exams import service as exams
from openproctor.domains.exams.models import Exam
from openproctor.domains.integrations import flows as integration_flows
from openproctor.domains.integrations import service as integrations
from openproctor.domains.integrations.models import IntegrationWrite
from openproctor.domains.webhooks import flows as webhook_flows
from openproctor.domains.webhooks import service as webhooks
from openproctor.domains.webhooks.models import (
    MAX_GRACE_HOURS,
    Webhook,
    WebhookCreate,
    WebhookEvent,
)
from openproctor.outbound import OutboundRefused
from openproctor.web.admin.forms import see_other, validation_messages
from openproctor.web.templating import form_status, render

router = APIRouter(include_in_schema=False)


def _webhooks_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    *,
    created: Webhook | None = None,
    errors: list[str] | None = None,
) -> Response:
    return render(
        request,
        "admin/webhooks.html",
        user=user,
        webhooks=webhooks.list_all(db=db),
        turned_off=webhooks.disabled(db=db),
        exams={exam.id: exam for exam in exams.list_visible(db=db, user=user)},
        events=list(WebhookEvent),
        created=created,
        errors=errors or [],
        status_code=form_status(errors),
    )


@router.get("/webhooks")
def webhook_list(request: Request, db: DbSession, user: AdminUser) -> Response:
    return _webhooks_page(request, db, user)


@router.post("/webhooks")
async def create_webhook(
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    url: Annotated[str, Form(max_length=2000)],
    description: Annotated[str, Form(max_length=200)] = "",
    exam_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = await request.form()
    chosen = [value for value in form.getlist("events") if isinstance(value, str)]
    try:
        webhook_in = WebhookCreate.model_validate(
            {
                "url": url,
                "events": chosen,
                "exam_id": exam_id or None,
                "description": description,
            }
        )
    except ValidationError as error:
        return _webhooks_page(request, db, user, errors=validation_messages(error))
    try:
        # Off the event loop: the URL's host name is resolved.
        webhook = await run_in_threadpool(
            webhook_flows.create,
            db=db,
            audit=audit,
            webhook_in=webhook_in,
            creator_id=user.id,
            outbound_policy=context.settings.outbound_policy,
        )
    except OutboundRefused as refusal:
        return _webhooks_page(request, db, user, errors=[refusal.message])
    return _webhooks_page(request, db, user, created=webhook)


@router.post("/webhooks/{webhook_id}/delete")
def delete_webhook(
    webhook_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit
) -> Response:
    webhook = webhooks.get(db=db, webhook_id=webhook_id)
    if webhook is None:
        return _webhooks_page(request, db, user, errors=["no such webhook"])
    webhook_flows.delete(db=db, audit=audit, webhook=webhook)
    return see_other("/admin/webhooks")


def _detail_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    webhook: Webhook,
    *,
    new_secret: str | None = None,
    notice: str | None = None,
) -> Response:
    return render(
        request,
        "admin/webhook_detail.html",
        user=user,
        webhook=webhook,
        deliveries=webhooks.deliveries(db=db, webhook_id=webhook.id),
        new_secret=new_secret,
        notice=notice,
        now=utcnow(),
    )


@router.get("/webhooks/{webhook_id}")
def webhook_detail(
    webhook_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser
) -> Response:
    webhook = webhooks.get(db=db, webhook_id=webhook_id)
    if webhook is None:
        return _webhooks_page(request, db, user, errors=["no such webhook"])
    return _detail_page(request, db, user, webhook)


@router.post("/webhooks/{webhook_id}/rotate")
def rotate_webhook_secret(
    webhook_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    grace_hours: Annotated[float, Form(ge=0, le=MAX_GRACE_HOURS)] = 24,
) -> Response:
    webhook = webhooks.get(db=db, webhook_id=webhook_id)
    if webhook is None:
        return _webhooks_page(request, db, user, errors=["no such webhook"])
    webhook_flows.rotate_secret(
        db=db, audit=audit, webhook=webhook, grace=timedelta(hours=grace_hours), now=utcnow()
    )
    return _detail_page(request, db, user, webhook, new_secret=webhook.secret)


@router.post("/webhooks/{webhook_id}/enable")
def enable_webhook(
    webhook_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit
) -> Response:
    webhook = webhooks.get(db=db, webhook_id=webhook_id)
    if webhook is None:
        return _webhooks_page(request, db, user, errors=["no such webhook"])
    webhook_flows.enable(db=db, audit=audit, webhook=webhook)
    return _detail_page(request, db, user, webhook, notice="Turned on: new events are sent again")


@router.post("/webhooks/deliveries/{delivery_id}/redeliver")
def redeliver_webhook(
    delivery_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit
) -> Response:
    delivery = webhooks.get_delivery(db=db, delivery_id=delivery_id)
    if delivery is None:
        return _webhooks_page(request, db, user, errors=["no such delivery"])
    webhook_flows.redeliver(db=db, audit=audit, delivery=delivery)
    if delivery.webhook_id is None:
        return see_other(f"/admin/exams/{delivery.exam_id}/integration")
    return see_other(f"/admin/webhooks/{delivery.webhook_id}")


# --- an exam's meeting id, completion callback and return URL ------------------------------


def _integration_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    exam: Exam,
    *,
    errors: list[str] | None = None,
    notice: str | None = None,
) -> Response:
    return render(
        request,
        "admin/exam_integration.html",
        user=user,
        exam=exam,
        settings=integrations.read(db=db, exam_id=exam.id),
        callbacks=webhooks.deliveries(db=db, exam_id=exam.id, direct=True),
        errors=errors or [],
        notice=notice,
        status_code=form_status(errors),
    )


@router.get("/exams/{exam_id}/integration")
def exam_integration(
    exam_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return _integration_page(request, db, user, exam)


@router.post("/exams/{exam_id}/integration")
def save_exam_integration(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    meeting_id: Annotated[str, Form(max_length=200)] = "",
    callback_url: Annotated[str, Form(max_length=2000)] = "",
    return_url: Annotated[str, Form(max_length=2000)] = "",
    rotate_secret: Annotated[bool, Form()] = False,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    try:
        settings_in = IntegrationWrite.model_validate(
            {
                "meeting_id": meeting_id.strip() or None,
                "callback_url": callback_url.strip() or None,
                "return_url": return_url.strip() or None,
                "rotate_secret": rotate_secret,
            }
        )
        integration_flows.save(
            db=db,
            audit=audit,
            exam=exam,
            settings=settings_in,
            outbound_policy=context.settings.outbound_policy,
        )
    except ValidationError as error:
        return _integration_page(request, db, user, exam, errors=validation_messages(error))
    except OutboundRefused as refusal:
        return _integration_page(request, db, user, exam, errors=[refusal.message])
    except integrations.MeetingIdTaken as error:
        return _integration_page(request, db, user, exam, errors=[str(error)])
    return _integration_page(request, db, user, exam, notice="Saved")
