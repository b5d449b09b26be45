"""LTI 1.3 core launch checks: the OIDC authentication request a login initiation redirects
to, and the validation of the id_token the platform posts back (RS256 signature against the
platform's key; iss, aud, azp, exp, iat, nonce, version, message type, deployment, roles).

Nothing here touches the database or the network: the caller hands in the platform, the
nonce it stored for the state, and a way to find the platform's key.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from openproctor.domains.lti.keys import ALGORITHM, PlatformKeyError
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
VERSION = CLAIM + "version"
DEPLOYMENT_ID = CLAIM + "deployment_id"
ROLES = CLAIM + "roles"
CUSTOM = CLAIM + "custom"
RESOURCE_LINK = CLAIM + "resource_link"
CONTEXT = CLAIM + "context"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
# The content item type a deep linking request must accept for this tool to answer it.
RESOURCE_LINK_ITEM = "ltiResourceLink"
# LTI Proctoring Services 1.0: the platform starts a proctored attempt, and ends it.
START_PROCTORING = "LtiStartProctoring"
END_ASSESSMENT = "LtiEndAssessment"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST, START_PROCTORING, END_ASSESSMENT)
LTI_VERSION = "1.3.0"
# Seconds of clock difference allowed between the platform and this server.
LEEWAY_S = 60

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
# The LTI Advantage services a launch may announce (Assignment and Grade Services, Names
# and Role Provisioning Services).
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_SERVICE = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"


class LaunchError(Exception):
    """A login or launch this tool refuses; the message says why, for the person launching."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class LtiRole(StrEnum):
    INSTRUCTOR = "Instructor"
    LEARNER = "Learner"


def role_of(roles: list[str]) -> LtiRole | None:
    """Instructor if any role is the context role Instructor or one of its sub-roles (e.g.
    Instructor#TeachingAssistant), else Learner likewise, else None. The simple names LTI 1.1
    used ("Instructor", "Learner") are accepted too."""
    for wanted in (LtiRole.INSTRUCTOR, LtiRole.LEARNER):
        names = {wanted.value, f"{MEMBERSHIP}#{wanted.value}"}
        if any(role in names or role.startswith(f"{MEMBERSHIP}/{wanted.value}#") for role in roles):
            return wanted
    return None


@dataclass(frozen=True)
class DeepLinkingSettings:
    """What a deep linking request (LTI-DL 2.0 section 4.4.1) asks the tool to send back."""

    return_url: str
    # Opaque to the tool (a string on most platforms, any JSON value on some): echoed back.
    data: object
    title: str | None


@dataclass(frozen=True)
class Launch:
    """A validated launch: who launched, in which role, with which names. A resource link
    launch has a resource_link_id; a deep linking request has deep_linking instead."""

    subject: str
    roles: list[str]
    role: LtiRole | None
    deployment_id: str
    resource_link_id: str
    name: str | None
    email: str | None
    custom: dict[str, str]
    context_title: str | None
    deep_linking: DeepLinkingSettings | None = None
    message_type: str = RESOURCE_LINK_REQUEST
    # Every verified claim, for the messages that carry more (proctoring.py reads them).
    claims: Mapping[str, Any] = field(default_factory=dict)
    context_id: str = ""
    services: ServiceEndpoints | None = None


@dataclass(frozen=True)
class ServiceEndpoints:
    """The grade and roster services a launch announced (each URL None when absent)."""

    lineitems_url: str | None = None
    lineitem_url: str | None = None
    ags_scopes: tuple[str, ...] = ()
    memberships_url: str | None = None


def service_endpoints(claims: Mapping[str, Any]) -> ServiceEndpoints | None:
    """The AGS endpoint and NRPS claims of an id_token, or None when it has neither."""
    ags, nrps = _mapping(claims.get(AGS_ENDPOINT)), _mapping(claims.get(NRPS_SERVICE))
    scopes = ags.get("scope")
    found = ServiceEndpoints(
        lineitems_url=_url(ags.get("lineitems")),
        lineitem_url=_url(ags.get("lineitem")),
        ags_scopes=tuple(s for s in scopes if isinstance(s, str))
        if isinstance(scopes, list)
        else (),
        memberships_url=_url(nrps.get("context_memberships_url")),
    )
    return found if found != ServiceEndpoints() else None


