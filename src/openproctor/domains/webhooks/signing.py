"""The signature on every webhook and callback: HMAC-SHA256 over `timestamp + "." + body`.

Header: `X-OpenProctor-Signature: t=<unix seconds>,v1=<hex digest>`. A receiver recomputes
the digest with its secret over the timestamp, a dot and the raw request body (bytes as
received, before any JSON parsing), compares in constant time, and refuses timestamps far
from its clock (5 minutes here) so that a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-OpenProctor-Signature"
EVENT_HEADER = "X-OpenProctor-Event"
DELIVERY_HEADER = "X-OpenProctor-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105 - marks a secret, is not one
TOLERANCE_S = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for this body, signed now (or at `timestamp`)."""
    at = int(time.time()) if timestamp is None else timestamp
    return f"t={at},v1={digest(secret, at, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """Whether the header signs this body with this secret, recently enough."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
