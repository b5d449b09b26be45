"""The instructor's page for a deep linking request (LTI-DL 2.0): link one of their exams, or
create one (title, window in the exam's time zone, duration, policy preset), or cancel. The
launch (web/lti_pages.py) shows it; its forms post here, behind the CSRF check, and the
answer is a page whose form carries the signed response back to the platform."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openproctor.db import utcnow
from openproctor.deps import Audit, Context, DbSession, ProctorUser
from openproctor.domains.exams import flows as exam_flows
from openproctor.domains.exams.models import Exam, ExamWrite
from openproctor.domains.exams.presets import PRESETS, PRESETS_BY_NAME
from openproctor.domains.exams.zones import zone_names
from openproctor.domains.lti import flows, links, service
from openproctor.domains.lti.deep_linking import PendingDeepLink, return_origin
from openproctor.domains.lti.launch import LaunchError
from openproctor.domains.lti.models import LtiPlatform
from openproctor.domains.users.models import User
from openproctor.middleware import page_policy
from openproctor.web.admin import exam_form
from openproctor.web.templating import form_status, render

router = APIRouter(prefix="/lti/deep-links", include_in_schema=False)

NEW_EXAM_FIELDS = ("title", "opens_at", "closes_at", "duration_minutes", "timezone")


def new_exam_values() -> dict[str, str]:
    """The create form's fields for a new exam (open from now for a day, in UTC)."""
    defaults = exam_form.form_values(None)
    return {name: defaults[name] for name in NEW_EXAM_FIELDS} | {
        "external_url": "",
        "preset": PRESETS[0].name,
    }


def picker(
    request: Request,
    *,
    db: DbSession,
    user: User,
    platform: LtiPlatform,
    sealed: str,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    csrf_token: str | None = None,
) -> Response:
    """The page; `csrf_token` for the session the launch opens in this same response."""
    extra = {"csrf_token": csrf_token} if csrf_token else {}
    return render(
        request,
        "lti/deep_link.html",
        user=user,
        platform=platform,
        request_token=sealed,
        exams=links.exams_to_pick(db=db, platform=platform, user=user),
        values=values or new_exam_values(),
        errors=errors or [],
        presets=PRESETS,
        zones=zone_names(),
        status_code=form_status(errors),
        **extra,
    )


def _new_exam(values: dict[str, str]) -> tuple[ExamWrite | None, list[str]]:
    """The create form as an exam with its preset's policy, or the problems in plain words."""
    preset = PRESETS_BY_NAME.get(values.get("preset", ""))
    if preset is None:
        return None, ["Policy: choose one of the presets"]
    if not values.get("external_url", "").strip():
        return None, ["Quiz address: give the address of the quiz candidates answer"]
    exam_in, errors = exam_form.parse(
        {name: values.get(name, "") for name in NEW_EXAM_FIELDS}
        | {"external_url": values["external_url"].strip(), "questions": "[]"}
    )
    if exam_in is None:
        return None, errors
    return exam_in.model_copy(update={"policy": preset.policy()}), []


def _return_page(
    request: Request, *, user: User, pending: PendingDeepLink, token: str, exam: Exam | None
) -> Response:
    """The form that carries the response to the platform; this page's policy lets a form
    go to the platform's return address and nowhere else."""
    origin = return_origin(pending.return_url)  # checked at the launch
    response = render(
        request,
        "lti/deep_link_return.html",
        user=user,
        return_url=pending.return_url,
        response_jwt=token,
        exam=exam,
    )
    response.headers["Content-Security-Policy"] = page_policy().replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    return response


def _error(request: Request, error: LaunchError) -> Response:
    return render(request, "lti/error.html", status_code=error.status_code, message=str(error))


def _pending(
    db: DbSession, user: User, sealed: str, secret_key: str
) -> tuple[PendingDeepLink, LtiPlatform]:
    pending = PendingDeepLink.unseal(sealed, secret_key=secret_key, now=utcnow())
    if pending.user_id != user.id:
        raise LaunchError(
            "this page was opened for another account: add the activity again from your course",
            403,
        )
    platform = service.get(db=db, platform_id=pending.platform_id)
    if platform is None:
        raise LaunchError("the platform of this course is no longer registered", 403)
    return pending, platform


@router.post("")
async def choose(
    request: Request, db: DbSession, user: ProctorUser, audit: Audit, context: Context
) -> Response:
    """One of the page's three buttons: add an existing exam, create and add, or cancel."""
    values = exam_form.read_form(await request.form())
    sealed = values.get("request", "")
    try:
        pending, platform = _pending(db, user, sealed, context.settings.secret_key)
    except LaunchError as error:
        return _error(request, error)
    action = values.get("action", "")
    exam: Exam | None = None
    if action == "pick":
        mine = links.exams_to_pick(db=db, platform=platform, user=user)
        allowed = {exam.id: exam for exam in mine}
        try:
            exam = allowed.get(uuid.UUID(values.get("exam_id", "")))
        except ValueError:
            exam = None
        if exam is None:
            return picker(
                request,
                db=db,
                user=user,
                platform=platform,
                sealed=sealed,
                errors=["Choose one of your exams from the list"],
            )
    elif action == "create":
        exam_in, errors = _new_exam(values)
        if exam_in is None:
            defaults = new_exam_values()
            form = defaults | {name: value for name, value in values.items() if name in defaults}
            return picker(
                request,
                db=db,
                user=user,
                platform=platform,
                sealed=sealed,
                values=form,
                errors=errors,
            )
        exam = exam_flows.create(db=db, audit=audit, exam_in=exam_in, creator=user)
    elif action != "cancel":
        return _error(request, LaunchError("choose an exam, create one, or cancel"))
    token = flows.answer_deep_link(
        db=db,
        audit=audit,
        platform=platform,
        pending=pending,
        instructor=user,
        exam=exam,
        launch_url=service.tool_configuration(context.settings).launch_url,
        now=utcnow(),
    )
    return _return_page(request, user=user, pending=pending, token=token, exam=exam)