def authentication_url(
    *,
    platform: LtiPlatform,
    redirect_uri: str,
    login_hint: str,
    lti_message_hint: str | None,
    state: str,
    nonce: str,
) -> str:
    """The platform's OIDC authentication request (LTI 1.3 core, section 5.1.1.2)."""
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if lti_message_hint:
        params["lti_message_hint"] = lti_message_hint
    parts = urlsplit(platform.auth_login_url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


KeyFinder = Callable[[str | None], RSAPublicKey]


def validate_id_token(
    id_token: str, *, platform: LtiPlatform, nonce: str, key_for: KeyFinder
) -> Launch:
    """The launch in a platform's id_token, or LaunchError naming the first problem."""
    claims = _verified_claims(id_token, platform=platform, key_for=key_for)
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and "azp" not in claims:
        raise LaunchError("the id_token has several audiences but no azp claim")
    if "azp" in claims and claims["azp"] != platform.client_id:
        raise LaunchError(
            f"the id_token's azp {claims['azp']!r} is not this tool's client id "
            f"{platform.client_id!r}"
        )
    if not isinstance(claims["nonce"], str) or not hmac.compare_digest(
        claims["nonce"].encode(), nonce.encode()
    ):
        raise LaunchError(
            "the id_token's nonce does not match this login: the launch was replayed or "
            "forged; start it again from the course"
        )
    if claims.get(VERSION) != LTI_VERSION:
        raise LaunchError(f"the LTI version is {claims.get(VERSION)!r}; this tool needs 1.3.0")
    message_type = claims.get(MESSAGE_TYPE)
    if message_type not in MESSAGE_TYPES:
        raise LaunchError(
            f"the message type {message_type!r} is not supported: this tool is launched "
            f"with {', '.join(MESSAGE_TYPES)}"
        )
    deployment_id = claims.get(DEPLOYMENT_ID)
    if not isinstance(deployment_id, str) or not deployment_id:
        raise LaunchError("the id_token has no deployment_id claim")
    if deployment_id not in platform.deployment_ids:
        raise LaunchError(
            f"the deployment {deployment_id!r} is not registered for the platform "
            f"{platform.name!r}; an admin adds it on /admin/lti",
            status_code=403,
        )
    resource_link = _mapping(claims.get(RESOURCE_LINK))
    deep_linking = _deep_linking(claims) if message_type == DEEP_LINKING_REQUEST else None
    if deep_linking is None and (
        not isinstance(resource_link.get("id"), str) or not resource_link["id"]
    ):
        raise LaunchError("the id_token has no resource_link id")
    roles = claims.get(ROLES)
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise LaunchError("the id_token's roles claim is not a list of roles")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise LaunchError("the id_token's sub (the user) is missing or longer than 255")
    custom = {str(key): str(value) for key, value in _mapping(claims.get(CUSTOM)).items()}
    return Launch(
        subject=subject,
        roles=roles,
        role=role_of(roles),
        deployment_id=deployment_id,
        resource_link_id=str(resource_link.get("id") or ""),
        name=_person_name(claims),
        email=_text(claims.get("email")),
        custom=custom,
        context_title=_text(_mapping(claims.get(CONTEXT)).get("title")),
        deep_linking=deep_linking,
        message_type=str(message_type),
        claims=claims,
        context_id=_text(_mapping(claims.get(CONTEXT)).get("id"), limit=255) or "",
        services=service_endpoints(claims),
    )


def _deep_linking(claims: Mapping[str, Any]) -> DeepLinkingSettings:
    """The deep linking settings claim of a deep linking request, checked."""
    settings = claims.get(DEEP_LINKING_SETTINGS)
    if not isinstance(settings, Mapping):
        raise LaunchError("the deep linking request has no deep_linking_settings claim")
    return_url = settings.get("deep_link_return_url")
    if not isinstance(return_url, str) or urlsplit(return_url).scheme not in ("http", "https"):
        raise LaunchError("the deep linking request has no http(s) deep_link_return_url")
    accepted = settings.get("accept_types")
    if not isinstance(accepted, list) or RESOURCE_LINK_ITEM not in accepted:
        raise LaunchError(
            f"this place in the course does not accept an LTI link ({RESOURCE_LINK_ITEM}): "
            "add OpenProctor where the course offers external tool activities"
        )
    return DeepLinkingSettings(
        return_url=return_url,
        data=settings.get("data"),
        title=_text(settings.get("title")),
    )


def _verified_claims(id_token: str, *, platform: LtiPlatform, key_for: KeyFinder) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.DecodeError:
        raise LaunchError("the id_token is not a JWT") from None
    if header.get("alg") != ALGORITHM:
        raise LaunchError(f"the id_token is signed with {header.get('alg')!r}; LTI needs RS256")
    kid = header.get("kid")
    try:
        key = key_for(kid if isinstance(kid, str) else None)
    except PlatformKeyError as error:
        raise LaunchError(str(error)) from None
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=[ALGORITHM],
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
        )
    except jwt.InvalidSignatureError:
        raise LaunchError(
            "the id_token's signature does not verify with the platform's key"
        ) from None
    except jwt.ExpiredSignatureError:
        raise LaunchError("the id_token has expired; start the launch again") from None
    except jwt.ImmatureSignatureError:
        raise LaunchError("the id_token is issued in the future; check the clocks") from None
    except jwt.InvalidAudienceError:
        raise LaunchError(
            f"the id_token is not meant for this tool: its audience does not include the "
            f"client id {platform.client_id!r}"
        ) from None
    except jwt.InvalidIssuerError:
        raise LaunchError(
            f"the id_token's issuer is not {platform.issuer!r}, the platform that started "
            "this login"
        ) from None
    except jwt.MissingRequiredClaimError as error:
        raise LaunchError(f"the id_token has no {error.claim} claim") from None
    except jwt.InvalidTokenError as error:
        raise LaunchError(f"the id_token is not valid: {error}") from None
    return claims


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object, limit: int = 200) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def _url(value: object) -> str | None:
    """An http(s) URL of at most 2000 characters, else None (vetted again when used)."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    return value if value.startswith(("https://", "http://")) else None


def _person_name(claims: Mapping[str, Any]) -> str | None:
    given, family = _text(claims.get("given_name")), _text(claims.get("family_name"))
    joined = " ".join(part for part in (given, family) if part)
    return _text(claims.get("name")) or _text(joined)


def tool_message(
    *,
    platform: LtiPlatform,
    signing_key: LtiToolKey,
    message_type: str,
    deployment_id: str,
    issued_at: int,
    lifetime_s: int,
    claims: Mapping[str, Any],
) -> str:
    """A message from the tool to the platform (a deep linking response, a start of the
    assessment): from the tool (iss = its client id) to the platform (aud = its issuer), with
    a nonce, the message type, LTI version and deployment, and the message's own claims,
    signed RS256 with the tool's key (its kid in the header, for /lti/jwks)."""
    body: dict[str, Any] = {
        "iss": platform.client_id,
        "aud": platform.issuer,
        "iat": issued_at,
        "exp": issued_at + lifetime_s,
        "nonce": secrets.token_urlsafe(16),
        "jti": uuid.uuid4().hex,
        MESSAGE_TYPE: message_type,
        VERSION: LTI_VERSION,
        DEPLOYMENT_ID: deployment_id,
        **claims,
    }
    return jwt.encode(
        body, signing_key.private_key_pem, algorithm=ALGORITHM, headers={"kid": signing_key.kid}
    )
