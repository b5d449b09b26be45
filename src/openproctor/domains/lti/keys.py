"""Keys: the tool's own RSA key pair (served at /lti/jwks for LTI services) and the public
keys platforms sign their id_tokens with (a pasted PEM, or a JWKS URL fetched and cached)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor import outbound
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey
from openproctor.outbound import OutboundPolicy, OutboundRefused

ALGORITHM = "RS256"
TOOL_KEY_BITS = 2048
JWKS_TIMEOUT_S = 5.0
JWKS_MAX_BYTES = 512 * 1024
# A platform's key set is fetched again after this long, or sooner for a key id it lacks.
JWKS_CACHE_S = 300.0
JWKS_REFETCH_AFTER_S = 10.0


class PlatformKeyError(Exception):
    """The platform's signing key cannot be found or read; the message says why."""


# --- the tool's key pair --------------------------------------------------------------------


def tool_key(*, db: Session) -> LtiToolKey:
    """The tool's key pair, generated and stored on first use (the caller commits)."""
    row = db.scalar(select(LtiToolKey).order_by(LtiToolKey.created_at).limit(1))
    if row is not None:
        return row
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=TOOL_KEY_BITS)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    row = LtiToolKey(kid=uuid.uuid4().hex, private_key_pem=pem)
    db.add(row)
    db.flush()
    return row


def public_jwks(keys: list[LtiToolKey]) -> dict[str, list[dict[str, Any]]]:
    """The public halves as a JWKS document."""
    documents = []
    for row in keys:
        private_key = serialization.load_pem_private_key(row.private_key_pem.encode(), None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            continue
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
        documents.append({**jwk, "kid": row.kid, "alg": ALGORITHM, "use": "sig"})
    return {"keys": documents}


def tool_jwks(*, db: Session) -> dict[str, list[dict[str, Any]]]:
    """Every tool key's public half (the caller commits: the first call makes the key)."""
    tool_key(db=db)
    return public_jwks(list(db.scalars(select(LtiToolKey).order_by(LtiToolKey.created_at))))


# --- the platforms' keys --------------------------------------------------------------------


@dataclass
class _CachedKeySet:
    fetched_at: float
    keys: dict[str, RSAPublicKey]


@dataclass
class KeySetCache:
    """Platform key sets by URL, fetched with a timeout and kept for JWKS_CACHE_S.

    A key id missing from the cached set makes it fetch again (platforms rotate keys), at
    most once every JWKS_REFETCH_AFTER_S per URL.
    """

    entries: dict[str, _CachedKeySet] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, url: str, kid: str | None, outbound_policy: OutboundPolicy) -> RSAPublicKey:
        now = time.monotonic()
        with self.lock:
            cached = self.entries.get(url)
        if cached is not None:
            age = now - cached.fetched_at
            known = _pick(cached.keys, kid) is not None
            if age < JWKS_CACHE_S and (known or age < JWKS_REFETCH_AFTER_S):
                return _pick_or_raise(cached.keys, kid, url)
        keys = fetch_key_set(url, outbound_policy)
        with self.lock:
            self.entries[url] = _CachedKeySet(fetched_at=now, keys=keys)
        return _pick_or_raise(keys, kid, url)


def fetch_key_set(url: str, outbound_policy: OutboundPolicy) -> dict[str, RSAPublicKey]:
    """The RSA signing keys of a JWKS document by key id (a key without one is "").

    The URL is vetted again now (its name may resolve elsewhere than when it was saved) and
    a redirect is an answer that is not 200, never followed."""
    try:
        with (
            outbound.client(JWKS_TIMEOUT_S) as client,
            outbound_policy.stream(
                client, "GET", url, headers={"Accept": "application/json"}
            ) as response,
        ):
            status_code = response.status_code
            content = read_at_most(response, JWKS_MAX_BYTES + 1) if status_code == 200 else b""
    except OutboundRefused as refusal:
        raise PlatformKeyError(
            f"the platform's key set {url} is refused: {refusal.reason}"
        ) from None
    except httpx.HTTPError as error:
        raise PlatformKeyError(
            f"could not fetch the platform's key set {url}: {outbound.describe_failure(error)}"
        ) from None
    if status_code != 200:
        raise PlatformKeyError(f"the platform's key set {url} answered HTTP {status_code}")
    if len(content) > JWKS_MAX_BYTES:
        raise PlatformKeyError(
            f"the platform's key set {url} is larger than {JWKS_MAX_BYTES} bytes"
        )
    try:
        document = json.loads(content)
        entries = document["keys"]
    except (ValueError, KeyError, TypeError):
        raise PlatformKeyError(f"the platform's key set {url} is not a JWKS document") from None
    keys: dict[str, RSAPublicKey] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        try:
            key = RSAAlgorithm.from_jwk(entry)
        except (jwt.InvalidKeyError, ValueError, KeyError, TypeError):
            continue
        if isinstance(key, RSAPublicKey):
            keys[str(entry.get("kid", ""))] = key
    if not keys:
        raise PlatformKeyError(f"the platform's key set {url} has no RS256 signing key")
    return keys


def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The body, stopping once it reaches `limit` bytes (a huge answer is not kept)."""
    content = bytearray()
    for chunk in response.iter_bytes():
        content += chunk
        if len(content) >= limit:
            break
    return bytes(content)


def _pick(keys: dict[str, RSAPublicKey], kid: str | None) -> RSAPublicKey | None:
    if kid is not None:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None


def _pick_or_raise(keys: dict[str, RSAPublicKey], kid: str | None, url: str) -> RSAPublicKey:
    key = _pick(keys, kid)
    if key is None:
        wanted = f"key id {kid!r}" if kid else "a key (the id_token names no kid)"
        raise PlatformKeyError(f"the platform's key set {url} has no {wanted}")
    return key


# One cache per process; entries are only public keys, shared by every request.
KEY_SETS = KeySetCache()


def platform_key(
    platform: LtiPlatform, kid: str | None, outbound_policy: OutboundPolicy
) -> RSAPublicKey:
    """The key that should have signed a launch from this platform; a key set URL is
    fetched only where `outbound_policy` allows."""
    if platform.public_key:
        key = serialization.load_pem_public_key(platform.public_key.encode())
        if not isinstance(key, RSAPublicKey):
            raise PlatformKeyError("the platform's registered public key is not an RSA key")
        return key
    if not platform.key_set_url:
        raise PlatformKeyError("the platform has neither a key set URL nor a public key")
    return KEY_SETS.key(platform.key_set_url, kid, outbound_policy)
