"""The ICE servers a page may use for live video, with TURN credentials minted for it.

TURN passwords follow the TURN REST API scheme that coturn checks with `use-auth-secret`:
the username is `expiry:label` (expiry in Unix seconds) and the password is
base64(HMAC-SHA1(secret, username)). They expire on their own, so a page never holds a lasting
TURN password and the server keeps no list of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TypedDict

from openproctor.settings import Settings


class IceServer(TypedDict, total=False):
    """One entry of RTCConfiguration.iceServers."""

    urls: list[str]
    username: str
    credential: str


def turn_credential(secret: str, label: str, expires_at: int) -> tuple[str, str]:
    """(username, password) for `label` (who it is for, as coturn logs it) until expires_at."""
    username = f"{expires_at}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, label: str, now: float) -> list[IceServer]:
    """STUN URLs as they are; TURN URLs with a credential for `label` valid turn_ttl_seconds."""
    stun = [url for url in settings.ice_servers if url.startswith(("stun:", "stuns:"))]
    turn = [url for url in settings.ice_servers if url.startswith(("turn:", "turns:"))]
    servers: list[IceServer] = []
    if stun:
        servers.append({"urls": stun})
    if turn:
        secret = settings.turn_secret.get_secret_value()
        username, credential = turn_credential(secret, label, int(now) + settings.turn_ttl_seconds)
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers
