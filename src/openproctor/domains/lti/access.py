"""Access tokens for the platform's LTI Advantage services (grades, roster, proctoring).

OAuth 2 client-credentials grant with a JWT client assertion (RFC 7523), as the LTI
Advantage Security Framework 1.0 section 4.1 says: the assertion is signed RS256 with the
tool's key (iss = sub = the client id, aud = the platform's token URL), POSTed to the
platform's token URL through the outbound policy. Tokens are kept per platform and set of
scopes until a minute before they expire.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import jwt

from openproctor import outbound
from openproctor.domains.lti.keys import ALGORITHM, read_at_most
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey
from openproctor.outbound import OutboundPolicy, OutboundRefused

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300
# A token is used until this long before it expires, then a new one is asked for.
EXPIRY_MARGIN_S = 60.0
# What a platform's answer without expires_in is taken to last.
DEFAULT_LIFETIME_S = 3600.0
TOKEN_MAX_BYTES = 64 * 1024


class PlatformServiceError(Exception):
    """A platform service refused or could not be reached; str() says which and why."""


@dataclass
class _Token:
    value: str
    usable_until: float


@dataclass
class TokenCache:
    """Access tokens by (platform id, scopes); per process, shared by every thread."""

    clock: Callable[[], float] = time.monotonic
    entries: dict[tuple[uuid.UUID, frozenset[str]], _Token] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[uuid.UUID, frozenset[str]]) -> str | None:
        with self.lock:
            token = self.entries.get(key)
        return token.value if token is not None and self.clock() < token.usable_until else None

    def put(self, key: tuple[uuid.UUID, frozenset[str]], value: str, lifetime_s: float) -> None:
        with self.lock:
            self.entries[key] = _Token(value, self.clock() + lifetime_s - EXPIRY_MARGIN_S)

    def forget(self, key: tuple[uuid.UUID, frozenset[str]]) -> None:
        with self.lock:
            self.entries.pop(key, None)


TOKENS = TokenCache()


def forget_token(platform: LtiPlatform, scopes: Sequence[str]) -> None:
    """Drops a cached token the platform no longer accepts (it answered 401)."""
    TOKENS.forget((platform.id, frozenset(scopes)))


def client_assertion(platform: LtiPlatform, signing_key: LtiToolKey) -> str:
    """The signed JWT that stands for the tool's client credentials at the token URL."""
    now = int(time.time())
    claims = {
        "iss": platform.client_id,
        "sub": platform.client_id,
        "aud": platform.auth_token_url,
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
    outbound_policy: OutboundPolicy | None = None,
) -> str:
    """A bearer token for these scopes at this platform, from the cache or asked for now.

    `outbound_policy` says which token URLs may be requested (default: public addresses
    only). Raises PlatformServiceError saying what went wrong."""
    key = (platform.id, frozenset(scopes))
    cached = TOKENS.get(key)
    if cached is not None:
        return cached
    url = platform.auth_token_url
    if not url:
        raise PlatformServiceError(
            f"the platform {platform.name!r} has no token URL: an admin adds it on /admin/lti"
        )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(platform, signing_key),
        "scope": " ".join(sorted(set(scopes))),
    }
    policy = outbound_policy or OutboundPolicy()
    try:
        with policy.stream(
            client,
            "POST",
            url,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            content=urlencode(form).encode(),
        ) as response:
            status_code = response.status_code
            content = read_at_most(response, TOKEN_MAX_BYTES + 1) if status_code == 200 else b""
    except OutboundRefused as refusal:
        raise PlatformServiceError(
            f"the platform's token URL {url} is refused: {refusal.reason}"
        ) from None
    except httpx.HTTPError as error:
        raise PlatformServiceError(
            f"could not reach the platform's token URL {url}: {outbound.describe_failure(error)}"
        ) from None
    if status_code != 200:
        raise PlatformServiceError(
            f"the platform's token URL {url} answered HTTP {status_code}: check the tool's "
            "client id, its key set URL on the platform, and the services the platform allows"
        )
    value, lifetime_s = _token_of(content, url)
    TOKENS.put(key, value, lifetime_s)
    return value


def _token_of(content: bytes, url: str) -> tuple[str, float]:
    if len(content) > TOKEN_MAX_BYTES:
        raise PlatformServiceError(f"the platform's token URL {url} answered too much")
    try:
        document = httpx.Response(200, content=content).json()
        value = document["access_token"]
    except (ValueError, KeyError, TypeError):
        raise PlatformServiceError(
            f"the platform's token URL {url} did not answer with an access token"
        ) from None
    if not isinstance(value, str) or not value:
        raise PlatformServiceError(f"the platform's token URL {url} gave an empty access token")
    lifetime = document.get("expires_in", DEFAULT_LIFETIME_S)
    lifetime_s = float(lifetime) if isinstance(lifetime, int | float) else DEFAULT_LIFETIME_S
    return value, lifetime_s
