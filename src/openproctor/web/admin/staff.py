"""Admin pages for staff accounts and the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from openproctor.deps import AdminUser, Audit, DbSession, Hub
from openproctor.domains.audit import service as audit_service
from openproctor.domains.users import flows as user_flows
from openproctor.domains.users import service as users
from openproctor.domains.users.models import Role, User, UserCreate, UserUpdate
from openproctor.web.admin.forms import see_other, validation_messages
from openproctor.web.templating import form_status, render

router = APIRouter(include_in_schema=False)


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
    handed_over: tuple[User, str] | None = None,
) -> Response:
    return render(
        request,
        "admin/staff.html",
        user=user,
        staff=users.list_all(db=db),
        roles=list(Role),
        errors=errors or [],
        handed_over=handed_over,
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
        user_flows.create(db=db, audit=audit, user_in=user_in)
    except ValidationError as error:
        return _staff_page(request, db, user, errors=validation_messages(error), values=values)
    except users.EmailTaken as error:
        return _staff_page(request, db, user, errors=[str(error)], values=values)
    return see_other("/admin/staff")


def _other_member(
    request: Request, db: DbSession, admin: AdminUser, user_id: uuid.UUID
) -> User | Response:
    """The staff account to change, or the page showing why it cannot be (an admin's own
    account changes through "Your password", and keeps its role and access)."""
    target = users.get(db=db, user_id=user_id)
    if target is None:
        return _staff_page(request, db, admin, errors=["no such staff account"])
    if target.id == admin.id:
        return _staff_page(
            request,
            db,
            admin,
            errors=["you cannot change your own account here: use “Your password” at the top"],
        )
    return target


@router.post("/staff/{user_id}/deactivate")
def deactivate_staff(
    user_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit, hub: Hub
) -> Response:
    target = _other_member(request, db, user, user_id)
    if isinstance(target, Response):
        return target
    user_flows.deactivate(db=db, audit=audit, hub=hub, user=target)
    return see_other("/admin/staff")


@router.post("/staff/{user_id}/reactivate")
def reactivate_staff(
    user_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit, hub: Hub
) -> Response:
    target = _other_member(request, db, user, user_id)
    if isinstance(target, Response):
        return target
    user_flows.update(db=db, audit=audit, hub=hub, user=target, change=UserUpdate(is_active=True))
    return see_other("/admin/staff")


@router.post("/staff/{user_id}/role")
def change_role(
    user_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    hub: Hub,
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    target = _other_member(request, db, user, user_id)
    if isinstance(target, Response):
        return target
    try:
        change = UserUpdate.model_validate({"role": role})
    except ValidationError as error:
        return _staff_page(request, db, user, errors=validation_messages(error))
    user_flows.update(db=db, audit=audit, hub=hub, user=target, change=change)
    return see_other("/admin/staff")


@router.post("/staff/{user_id}/password-reset")
def reset_password(
    user_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit, hub: Hub
) -> Response:
    """Shows the temporary password once, in this answer only (never cached)."""
    target = _other_member(request, db, user, user_id)
    if isinstance(target, Response):
        return target
    temporary = user_flows.reset_password(db=db, audit=audit, hub=hub, user=target)
    response = _staff_page(request, db, user, handed_over=(target, temporary))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/audit")
def audit_log(request: Request, db: DbSession, user: AdminUser) -> Response:
    return render(request, "admin/audit.html", user=user, entries=audit_service.latest(db=db))
