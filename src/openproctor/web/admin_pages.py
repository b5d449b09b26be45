"""Admin pages: exams, the policy editor, rosters, invite links, assignment and staff."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from openproctor.access import visible_exam
from openproctor.db import utcnow
from openproctor.deps import AdminUser, Audit, Context, DbSession
from openproctor.domains.audit import service as audit_service
from openproctor.domains.candidates import service as candidates
from openproctor.domains.exams import service as exams
from openproctor.domains.exams.models import Exam, ExamWrite
from openproctor.domains.exams.policy import ExamPolicy, policy_field_docs
from openproctor.domains.integrations import service as integrations
from openproctor.domains.integrations.models import IntegrationWrite
from openproctor.domains.lti import routes as lti_routes
from openproctor.domains.lti import service as lti
from openproctor.domains.lti.models import LtiPlatform, PlatformWrite
from openproctor.domains.sessions import service as sessions
from openproctor.domains.tokens import service as api_tokens
from openproctor.domains.tokens.models import TokenCreate
from openproctor.domains.tokens.scopes import SCOPE_DESCRIPTIONS
from openproctor.domains.users import flows as user_flows
from openproctor.domains.users import service as users
from openproctor.domains.users.models import Role, UserCreate
from openproctor.domains.webhooks import service as webhooks
from openproctor.domains.webhooks.models import Webhook, WebhookCreate, WebhookEvent
from openproctor.outbound import OutboundRefused
from openproctor.web.templating import form_status, render

router = APIRouter(prefix="/admin", include_in_schema=False)

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
MAX_ROSTER_BYTES = 2 * 1024 * 1024


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER)


def _validation_messages(error: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in item['loc']) or 'exam'}: {item['msg']}"
        for item in error.errors()
    ]


@router.get("/exams")
def exam_list(request: Request, db: DbSession, user: AdminUser) -> Response:
    return render(
        request, "admin/exams.html", user=user, exams=exams.list_visible(db=db, user=user)
    )


def _form_values(exam: ExamWrite | None) -> dict[str, Any]:
    if exam is None:
        start = utcnow().replace(second=0, microsecond=0)
        return {
            "title": "",
            "instructions": "",
            "opens_at": start.strftime(LOCAL_INPUT_FORMAT),
            "closes_at": (start + timedelta(days=1)).strftime(LOCAL_INPUT_FORMAT),
            "duration_minutes": 60,
            "external_url": "",
            "questions": "[]",
            "policy": ExamPolicy().model_dump_json(indent=2),
        }
    return {
        "title": exam.title,
        "instructions": exam.instructions,
        "opens_at": exam.opens_at.astimezone(UTC).strftime(LOCAL_INPUT_FORMAT),
        "closes_at": exam.closes_at.astimezone(UTC).strftime(LOCAL_INPUT_FORMAT),
        "duration_minutes": exam.duration_minutes,
        "external_url": str(exam.external_url or ""),
        "questions": json.dumps([question.model_dump() for question in exam.questions], indent=2),
        "policy": exam.policy.model_dump_json(indent=2),
    }


def _exam_form(
    request: Request,
    user: AdminUser,
    *,
    values: dict[str, Any],
    exam: Exam | None,
    errors: list[str] | None = None,
) -> Response:
    return render(
        request,
        "admin/exam_form.html",
        user=user,
        exam=exam,
        values=values,
        errors=errors or [],
        policy_docs=policy_field_docs(),
        status_code=form_status(errors),
    )


def _parse_exam_form(values: dict[str, Any]) -> tuple[ExamWrite | None, list[str]]:
    """The form as an exam document; datetime inputs are read as UTC."""
    document: dict[str, Any] = {
        "title": values["title"],
        "instructions": values["instructions"],
        "duration_minutes": values["duration_minutes"],
        "external_url": values["external_url"] or None,
    }
    errors = []
    for name in ("opens_at", "closes_at"):
        try:
            document[name] = datetime.strptime(values[name], LOCAL_INPUT_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            errors.append(f"{name}: give a date and time")
    for name in ("questions", "policy"):
        try:
            document[name] = json.loads(values[name] or ("[]" if name == "questions" else "{}"))
        except json.JSONDecodeError as error:
            errors.append(f"{name}: not valid JSON ({error.msg} at line {error.lineno})")
    if errors:
        return None, errors
    try:
        return ExamWrite.model_validate(document), []
    except ValidationError as error:
        return None, _validation_messages(error)


ExamFormField = Annotated[str, Form(max_length=200_000)]


def exam_form_values(
    title: ExamFormField,
    opens_at: ExamFormField,
    closes_at: ExamFormField,
    duration_minutes: ExamFormField,
    instructions: ExamFormField = "",
    external_url: ExamFormField = "",
    questions: ExamFormField = "",
    policy: ExamFormField = "",
) -> dict[str, Any]:
    return {
        "title": title,
        "instructions": instructions,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "duration_minutes": duration_minutes,
        "external_url": external_url,
        "questions": questions,
        "policy": policy,
    }


ExamFormValues = Annotated[dict[str, Any], Depends(exam_form_values)]


@router.get("/exams/new")
def new_exam(request: Request, user: AdminUser) -> Response:
    return _exam_form(request, user, values=_form_values(None), exam=None)


@router.post("/exams/new")
def create_exam(
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    values: ExamFormValues,
) -> Response:
    exam_in, errors = _parse_exam_form(values)
    if exam_in is None:
        return _exam_form(request, user, values=values, exam=None, errors=errors)
    exam = exams.create(db=db, exam_in=exam_in, creator=user)
    audit("exam.create", "exam", exam.id, title=exam.title)
    db.commit()
    return _see_other(f"/admin/exams/{exam.id}")


@router.get("/exams/{exam_id}/edit")
def edit_exam(exam_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return _exam_form(request, user, values=_form_values(exams.to_write(exam)), exam=exam)


@router.post("/exams/{exam_id}/edit")
def update_exam(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    values: ExamFormValues,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    exam_in, errors = _parse_exam_form(values)
    if exam_in is None:
        return _exam_form(request, user, values=values, exam=exam, errors=errors)
    exams.update(db=db, exam=exam, exam_in=exam_in)
    audit("exam.update", "exam", exam.id, title=exam.title)
    db.commit()
    return _see_other(f"/admin/exams/{exam.id}")


def _exam_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    context: Context,
    exam: Exam,
    *,
    roster_errors: list[candidates.RosterError] | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    roster = candidates.list_for_exam(db=db, exam_id=exam.id)
    latest = {s.candidate_id: s for s in sessions.list_for_exam(db=db, exam_id=exam.id)}
    proctors = users.list_proctors(db=db)
    has_errors = bool(roster_errors or error)
    return render(
        request,
        "admin/exam_detail.html",
        user=user,
        exam=exam,
        candidates=roster,
        sessions=latest,
        proctors=proctors,
        proctor_names={p.id: p.name for p in proctors},
        invite_urls={
            c.id: candidates.invite_url(public_url=context.settings.public_url, candidate=c)
            for c in roster
        },
        roster_errors=roster_errors or [],
        notice=notice,
        error=error,
        default_max=candidates.DEFAULT_MAX_PER_PROCTOR,
        status_code=form_status(has_errors),
    )


@router.get("/exams/{exam_id}")
def exam_detail(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    context: Context,
    notice: str | None = None,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return _exam_page(request, db, user, context, exam, notice=notice)


@router.post("/exams/{exam_id}/roster")
async def import_roster(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    roster: UploadFile,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    data = await roster.read(MAX_ROSTER_BYTES + 1)
    problem = None
    if len(data) > MAX_ROSTER_BYTES:
        problem = f"the roster file is larger than {MAX_ROSTER_BYTES // 1024} KiB"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problem = "the roster file is not UTF-8 text; save it as CSV UTF-8"
    if problem:
        return _exam_page(request, db, user, context, exam, error=problem)
    result = candidates.import_roster(db=db, exam=exam, text=text)
    if result.errors:
        db.rollback()
        return _exam_page(request, db, user, context, exam, roster_errors=result.errors)
    audit("candidate.import", "exam", exam.id, created=len(result.created))
    db.commit()
    return _see_other(f"/admin/exams/{exam.id}?notice=Imported+{len(result.created)}+candidates")


@router.post("/exams/{exam_id}/assign")
def assign_candidate(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    candidate_id: Annotated[uuid.UUID, Form()],
    proctor_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    candidate = candidates.get(db=db, candidate_id=candidate_id)
    if candidate is None or candidate.exam_id != exam.id:
        return _exam_page(request, db, user, context, exam, error="no such candidate in this exam")
    before = candidate.proctor_id
    try:
        target = uuid.UUID(proctor_id) if proctor_id else None
        candidates.assign(db=db, candidate=candidate, proctor_id=target)
    except (ValueError, candidates.CandidateError) as error:
        return _exam_page(request, db, user, context, exam, error=str(error))
    audit("candidate.assign", "candidate", candidate.id, proctor_id=proctor_id or None)
    db.commit()
    context.hub.candidate_assigned(candidate.id, before, target)
    return _see_other(f"/admin/exams/{exam.id}?notice=Assignment+saved")


@router.post("/exams/{exam_id}/auto-assign")
def auto_assign(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    max_per_proctor: Annotated[int, Form(ge=1, le=1000)] = candidates.DEFAULT_MAX_PER_PROCTOR,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    try:
        assigned = candidates.auto_balance(db=db, exam=exam, max_per_proctor=max_per_proctor)
    except candidates.CandidateError as error:
        return _exam_page(request, db, user, context, exam, error=str(error))
    audit("candidate.auto_assign", "exam", exam.id, assigned=len(assigned))
    db.commit()
    for candidate in assigned:
        context.hub.candidate_assigned(candidate.id, None, candidate.proctor_id)
    return _see_other(f"/admin/exams/{exam.id}?notice=Assigned+{len(assigned)}+candidates")


@router.get("/staff")
def staff(request: Request, db: DbSession, user: AdminUser) -> Response:
    return _staff_page(request, db, user)


def _staff_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    *,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "admin/staff.html",
        user=user,
        staff=users.list_all(db=db),
        roles=list(Role),
        errors=errors or [],
        values=values or {"name": "", "email": "", "role": Role.PROCTOR.value},
        status_code=form_status(errors),
    )


@router.post("/staff")
def create_staff(
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    name: Annotated[str, Form(max_length=200)],
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    values = {"name": name, "email": email, "role": role}
    try:
        user_in = UserCreate.model_validate({**values, "password": password})
        created = users.create(db=db, user_in=user_in)
    except ValidationError as error:
        return _staff_page(request, db, user, errors=_validation_messages(error), values=values)
    except users.EmailTaken as error:
        return _staff_page(request, db, user, errors=[str(error)], values=values)
    audit("user.create", "user", created.id, email=created.email, role=created.role.value)
    db.commit()
    return _see_other("/admin/staff")


@router.post("/staff/{user_id}/deactivate")
def deactivate_staff(
    user_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> Response:
    target = users.get(db=db, user_id=user_id)
    if target is None:
        return _staff_page(request, db, user, errors=["no such staff account"])
    if target.id == user.id:
        return _staff_page(request, db, user, errors=["you cannot deactivate yourself"])
    users.deactivate(db=db, user=target)
    audit("user.deactivate", "user", target.id, email=target.email)
    db.commit()
    user_flows.sign_ins_changed(context.hub.bus, target.id)
    return _see_other("/admin/staff")


@router.get("/audit")
def audit_log(request: Request, db: DbSession, user: AdminUser) -> Response:
    return render(request, "admin/audit.html", user=user, entries=audit_service.latest(db=db))


# --- integrations: API tokens -------------------------------------------------------------


def _tokens_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    *,
    created: str | None = None,
    errors: list[str] | None = None,
) -> Response:
    return render(
        request,
        "admin/tokens.html",
        user=user,
        tokens=api_tokens.list_all(db=db),
        scopes=SCOPE_DESCRIPTIONS,
        created=created,
        errors=errors or [],
        status_code=form_status(errors),
    )


@router.get("/tokens")
def token_list(request: Request, db: DbSession, user: AdminUser) -> Response:
    return _tokens_page(request, db, user)


@router.post("/tokens")
async def create_token(
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    name: Annotated[str, Form(max_length=100)],
) -> Response:
    form = await request.form()
    chosen = [value for value in form.getlist("scopes") if isinstance(value, str)]
    try:
        token_in = TokenCreate.model_validate({"name": name, "scopes": chosen})
    except ValidationError as error:
        return _tokens_page(request, db, user, errors=_validation_messages(error))
    row, token = api_tokens.create(db=db, token_in=token_in, creator=user)
    audit("token.create", "api_token", row.id, name=row.name, scopes=row.scopes)
    db.commit()
    return _tokens_page(request, db, user, created=token)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    token_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit
) -> Response:
    row = api_tokens.get(db=db, token_id=token_id)
    if row is None:
        return _tokens_page(request, db, user, errors=["no such API token"])
    api_tokens.revoke(token=row)
    audit("token.revoke", "api_token", row.id, name=row.name)
    db.commit()
    return _see_other("/admin/tokens")


# --- integrations: webhooks -----------------------------------------------------------------


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
        return _webhooks_page(request, db, user, errors=_validation_messages(error))
    try:
        # Off the event loop: the URL's host name is resolved.
        webhook = await run_in_threadpool(
            webhooks.create,
            db=db,
            webhook_in=webhook_in,
            creator_id=user.id,
            outbound_policy=context.settings.outbound_policy,
        )
    except OutboundRefused as refusal:
        return _webhooks_page(request, db, user, errors=[refusal.message])
    audit("webhook.create", "webhook", webhook.id, url=webhook.url, events=webhook.events)
    db.commit()
    return _webhooks_page(request, db, user, created=webhook)


@router.post("/webhooks/{webhook_id}/delete")
def delete_webhook(
    webhook_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit
) -> Response:
    webhook = webhooks.get(db=db, webhook_id=webhook_id)
    if webhook is None:
        return _webhooks_page(request, db, user, errors=["no such webhook"])
    audit("webhook.delete", "webhook", webhook.id, url=webhook.url)
    webhooks.delete(db=db, webhook=webhook)
    db.commit()
    return _see_other("/admin/webhooks")


@router.get("/webhooks/{webhook_id}")
def webhook_detail(
    webhook_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser
) -> Response:
    webhook = webhooks.get(db=db, webhook_id=webhook_id)
    if webhook is None:
        return _webhooks_page(request, db, user, errors=["no such webhook"])
    return render(
        request,
        "admin/webhook_detail.html",
        user=user,
        webhook=webhook,
        deliveries=webhooks.deliveries(db=db, webhook_id=webhook.id),
    )


@router.post("/webhooks/deliveries/{delivery_id}/redeliver")
def redeliver_webhook(
    delivery_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit
) -> Response:
    delivery = webhooks.get_delivery(db=db, delivery_id=delivery_id)
    if delivery is None:
        return _webhooks_page(request, db, user, errors=["no such delivery"])
    webhooks.redeliver(delivery=delivery)
    audit("webhook.redeliver", "webhook_delivery", delivery.id, event_type=delivery.event_type)
    db.commit()
    if delivery.webhook_id is None:
        return _see_other(f"/admin/exams/{delivery.exam_id}/integration")
    return _see_other(f"/admin/webhooks/{delivery.webhook_id}")


# --- integrations: an exam's meeting id, completion callback and return URL -----------------


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
        row = integrations.write(
            db=db, exam=exam, settings=settings_in, outbound_policy=context.settings.outbound_policy
        )
    except ValidationError as error:
        return _integration_page(request, db, user, exam, errors=_validation_messages(error))
    except OutboundRefused as refusal:
        return _integration_page(request, db, user, exam, errors=[refusal.message])
    except integrations.MeetingIdTaken as error:
        return _integration_page(request, db, user, exam, errors=[str(error)])
    audit(
        "exam.integration",
        "exam",
        exam.id,
        meeting_id=row.meeting_id,
        callback_url=row.callback_url,
        return_url=row.return_url,
    )
    db.commit()
    return _integration_page(request, db, user, exam, notice="Saved")


# --- integrations: LTI 1.3 platforms --------------------------------------------------------

LTI_FORM_FIELDS = (
    "name",
    "issuer",
    "client_id",
    "auth_login_url",
    "auth_token_url",
    "key_set_url",
    "public_key",
    "deployment_ids",
    "default_exam_id",
)
LtiFormField = Annotated[str, Form(max_length=20_000)]


def lti_form_values(
    name: LtiFormField = "",
    issuer: LtiFormField = "",
    client_id: LtiFormField = "",
    auth_login_url: LtiFormField = "",
    auth_token_url: LtiFormField = "",
    key_set_url: LtiFormField = "",
    public_key: LtiFormField = "",
    deployment_ids: LtiFormField = "",
    default_exam_id: LtiFormField = "",
) -> dict[str, str]:
    return {
        "name": name,
        "issuer": issuer,
        "client_id": client_id,
        "auth_login_url": auth_login_url,
        "auth_token_url": auth_token_url,
        "key_set_url": key_set_url,
        "public_key": public_key,
        "deployment_ids": deployment_ids,
        "default_exam_id": default_exam_id,
    }


LtiFormValues = Annotated[dict[str, str], Depends(lti_form_values)]


def _lti_platform_values(platform: LtiPlatform | None) -> dict[str, str]:
    if platform is None:
        return dict.fromkeys(LTI_FORM_FIELDS, "")
    return {
        "name": platform.name,
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "auth_login_url": platform.auth_login_url,
        "auth_token_url": platform.auth_token_url or "",
        "key_set_url": platform.key_set_url or "",
        "public_key": platform.public_key or "",
        "deployment_ids": "\n".join(platform.deployment_ids),
        "default_exam_id": str(platform.default_exam_id or ""),
    }


def _parse_lti_form(values: dict[str, str]) -> tuple[PlatformWrite | None, list[str]]:
    """The form as a registration; deployment ids one per line (or comma-separated)."""
    document = {
        "name": values["name"],
        "issuer": values["issuer"],
        "client_id": values["client_id"],
        "auth_login_url": values["auth_login_url"].strip(),
        "auth_token_url": values["auth_token_url"].strip() or None,
        "key_set_url": values["key_set_url"].strip() or None,
        "public_key": values["public_key"].strip() or None,
        "deployment_ids": values["deployment_ids"].replace(",", "\n").splitlines(),
        "default_exam_id": values["default_exam_id"].strip() or None,
    }
    try:
        return PlatformWrite.model_validate(document), []
    except ValidationError as error:
        return None, _validation_messages(error)


def _lti_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    context: Context,
    *,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    notice: str | None = None,
) -> Response:
    exam_list = exams.list_visible(db=db, user=user)
    return render(
        request,
        "admin/lti.html",
        user=user,
        platforms=lti.list_all(db=db),
        tool=lti_routes.tool_configuration(context.settings),
        exams=exam_list,
        exam_titles={exam.id: exam.title for exam in exam_list},
        values=values or _lti_platform_values(None),
        errors=errors or [],
        notice=notice,
        status_code=form_status(errors),
    )


def _lti_platform_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    platform: LtiPlatform,
    *,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    notice: str | None = None,
) -> Response:
    return render(
        request,
        "admin/lti_platform.html",
        user=user,
        platform=platform,
        exams=exams.list_visible(db=db, user=user),
        values=values or _lti_platform_values(platform),
        errors=errors or [],
        notice=notice,
        status_code=form_status(errors),
    )


@router.get("/lti")
def lti_platforms(request: Request, db: DbSession, user: AdminUser, context: Context) -> Response:
    return _lti_page(request, db, user, context)


@router.post("/lti")
def register_lti_platform(
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    values: LtiFormValues,
) -> Response:
    platform_in, errors = _parse_lti_form(values)
    if platform_in is None:
        return _lti_page(request, db, user, context, values=values, errors=errors)
    try:
        platform = lti.create(
            db=db, platform_in=platform_in, outbound_policy=context.settings.outbound_policy
        )
    except lti.PlatformError as error:
        db.rollback()
        return _lti_page(request, db, user, context, values=values, errors=[str(error)])
    except OutboundRefused as refusal:
        return _lti_page(request, db, user, context, values=values, errors=[refusal.message])
    lti_routes.audit_platform(audit, "lti.platform.create", platform)
    db.commit()
    return _see_other("/admin/lti")


@router.get("/lti/{platform_id}")
def lti_platform(
    platform_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, context: Context
) -> Response:
    platform = lti.get(db=db, platform_id=platform_id)
    if platform is None:
        return _lti_page(request, db, user, context, errors=["no such LTI platform"])
    return _lti_platform_page(request, db, user, platform)


@router.post("/lti/{platform_id}")
def save_lti_platform(
    platform_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    values: LtiFormValues,
) -> Response:
    platform = lti.get(db=db, platform_id=platform_id)
    if platform is None:
        return _lti_page(request, db, user, context, errors=["no such LTI platform"])
    platform_in, errors = _parse_lti_form(values)
    if platform_in is None:
        return _lti_platform_page(request, db, user, platform, values=values, errors=errors)
    try:
        lti.update(
            db=db,
            platform=platform,
            platform_in=platform_in,
            outbound_policy=context.settings.outbound_policy,
        )
    except lti.PlatformError as error:
        db.rollback()
        return _lti_platform_page(request, db, user, platform, values=values, errors=[str(error)])
    except OutboundRefused as refusal:
        return _lti_platform_page(
            request, db, user, platform, values=values, errors=[refusal.message]
        )
    lti_routes.audit_platform(audit, "lti.platform.update", platform)
    db.commit()
    return _lti_platform_page(request, db, user, platform, notice="Saved")


@router.post("/lti/{platform_id}/delete")
def delete_lti_platform(
    platform_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> Response:
    platform = lti.get(db=db, platform_id=platform_id)
    if platform is None:
        return _lti_page(request, db, user, context, errors=["no such LTI platform"])
    lti_routes.audit_platform(audit, "lti.platform.delete", platform)
    lti.delete_platform(db=db, platform=platform)
    db.commit()
    return _see_other("/admin/lti")
