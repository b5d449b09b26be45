"""The LTI tool's endpoints, /lti/login, /lti/launch and /lti/jwks, that the platform and the
browser call during a launch; a platform posts them from another site, so they sit outside
the CSRF check and are protected by the OIDC state, its cookie and the nonce. Failures are
shown as a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.deps import Context, DbSession, client_ip
from openproctor.domains.audit import service as audit_log
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.lti import service
from openproctor.domains.lti.deep_linking import (
    PENDING_LIFETIME,
    PendingDeepLink,
    return_origin,
)
from openproctor.domains.lti.keys import platform_key, tool_jwks
from openproctor.domains.lti.launch import (
    DEEP_LINKING_REQUEST,
    END_ASSESSMENT,
    START_PROCTORING,
    Launch,
    LaunchError,
    LtiRole,
    authentication_url,
    validate_id_token,
)
from openproctor.domains.lti.links import ExamRefused
from openproctor.domains.lti.models import LtiPlatform
from openproctor.domains.users import service as users
from openproctor.domains.users.routes import set_session_cookie
from openproctor.outbound import OutboundPolicy
from openproctor.security import session_csrf_token, token_digest
from openproctor.settings import Settings
from openproctor.web import lti_deep_link_pages
from openproctor.web import lti_proctoring_pages as proctoring_pages
from openproctor.web.templating import render

router = APIRouter(prefix="/lti", include_in_schema=False)

router.include_router(proctoring_pages.router)

STATE_COOKIE_PREFIX = "op_lti_"
STATE_COOKIE_PATH = "/lti/"


@dataclass(frozen=True)
class LoginInitiation:
    """A third-party initiated login (LTI 1.3 core 5.1.1.1), by query string or form."""

    iss: str
    login_hint: str
    target_link_uri: str
    lti_message_hint: str
    client_id: str
    lti_deployment_id: str


def _state_cookie(state: str) -> str:
    """One cookie per pending login, so that launches in several tabs do not collide."""
    return STATE_COOKIE_PREFIX + token_digest(state)[:16]


def _lti_error(request: Request, error: LaunchError) -> Response:
    return render(request, "lti/error.html", status_code=error.status_code, message=str(error))


def _initiate_login(
    request: Request, db: DbSession, settings: Settings, login: LoginInitiation
) -> Response:
    try:
        for name in ("iss", "login_hint", "target_link_uri"):
            if not getattr(login, name):
                raise LaunchError(f"the login initiation has no {name}")
        platform = service.platform_for_login(
            db=db, issuer=login.iss, client_id=login.client_id or None
        )
        if login.lti_deployment_id and login.lti_deployment_id not in platform.deployment_ids:
            raise LaunchError(
                f"the deployment {login.lti_deployment_id!r} is not registered for the "
                f"platform {platform.name!r}; an admin adds it on /admin/lti",
                status_code=403,
            )
        tool = service.tool_configuration(settings)
        origin = settings.public_url.rstrip("/") + "/"
        if not login.target_link_uri.startswith(origin):
            raise LaunchError(
                f"the target link {login.target_link_uri!r} is not on this server "
                f"({origin}); set the tool's URL to {tool.launch_url}"
            )
    except LaunchError as error:
        return _lti_error(request, error)
    state, nonce = service.start_login(db=db, platform=platform, now=utcnow())
    db.commit()
    url = authentication_url(
        platform=platform,
        redirect_uri=tool.launch_url,
        login_hint=login.login_hint,
        lti_message_hint=login.lti_message_hint or None,
        state=state,
        nonce=nonce,
    )
    response = RedirectResponse(url, status.HTTP_302_FOUND)
    # The launch comes back as a cross-site form POST: over https the cookie must be
    # SameSite=None (and so Secure) to come with it; plain http only works same-site.
    response.set_cookie(
        _state_cookie(state),
        state,
        max_age=int(service.LOGIN_LIFETIME.total_seconds()),
        path=STATE_COOKIE_PATH,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="none" if settings.secure_cookies else "lax",
    )
    return response


LoginQuery = Annotated[str, Query(max_length=2000)]
LoginForm = Annotated[str, Form(max_length=2000)]


@router.get("/login")
def login_by_get(
    request: Request,
    db: DbSession,
    context: Context,
    iss: LoginQuery = "",
    login_hint: LoginQuery = "",
    target_link_uri: LoginQuery = "",
    lti_message_hint: LoginQuery = "",
    client_id: LoginQuery = "",
    lti_deployment_id: LoginQuery = "",
) -> Response:
    login = LoginInitiation(
        iss, login_hint, target_link_uri, lti_message_hint, client_id, lti_deployment_id
    )
    return _initiate_login(request, db, context.settings, login)


@router.post("/login")
def login_by_post(
    request: Request,
    db: DbSession,
    context: Context,
    iss: LoginForm = "",
    login_hint: LoginForm = "",
    target_link_uri: LoginForm = "",
    lti_message_hint: LoginForm = "",
    client_id: LoginForm = "",
    lti_deployment_id: LoginForm = "",
) -> Response:
    login = LoginInitiation(
        iss, login_hint, target_link_uri, lti_message_hint, client_id, lti_deployment_id
    )
    return _initiate_login(request, db, context.settings, login)


@router.post("/launch")
def launch(
    request: Request,
    db: DbSession,
    context: Context,
    id_token: Annotated[str, Form(max_length=100_000)] = "",
    state: Annotated[str, Form(max_length=200)] = "",
    error: Annotated[str, Form(max_length=200)] = "",
    error_description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The platform's authentication response: validates it, then signs an instructor in as
    a proctor (to the exam's wall) or sends a learner to their exam (/take/{invite})."""
    settings = context.settings
    response: Response
    try:
        if error:
            raise LaunchError(f"the platform refused the login: {error} {error_description}")
        platform, claims = _validated(
            request, db, id_token=id_token, state=state, outbound_policy=settings.outbound_policy
        )
        handle = MESSAGES.get(claims.message_type, _resource_link)
        response = handle(request, db, context, platform, claims)
    except ExamRefused as refusal:
        db.rollback()
        _audit_refusal(request, db, platform, claims, refusal)
        response = _lti_error(request, refusal)
    except LaunchError as failure:
        db.rollback()
        response = _lti_error(request, failure)
    return _forget_state(response, state, settings)


