"""Admin pages for LTI 1.3: the tool's URLs to give a platform, and platform registrations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from openproctor.deps import AdminUser, Audit, Context, DbSession
from openproctor.domains.exams import service as exams
from openproctor.domains.lti import flows as lti_flows
from openproctor.domains.lti import service as lti
from openproctor.domains.lti.models import LtiPlatform, PlatformWrite
from openproctor.outbound import OutboundRefused
from openproctor.web.admin.forms import see_other, validation_messages
from openproctor.web.templating import form_status, render

router = APIRouter(include_in_schema=False)


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
        return None, validation_messages(error)


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
        tool=lti.tool_configuration(context.settings),
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
        lti_flows.register(
            db=db,
            audit=audit,
            platform_in=platform_in,
            outbound_policy=context.settings.outbound_policy,
        )
    except lti.PlatformError as error:
        return _lti_page(request, db, user, context, values=values, errors=[str(error)])
    except OutboundRefused as refusal:
        return _lti_page(request, db, user, context, values=values, errors=[refusal.message])
    return see_other("/admin/lti")


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
        lti_flows.update(
            db=db,
            audit=audit,
            platform=platform,
            platform_in=platform_in,
            outbound_policy=context.settings.outbound_policy,
        )
    except lti.PlatformError as error:
        return _lti_platform_page(request, db, user, platform, values=values, errors=[str(error)])
    except OutboundRefused as refusal:
        return _lti_platform_page(
            request, db, user, platform, values=values, errors=[refusal.message]
        )
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
    lti_flows.delete(db=db, audit=audit, platform=platform)
    return see_other("/admin/lti")
