"""OAuth 2 access tokens for the platform's LTI Advantage services (Assessment Control,
grades, roster): the client_credentials grant with a JWT client assertion (RFC 7523) signed
with the tool's key, as the 1EdTech Security Framework 1.0 (section 4.1) has it.

Tokens are cached per (platform, scopes) until 60 s before they expire, so each service call
does not ask for a new one."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence

import httpx
import jwt

from openproctor import outbound
from openproctor.domains.lti.keys import ALGORITHM, read_at_most
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey
from openproctor.outbound import OutboundPolicy, OutboundRefused

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300
# A token is asked for again this long before the platform says it expires.
EXPIRY_MARGIN_S = 60.0
TOKEN_MAX_BYTES = 64 * 1024


class PlatformServiceError(Exception):
    """A platform service refused or could not be reached; str() says which and why."""


_cache: dict[tuple[str, frozenset[str]], tuple[str, float]] = {}
_cache_lock = threading.Lock()


def client_assertion(platform: LtiPlatform, token_url: str, signing_key: LtiToolKey) -> str:
    """The tool's signed JWT that stands for its client secret."""
    now = int(time.time())
    claims = {
        "iss": platform.client_id,
        "sub": platform.client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_S,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(
        claims, signing_key.private_key_pem, algorithm=ALGORITHM, headers={"kid": signing_key.kid}
    )


def access_token(
    platform: LtiPlatform,
    scopes: Sequence[str],
    *,
    signing_key: LtiToolKey,
    client: httpx.Client,
    outbound_policy: OutboundPolicy = OutboundPolicy(),
) -> str:
    """A bearer token for these scopes, cached until 60 s before it expires. Raises
    PlatformServiceError when the platform has no token URL, refuses, or cannot be reached.
    The token URL must be a public address unless `outbound_policy` allows it."""
    token_url = platform.auth_token_url
    if not token_url:
        raise PlatformServiceError(
            f"the platform {platform.name!r} has no token URL (auth_token_url): an admin sets "
            "it on /admin/lti"
        )
    key = (str(platform.id), frozenset(scopes))
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(platform, token_url, signing_key),
        "scope": " ".join(sorted(set(scopes))),
    }
    body = _form_body(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    try:
        with outbound_policy.stream(client, "POST", token_url, headers=headers, content=body) as (
            response
        ):
            status_code = response.status_code
            content = read_at_most(response, TOKEN_MAX_BYTES) if status_code == 200 else b""
    except OutboundRefused as refusal:
        raise PlatformServiceError(
            f"the platform's token URL {token_url} is refused: {refusal.reason}"
        ) from None
    except httpx.HTTPError as error:
        raise PlatformServiceError(
            f"could not reach the platform's token URL {token_url}: "
            f"{outbound.describe_failure(error)}"
        ) from None
    if status_code != 200:
        raise PlatformServiceError(
            f"the platform's token URL {token_url} refused the tool: HTTP {status_code}"
        )
    try:
        document = json.loads(content)
        token = document["access_token"]
        expires_in = float(document.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError):
        raise PlatformServiceError(
            f"the platform's token URL {token_url} did not answer with an access token"
        ) from None
    if not isinstance(token, str) or not token:
        raise PlatformServiceError(f"the platform's token URL {token_url} sent an empty token")
    with _cache_lock:
        _cache[key] = (token, time.monotonic() + expires_in - EXPIRY_MARGIN_S)
    return token


def forget_token(platform: LtiPlatform, scopes: Sequence[str]) -> None:
    """Drops a cached token the platform no longer accepts (it answered 401)."""
    with _cache_lock:
        _cache.pop((str(platform.id), frozenset(scopes)), None)


def _form_body(form: dict[str, str]) -> bytes:
    return str(httpx.QueryParams(form)).encode()