def _forget_state(response: Response, state: str, settings: Settings) -> Response:
    if state:
        response.delete_cookie(
            _state_cookie(state),
            path=STATE_COOKIE_PATH,
            secure=settings.secure_cookies,
            httponly=True,
            samesite="none" if settings.secure_cookies else "lax",
        )
    return response


def _audit_refusal(
    request: Request, db: DbSession, platform: LtiPlatform, launch: Launch, refusal: ExamRefused
) -> None:
    """A launch that named an exam it may not open: someone may be probing exam ids."""
    audit_log.record(
        db=db,
        actor=None,
        actor_label=f"lti:{platform.issuer}:{launch.subject}"[:200],
        action="lti.launch.refused",
        target_type="exam",
        target_id=refusal.exam_id,
        details={
            "platform_id": str(platform.id),
            "deployment_id": launch.deployment_id,
            "resource_link_id": launch.resource_link_id,
            "reason": refusal.reason,
        },
        client_ip=client_ip(request),
    )
    db.commit()


def _deep_linking(
    request: Request, db: DbSession, context: AppContext, platform: LtiPlatform, launch: Launch
) -> Response:
    """An instructor's deep linking request: a staff session, then the page where they pick
    or create the exam to add (web/lti_deep_link_pages.py). Learners are refused."""
    settings = context.settings
    assert launch.deep_linking is not None
    if launch.role is not LtiRole.INSTRUCTOR:
        raise LaunchError(
            "only the course's instructors add OpenProctor exams to it", status_code=403
        )
    return_origin(launch.deep_linking.return_url)
    user, created = service.instructor_account(db=db, platform=platform, launch=launch)
    token = users.open_session(
        db=db,
        user=user,
        client_ip=client_ip(request),
        lifetime=timedelta(hours=settings.session_hours),
    )
    user.last_login_at = utcnow()
    pending = PendingDeepLink(
        platform_id=platform.id,
        user_id=user.id,
        deployment_id=launch.deployment_id,
        return_url=launch.deep_linking.return_url,
        data=launch.deep_linking.data,
        expires_at=utcnow() + PENDING_LIFETIME,
    )
    audit_log.record(
        db=db,
        actor=user,
        action="lti.deep_link.start",
        target_type="lti_platform",
        target_id=platform.id,
        details={
            "deployment_id": launch.deployment_id,
            "subject": launch.subject,
            "account_created": "yes" if created else "no",
        },
        client_ip=client_ip(request),
    )
    db.commit()
    response = lti_deep_link_pages.picker(
        request,
        db=db,
        user=user,
        platform=platform,
        sealed=pending.seal(settings.secret_key),
        csrf_token=session_csrf_token(settings.secret_key, token),
    )
    set_session_cookie(response, token, settings)
    return response


