"""Sign-in and sign-out pages, and the landing redirect by role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from openproctor.deps import Context, DbSession, Hub, OptionalUser
from openproctor.domains.users.models import Role
from openproctor.domains.users.routes import (
    set_device_cookie,
    set_session_cookie,
    sign_in,
    sign_out,
)
from openproctor.web.templating import render

router = APIRouter(include_in_schema=False)

HOME_BY_ROLE = {Role.ADMIN: "/admin/exams", Role.PROCTOR: "/proctor", Role.REVIEWER: "/review"}


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths, so the login form cannot be turned into an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@router.get("/")
def home(user: OptionalUser) -> Response:
    target = HOME_BY_ROLE[user.role] if user else "/login"
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next) or "", email="", error=None)


@router.post("/login")
def login(
    request: Request,
    db: DbSession,
    context: Context,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        user, token = sign_in(
            db=db, settings=context.settings, request=request, email=email, password=password
        )
    except HTTPException as error:
        return render(
            request,
            "login.html",
            status_code=error.status_code,
            next=_safe_next(next) or "",
            email=email,
            error=error.detail,
        )
    response = RedirectResponse(
        _safe_next(next) or HOME_BY_ROLE[user.role], status.HTTP_303_SEE_OTHER
    )
    set_session_cookie(response, token, context.settings)
    set_device_cookie(response, user, context.settings)
    return response


@router.post("/logout")
def logout(request: Request, db: DbSession, hub: Hub) -> Response:
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    sign_out(db=db, hub=hub, request=request, response=response)
    return response
