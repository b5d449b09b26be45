"""Request dependencies: the database session, the signed-in staff member, CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from openproctor.background import Sweeps
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.domains.audit.service import Auditor
from openproctor.domains.tokens import service as api_tokens
from openproctor.domains.tokens.models import ApiToken
from openproctor.domains.tokens.scopes import Scope, required_scope
from openproctor.domains.users import service as users
from openproctor.domains.users.models import Role, User
from openproctor.live.hub import LiveHub
from openproctor.outbound import OutboundRefused
from openproctor.pipeline.jobs import Analysis
from openproctor.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    expected_csrf_token,
    tokens_match,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]


def get_hub(context: Context) -> LiveHub:
    """The live hub, for the flows: routes and pages hand it on and never call it."""
    return context.hub


Hub = Annotated[LiveHub, Depends(get_hub)]


def get_sweeps(context: Context) -> Sweeps:
    """The background sweeps, for the flows that ask for one soon."""
    return context.sweeps


BackgroundSweeps = Annotated[Sweeps, Depends(get_sweeps)]


def get_analysis(context: Context) -> Analysis | None:
    """The model workers (local pool or Redis queue), or None where nothing is analysed."""
    return context.analysis


AnalysisDep = Annotated[Analysis | None, Depends(get_analysis)]


def get_db(context: Context) -> Iterator[Session]:
    """A session per request; handlers commit what they change, anything else rolls back."""
    with context.session_factory() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]


class LoginRequired(Exception):
    """Raised for anonymous requests; pages redirect to the login form, the API answers 401."""


class PasswordChangeRequired(Exception):
    """Raised for a staff member signed in with a temporary password (an admin's reset):
    pages redirect to the password form, the API answers 403, until they choose their own."""


def refused_url(error: OutboundRefused) -> HTTPException:
    """422 for a URL the server may not send requests to, shaped like a validation error."""
    detail = [{"type": "outbound_refused", "loc": ["body", error.field], "msg": error.message}]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="APIToken",
    description="An API token (`Authorization: Bearer opk_...`), made by an admin on "
    "/admin/tokens or with `openproctor token create`. It acts as an admin limited to its "
    "scopes: reading needs `<resource>:read`, changing `<resource>:write` (resources: exams, "
    "candidates, sessions, violations, recordings, reports, webhooks). A missing scope gets "
    "403 naming it; an unknown or revoked token 401.",
)
session_cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="StaffSession",
    description="The session cookie set by POST /api/v1/auth/login; state-changing requests "
    "also need the X-CSRF-Token header.",
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def checked_token(request: Request, db: Session, token: str, scope: Scope | None) -> ApiToken:
    """The active API token, if it has the scope; raises 401 or 403 naming the problem."""
    row = api_tokens.authenticate(db=db, token=token)
    if row is None:
        raise _unauthorized("this API token is not valid: it is unknown or was revoked")
    if scope is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "API tokens cannot be used for this request; sign in as a staff member",
        )
    if scope.value not in row.scopes:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this API token lacks the scope {scope.value}"
        )
    if api_tokens.mark_used(token=row, now=utcnow()):
        db.commit()
    request.state.api_token = row
    return row


def route_scope(request: Request) -> Scope | None:
    """The scope the matched route needs (from its tag and method; see tokens/scopes.py)."""
    route = request.scope.get("route")
    tags = [str(tag) for tag in getattr(route, "tags", None) or []]
    return required_scope(tags, request.method)


def optional_user(
    request: Request,
    db: DbSession,
    bearer: BearerCredentials,
    cookie: Annotated[str | None, Depends(session_cookie_scheme)],
) -> User | None:
    if bearer is not None:
        row = checked_token(request, db, bearer.credentials, route_scope(request))
        return api_tokens.acting_user(row)
    return users.user_for_session(db=db, token=cookie) if cookie else None


def signed_in_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The signed-in user, even one who still has to replace a temporary password."""
    if user is None:
        raise LoginRequired
    return user


SignedInUser = Annotated[User, Depends(signed_in_user)]


def current_user(user: SignedInUser) -> User:
    if user.must_change_password is True:  # None on an API token's unsaved acting user
        raise PasswordChangeRequired
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
    """The request must carry the browser's CSRF token (security.expected_csrf_token: bound
    to the staff session when signed in, else the op_csrf cookie) in a header or form field.

    API clients that authenticate with an Authorization header and send no session cookie
    cannot be forged by a browser on another site (it cannot add that header), so they pass,
    even when their HTTP library kept the op_csrf cookie; anything else is checked, the
    login form included.
    """
    if request.method in SAFE_METHODS:
        return
    if "authorization" in request.headers and SESSION_COOKIE not in request.cookies:
        return
    expected = expected_csrf_token(get_context(request).settings.secret_key, request.cookies)
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