def _resource_link(
    request: Request, db: DbSession, context: AppContext, platform: LtiPlatform, claims: Launch
) -> Response:
    """LtiResourceLinkRequest: an instructor to the exam's wall, a learner to their exam."""
    admission = service.admit(db=db, platform=platform, launch=claims)
    details = {
        "platform_id": str(platform.id),
        "issuer": platform.issuer,
        "subject": claims.subject,
        "role": claims.role.value if claims.role else None,
        "exam_id": str(admission.exam.id),
        "resource_link_id": claims.resource_link_id,
    }
    if admission.candidate is not None:
        return _to_exam(request, db, admission.candidate, details)
    return _to_wall(request, db, context.settings, admission, details)


# What answers each message type; resource links (the default) are in this module.
MESSAGES = {
    DEEP_LINKING_REQUEST: _deep_linking,
    START_PROCTORING: proctoring_pages.start_proctoring,
    END_ASSESSMENT: proctoring_pages.end_assessment,
}


def _validated(
    request: Request, db: DbSession, *, id_token: str, state: str, outbound_policy: OutboundPolicy
) -> tuple[LtiPlatform, Launch]:
    """The platform and launch of a valid authentication response; the state is used up
    (committed) before the id_token is looked at, so a launch never counts twice."""
    if not state:
        raise LaunchError("the launch has no state; open the activity again from the course")
    if not id_token:
        raise LaunchError("the launch has no id_token")
    if request.cookies.get(_state_cookie(state)) != state:
        raise LaunchError(
            "this browser did not start this launch (its state cookie is missing). If the "
            "course shows OpenProctor inside a frame, set the activity to open in a new "
            "window, or allow this site's cookies"
        )
    login = service.take_login(db=db, state=state)
    db.commit()
    service.check_fresh(login=login, now=utcnow())
    platform = service.get(db=db, platform_id=login.platform_id)
    if platform is None:
        raise LaunchError("the platform of this launch is no longer registered", 403)
    claims = validate_id_token(
        id_token,
        platform=platform,
        nonce=login.nonce,
        key_for=lambda kid: platform_key(platform, kid, outbound_policy),
    )
    return platform, claims


def _to_exam(
    request: Request, db: DbSession, candidate: Candidate, details: dict[str, str | None]
) -> Response:
    """A learner's launch, audited: on to their exam."""
    audit_log.record(
        db=db,
        actor=None,
        actor_label=candidate.email,
        action="lti.launch",
        target_type="candidate",
        target_id=candidate.id,
        details=details,
        client_ip=client_ip(request),
    )
    db.commit()
    return RedirectResponse(f"/take/{candidate.invite_token}", status.HTTP_303_SEE_OTHER)


def _to_wall(
    request: Request,
    db: DbSession,
    settings: Settings,
    admission: service.Admission,
    details: dict[str, str | None],
) -> Response:
    """An instructor's launch, audited: a staff session, then the exam's proctor wall (or,
    before any learner of theirs launched, a page saying so)."""
    user, exam = admission.user, admission.exam
    assert user is not None
    token = users.open_session(
        db=db,
        user=user,
        client_ip=client_ip(request),
        lifetime=timedelta(hours=settings.session_hours),
    )
    user.last_login_at = utcnow()
    audit_log.record(
        db=db,
        actor=user,
        action="lti.launch",
        target_type="user",
        target_id=user.id,
        details={**details, "account_created": "yes" if admission.user_created else "no"},
        client_ip=client_ip(request),
    )
    db.commit()
    response: Response
    if service.has_candidates(db=db, exam=exam, user=user):
        response = RedirectResponse(f"/proctor/exams/{exam.id}", status.HTTP_303_SEE_OTHER)
    else:
        response = render(request, "lti/instructor.html", user=user, exam=exam)
    set_session_cookie(response, token, settings)
    return response


@router.get("/jwks")
def jwks(db: DbSession) -> JSONResponse:
    """The tool's public keys (made on the first request), for LTI services."""
    document = tool_jwks(db=db)
    db.commit()
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})
