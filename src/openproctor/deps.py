"""Request dependencies: the database session, the signed-in staff member, CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from openproctor.context import AppContext
from openproctor.domains.audit.service import Auditor
from openproctor.domains.users import service as users
from openproctor.domains.users.models import Role, User
from openproctor.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    tokens_match,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]


def get_db(context: Context) -> Iterator[Session]:
    """A session per request; handlers commit what they change, anything else rolls back."""
    with context.session_factory() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]


class LoginRequired(Exception):
    """Raised for anonymous requests; pages redirect to the login form, the API answers 401."""


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def optional_user(request: Request, db: DbSession) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    return users.user_for_session(db=db, token=token) if token else None


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise LoginRequired
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: Role) -> object:
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = " or ".join(sorted(role.value for role in allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {names} role")
        return user

    return Depends(check)


AdminUser = Annotated[User, require_role(Role.ADMIN)]
StaffUser = Annotated[User, require_role(Role.ADMIN, Role.PROCTOR, Role.REVIEWER)]
ProctorUser = Annotated[User, require_role(Role.ADMIN, Role.PROCTOR)]
ReviewerUser = Annotated[User, require_role(Role.ADMIN, Role.REVIEWER)]


async def csrf_protect(request: Request) -> None:
    """Double-submit check: the op_csrf cookie must come back in a header or form field.

    API clients that authenticate with an Authorization header and send no cookies cannot
    be forged by a browser on another site, so they pass; anything else is checked, the
    login form included.
    """
    if request.method in SAFE_METHODS:
        return
    if "authorization" in request.headers and not request.cookies:
        return
    expected = request.cookies.get(CSRF_COOKIE)
    provided = request.headers.get(CSRF_HEADER)
    if provided is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form_value = (await request.form()).get(CSRF_FIELD)
        provided = form_value if isinstance(form_value, str) else None
    if not tokens_match(expected, provided):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "CSRF check failed: reload the page and try again",
        )


def get_auditor(request: Request, db: DbSession, user: CurrentUser) -> Auditor:
    return Auditor(db=db, actor=user, client_ip=client_ip(request))


Audit = Annotated[Auditor, Depends(get_auditor)]


OptionalUser = Annotated[User | None, Depends(optional_user)]
