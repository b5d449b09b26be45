"""/api/v1/auth, /api/v1/users and /api/v1/audit"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from openproctor.deps import (
    AdminUser,
    Audit,
    Context,
    CurrentUser,
    DbSession,
    Hub,
    SignedInUser,
    client_ip,
)
from openproctor.domains.audit import service as audit_log
from openproctor.domains.audit.models import AuditRead
from openproctor.domains.audit.service import Auditor
from openproctor.domains.users import flows, service
from openproctor.domains.users.models import (
    PasswordChange,
    TemporaryPassword,
    User,
    UserCreate,
    UserRead,
    UserUpdate,
)
from openproctor.pagination import PageParams, send_page
from openproctor.security import DEVICE_COOKIE, SESSION_COOKIE, is_device_of, new_device_token
from openproctor.settings import Settings

router = APIRouter(tags=["staff"])
CREDENTIAL_CHANGE_API = "/api/v1/auth/password"


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=200)


class CsrfToken(BaseModel):
    csrf_token: str


def login_policy(settings: Settings) -> service.LoginPolicy:
    return service.LoginPolicy(
        max_failures=settings.login_max_failures,
        window=timedelta(seconds=settings.login_window_seconds),
    )


def sign_in(
    *, db: DbSession, settings: Settings, request: Request, email: str, password: str
) -> tuple[User, str]:
    """Checks credentials (with lock-out) and opens a session; commits the attempt either way.

    Raises 429 while locked out and 401 for wrong credentials.
    """
    try:
        user = service.authenticate(
            db=db,
            email=email,
            password=password,
            client_ip=client_ip(request),
            policy=login_policy(settings),
            known_device=is_device_of(
                settings.secret_key,
                service.normalize_email(email),
                request.cookies.get(DEVICE_COOKIE),
            ),
        )
    except service.LoginLocked as locked:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(locked),
            headers={"Retry-After": str(locked.retry_after_s)},
        ) from None
    if user is None:
        db.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    token = service.open_session(
        db=db,
        user=user,
        client_ip=client_ip(request),
        lifetime=timedelta(hours=settings.session_hours),
    )
    audit_log.record(
        db=db,
        actor=user,
        action="auth.login",
        target_type="user",
        target_id=user.id,
        client_ip=client_ip(request),
    )
    db.commit()
    return user, token


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def set_device_cookie(response: Response, user: User, settings: Settings) -> None:
    """Marks the browser as a known device of this account (see users.service.authenticate)."""
    response.set_cookie(
        DEVICE_COOKIE,
        new_device_token(settings.secret_key, user.email),
        max_age=settings.login_device_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


@router.get("/auth/csrf", response_model=CsrfToken)
def csrf(request: Request) -> CsrfToken:
    """The token to send back as X-CSRF-Token with cookie-authenticated changes."""
    return CsrfToken(csrf_token=request.state.csrf_token)


@router.post("/auth/login", response_model=UserRead)
def login(
    credentials: Credentials,
    request: Request,
    response: Response,
    db: DbSession,
    context: Context,
) -> UserRead:
    user, token = sign_in(
        db=db,
        settings=context.settings,
        request=request,
        email=credentials.email,
        password=credentials.password,
    )
    set_session_cookie(response, token, context.settings)
    set_device_cookie(response, user, context.settings)
    return UserRead.model_validate(user)


def sign_out(*, db: DbSession, hub: Hub, request: Request, response: Response) -> None:
    """Ends the server-side session behind the cookie, audited, clears the cookie, and closes
    the staff sockets opened with it."""
    token = request.cookies.get(SESSION_COOKIE)
    user = service.user_for_session(db=db, token=token) if token else None
    if token:
        service.close_session(db=db, token=token)
    if user is not None:
        audit_log.record(
            db=db,
            actor=user,
            action="auth.logout",
            target_type="user",
            target_id=user.id,
            client_ip=client_ip(request),
        )
    db.commit()
    if user is not None:
        flows.sign_ins_changed(hub, user.id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, db: DbSession, hub: Hub) -> None:
    sign_out(db=db, hub=hub, request=request, response=response)


@router.get("/auth/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


def change_own_password(
    *,
    db: DbSession,
    hub: Hub,
    settings: Settings,
    request: Request,
    user: User,
    change: PasswordChange,
) -> str:
    """The signed-in user's own change (also with a temporary password to replace); returns
    the new session token. Raises 400 naming the problem."""
    try:
        return flows.change_own_password(
            db=db,
            audit=Auditor(db=db, actor=user, client_ip=client_ip(request)),
            hub=hub,
            user=user,
            change=change,
            client_ip=client_ip(request),
            lifetime=timedelta(hours=settings.session_hours),
        )
    except (service.WrongPassword, service.SamePassword) as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    change: PasswordChange,
    request: Request,
    response: Response,
    db: DbSession,
    hub: Hub,
    context: Context,
    user: SignedInUser,
) -> None:
    """Changes your own password (the current one is required). Your other sign-ins end;
    this one gets a new session cookie."""
    token = change_own_password(
        db=db,
        hub=hub,
        settings=context.settings,
        request=request,
        user=user,
        change=change,
    )
    set_session_cookie(response, token, context.settings)


@router.get("/users", response_model=list[UserRead])
def list_users(
    db: DbSession, _: AdminUser, paging: PageParams, request: Request, response: Response
) -> list[UserRead]:
    """Staff accounts, in the order they were made."""
    page = service.page_all(db=db, page=paging)
    return send_page(request, response, page, [UserRead.model_validate(u) for u in page.items])


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(user_in: UserCreate, db: DbSession, _: AdminUser, audit: Audit) -> UserRead:
    try:
        user = flows.create(db=db, audit=audit, user_in=user_in)
    except service.EmailTaken as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return UserRead.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: uuid.UUID,
    change: UserUpdate,
    db: DbSession,
    admin: AdminUser,
    audit: Audit,
    hub: Hub,
) -> UserRead:
    """Changes a staff account's role, password or active flag (admins only)."""
    user = service.get(db=db, user_id=user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such staff account")
    if user.id == admin.id and (change.role not in (None, user.role) or change.is_active is False):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "you cannot change your own role or deactivate yourself"
        )
    flows.update(db=db, audit=audit, hub=hub, user=user, change=change)
    return UserRead.model_validate(user)


@router.post("/users/{user_id}/password-reset", response_model=TemporaryPassword)
def reset_password(
    user_id: uuid.UUID, db: DbSession, admin: AdminUser, audit: Audit, hub: Hub
) -> TemporaryPassword:
    """Gives a staff account a temporary password, answered once for you to hand over; it
    works for one sign-in, after which the user must choose their own. They are signed out
    everywhere. For your own account, change your password instead."""
    user = service.get(db=db, user_id=user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such staff account")
    if user.id == admin.id:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"change your own password with POST {CREDENTIAL_CHANGE_API}"
        )
    temporary = flows.reset_password(db=db, audit=audit, hub=hub, user=user)
    return TemporaryPassword(temporary_password=temporary)


@router.get("/audit", response_model=list[AuditRead])
def list_audit(
    db: DbSession,
    _: AdminUser,
    paging: PageParams,
    request: Request,
    response: Response,
    action: Annotated[
        str | None,
        Query(
            max_length=100,
            description='One action ("exam.update"), or a family ending in a dot ("exam.").',
        ),
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="At or after.")] = None,
) -> list[AuditRead]:
    """The audit log, newest first."""
    page = audit_log.page_entries(db=db, page=paging, action=action, since=since)
    return send_page(request, response, page, [AuditRead.model_validate(e) for e in page.items])
