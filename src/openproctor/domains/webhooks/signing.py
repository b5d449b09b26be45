"""The signatures on every webhook and callback.

Standard Webhooks (https://www.standardwebhooks.com/): headers `webhook-id` (the event id,
the same on every retry: receivers drop duplicates by it), `webhook-timestamp` (unix
seconds when this attempt was signed) and `webhook-signature: v1,<base64>`, the HMAC-SHA256
of `id.timestamp.body` keyed with the base64 bytes after `whsec_` in the secret. While a
secret is being rotated the header holds one signature per valid secret, separated by
spaces; a receiver accepts the request if any of them matches. Any Standard Webhooks library
verifies these (tests use the `standardwebhooks` package).

Deprecated, sent alongside for one release: `X-OpenProctor-Signature: t=<unix seconds>,
v1=<hex digest>`, the HMAC-SHA256 of `timestamp.body` keyed with the whole secret string
(one `v1=` per valid secret during a rotation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
# Deprecated: the home-made scheme, kept for receivers that have not moved yet.
SIGNATURE_HEADER = "X-OpenProctor-Signature"
EVENT_HEADER = "X-OpenProctor-Event"
DELIVERY_HEADER = "X-OpenProctor-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105 - marks a secret, is not one
SECRET_BYTES = 32  # the specification asks for 24 to 64 random bytes
TOLERANCE_S = 300


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret: its base64 bytes. Secrets made before Standard
    Webhooks were URL-safe base64 (with `-` and `_`), decoded as such."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        if "-" in encoded or "_" in encoded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return secret.encode()  # not base64 at all: the string's bytes, as before


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    message = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def standard_headers(
    valid_secrets: Sequence[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every valid secret."""
    at = int(time.time()) if timestamp is None else timestamp
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(at),
        STANDARD_SIGNATURE_HEADER: " ".join(
            standard_signature(secret, msg_id, at, body) for secret in valid_secrets
        ),
    }


def digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(valid_secrets: Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """The deprecated header's value for this body, signed now (or at `timestamp`)."""
    at = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={at}", *(f"v1={digest(secret, at, body)}" for secret in valid_secrets)])


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """Whether the deprecated header signs this body with this secret, recently enough."""
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
