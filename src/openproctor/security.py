"""Passwords, opaque tokens and CSRF: the few primitives every domain shares."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile.
_hasher = PasswordHasher()

CSRF_COOKIE = "op_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "op_session"
DEVICE_COOKIE = "op_device"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_temporary_password() -> str:
    """16 characters from a 57-letter alphabet without look-alikes (0/O, 1/l/I), so it can be
    read out or typed from a note: about 93 bits."""
    return "".join(secrets.choice(_READABLE) for _ in range(16))


_READABLE = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def token_digest(token: str) -> str:
    """Tables keep only this digest of a bearer token, so a leaked table opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(expected: str | None, provided: str | None) -> bool:
    if not expected or not provided:
        return False
    return hmac.compare_digest(expected.encode(), provided.encode())


def _mac(secret_key: str, purpose: str, *parts: str) -> str:
    message = "|".join((purpose, *parts)).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def signed(secret_key: str, purpose: str, value: str) -> str:
    """`value.mac`: a value a browser carries for us and cannot change (it is not hidden)."""
    return f"{value}.{_mac(secret_key, purpose, value)}"


def unsigned(secret_key: str, purpose: str, token: str) -> str | None:
    """The value of a `signed` token, or None when its MAC does not match."""
    value, _, mac = token.rpartition(".")
    return value if value and tokens_match(_mac(secret_key, purpose, value), mac) else None


def session_csrf_token(secret_key: str, session_token: str) -> str:
    """The CSRF token of a signed-in browser: bound to its session, so it changes at every
    sign-in and a token planted in the browser beforehand (cookie tossing) is useless."""
    return _mac(secret_key, "csrf", session_token)


def expected_csrf_token(secret_key: str, cookies: Mapping[str, str]) -> str | None:
    """The CSRF token this browser must send back: bound to its staff session when it has
    one, else the random op_csrf cookie (signed-out pages such as the login form); None when
    it has neither."""
    session_token = cookies.get(SESSION_COOKIE)
    if session_token:
        return session_csrf_token(secret_key, session_token)
    return cookies.get(CSRF_COOKIE) or None


def new_device_token(secret_key: str, email: str) -> str:
    """A known-device token: proof that this browser signed in to this email before."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(secret_key, 'login-device', email, nonce)}"


def is_device_of(secret_key: str, email: str, device_token: str | None) -> bool:
    """Whether the device token was issued at a sign-in to this email. Only a MAC is computed,
    never a lookup, so known and unknown emails take the same time."""
    nonce, _, mac = (device_token or "").partition(".")
    return tokens_match(_mac(secret_key, "login-device", email, nonce), mac) if nonce else False


# Computed once so that a login for an unknown email costs as much as a wrong password.
DUMMY_PASSWORD_HASH = hash_password(secrets.token_urlsafe(16))
