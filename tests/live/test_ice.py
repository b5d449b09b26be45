"""ICE servers for the pages (live/ice.py): STUN as configured, TURN with a credential coturn
accepts under use-auth-secret (the TURN REST API scheme), expiring after the TTL. That coturn
accepts them is proven by tests/web/test_live_media.py's relay-only test."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from pydantic import ValidationError

from openproctor.live.ice import ice_servers, turn_credential
from openproctor.settings import Settings


def test_a_turn_credential_is_the_hmac_of_expiry_and_label() -> None:
    username, password = turn_credential("s3cret", "session-1", 1_700_000_000)
    assert username == "1700000000:session-1"
    expected = hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def test_pages_get_stun_as_is_and_turn_with_a_short_lived_credential() -> None:
    settings = Settings(
        ice_servers="stun:stun.example.org:3478, turn:turn.example.org:3478?transport=udp",
        turn_secret="north",
        turn_ttl_seconds=600,
    )
    stun, turn = ice_servers(settings, "staff-9", now=1000.5)
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    assert turn["urls"] == ["turn:turn.example.org:3478?transport=udp"]
    assert turn["username"] == "1600:staff-9"
    assert turn["credential"] == turn_credential("north", "staff-9", 1600)[1]
    assert ice_servers(Settings(), "x", now=0) == []


def test_turn_without_a_secret_and_unknown_schemes_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="OPENPROCTOR_TURN_SECRET"):
        Settings(ice_servers="turn:turn.example.org")
    with pytest.raises(ValidationError, match="ICE_RELAY_ONLY needs a turn: URL"):
        Settings(ice_servers="stun:stun.example.org", ice_relay_only=True)
    with pytest.raises(ValidationError, match="not a stun:, stuns:, turn: or turns: URL"):
        Settings(ice_servers="http://turn.example.org")
