"""The pure signalling rules (live/signalling.py): what each side may send, whom it may
address, the viewer budget, the SDP cap, ICE rate, and how long a talk lasted."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from openproctor.live.signalling import (
    ICE_BURST,
    ICE_PER_S,
    MAX_SDP_BYTES,
    Answer,
    CandidateIce,
    Join,
    Offer,
    Publisher,
    Quality,
    RtcRefused,
    StaffIce,
    Subscriber,
    parse_candidate,
    parse_staff,
)

SESSION = uuid.uuid4()
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
ICE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", "sdpMid": "0"}


def staff(action: str, **fields: Any) -> dict[str, Any]:
    return {"type": "rtc", "action": action, "session_id": str(SESSION), **fields}


def candidate(action: str, viewer: str = "node:1", **fields: Any) -> dict[str, Any]:
    return {"type": "rtc", "action": action, "viewer": viewer, **fields}


def test_staff_messages_parse_into_their_kinds() -> None:
    assert isinstance(parse_staff(staff("join", quality="tile")), Join)
    assert isinstance(parse_staff(staff("answer", sdp=SDP)), Answer)
    ice = parse_staff(staff("ice", candidate=ICE))
    assert isinstance(ice, StaffIce)
    assert ice.candidate is not None
    assert ice.candidate.sdpMid == "0"
    assert isinstance(parse_staff(staff("ice", candidate=None)), StaffIce)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (staff("offer", sdp=SDP), "only the candidate's page offers"),
        (staff("dance"), "unknown rtc action 'dance'"),
        (staff("join", quality="4k"), "quality"),
        (staff("join", quality="tile", viewer="me"), "viewer"),  # ids are stamped, not read
        ({**staff("join", quality="tile"), "session_id": "nope"}, "session_id"),
        (staff("answer", sdp="hello"), "SDP must start with v=0"),
        (staff("answer", sdp=SDP + "a" * MAX_SDP_BYTES), f"SDP larger than {MAX_SDP_BYTES}"),
        (staff("ice", candidate={"candidate": "x" * 2000}), "candidate"),
    ],
)
def test_bad_staff_messages_are_refused_with_a_reason(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(RtcRefused, match=reason.replace("(", r"\(")):
        parse_staff(body)


def test_a_candidate_cannot_watch_and_may_only_offer_and_send_ice() -> None:
    assert isinstance(parse_candidate(candidate("offer", sdp=SDP)), Offer)
    assert isinstance(parse_candidate(candidate("ice", candidate=ICE)), CandidateIce)
    for action in ("join", "answer"):
        with pytest.raises(RtcRefused, match="cannot watch anyone"):
            parse_candidate(candidate(action, session_id=str(SESSION), quality="full"))
    with pytest.raises(RtcRefused, match=f"SDP larger than {MAX_SDP_BYTES}"):
        parse_candidate(candidate("offer", sdp=SDP + "a" * MAX_SDP_BYTES))


def test_the_viewer_budget_counts_a_close_view_as_four_tiles() -> None:
    publisher = Publisher(budget=6)
    publisher.join("a", Quality.FULL)
    publisher.join("b", Quality.TILE)
    publisher.join("c", Quality.TILE)
    assert publisher.used == 6
    with pytest.raises(RtcRefused, match="already sends live video to 3 viewers"):
        publisher.join("d", Quality.TILE)
    with pytest.raises(RtcRefused):  # a tile growing to a close view does not fit either
        publisher.join("b", Quality.FULL)
    publisher.join("a", Quality.TILE)  # the close view going back to a tile frees 3
    publisher.join("d", Quality.TILE)
    assert publisher.used == 4
    assert publisher.leave("d")
    assert not publisher.leave("d")
    publisher.join("c", Quality.FULL)  # 1 + 1 + 4
    assert publisher.used == 6


def test_listening_to_a_tile_keeps_its_place_in_the_budget() -> None:
    publisher = Publisher(budget=2)
    publisher.join("a", Quality.TILE)
    publisher.join("b", Quality.TILE)
    publisher.join("a", Quality.LISTEN)  # full audio on the same small picture
    assert publisher.used == 2
    assert isinstance(parse_staff(staff("join", quality="listen")), Join)


def test_viewers_of_a_stopped_node_give_their_places_back() -> None:
    publisher = Publisher(budget=6)
    publisher.join("dead:0", Quality.FULL)
    publisher.join("dead:1", Quality.TILE)
    publisher.join("live:0", Quality.TILE)
    with pytest.raises(RtcRefused):
        publisher.join("live:1", Quality.TILE)
    assert publisher.drop_lapsed(lambda viewer: viewer.startswith("live:")) == ["dead:0", "dead:1"]
    assert list(publisher.viewers) == ["live:0"]
    publisher.join("live:1", Quality.FULL)  # 1 + 4
    assert publisher.drop_lapsed(lambda viewer: True) == []
    assert publisher.used == 5


def test_a_candidate_addresses_only_viewers_that_joined_it() -> None:
    publisher = Publisher(budget=12)
    offer = parse_candidate(candidate("offer", viewer="node:7", sdp=SDP))
    with pytest.raises(RtcRefused, match="no such viewer"):
        publisher.check_outgoing(offer)
    publisher.join("node:7", Quality.TILE)
    publisher.check_outgoing(offer)
    publisher.leave("node:7")
    with pytest.raises(RtcRefused, match="no such viewer"):
        publisher.check_outgoing(offer)


def test_ice_candidates_beyond_the_burst_are_refused_until_the_bucket_refills() -> None:
    publisher = Publisher(budget=12)
    publisher.join("v", Quality.TILE)
    publisher.join("w", Quality.TILE)
    ice = parse_candidate(candidate("ice", viewer="v", candidate=ICE))
    now = time.monotonic() + 1  # buckets start full at their creation time
    for _ in range(int(ICE_BURST)):
        publisher.check_outgoing(ice, now)
    with pytest.raises(RtcRefused, match="too many ICE candidates"):
        publisher.check_outgoing(ice, now)
    # Another viewer's connection has its own bucket, and the flooded one refills.
    publisher.check_outgoing(parse_candidate(candidate("ice", viewer="w", candidate=ICE)), now)
    publisher.check_outgoing(ice, now + 1 / ICE_PER_S)


def test_staff_signal_only_sessions_they_joined() -> None:
    subscriber = Subscriber()
    answer = parse_staff(staff("answer", sdp=SDP))
    with pytest.raises(RtcRefused, match="join this session"):
        subscriber.check_outgoing(answer)
    subscriber.join(SESSION)
    subscriber.check_outgoing(answer)
    ice = parse_staff(staff("ice", candidate=ICE))
    now = time.monotonic() + 1
    for _ in range(int(ICE_BURST)):
        subscriber.check_outgoing(ice, now)
    with pytest.raises(RtcRefused, match="too many ICE candidates"):
        subscriber.check_outgoing(ice, now)


def test_a_talk_reports_its_length_when_it_stops_or_its_viewer_leaves() -> None:
    subscriber = Subscriber()
    subscriber.join(SESSION)
    assert subscriber.talk(SESSION, True, 100.0) is None
    assert subscriber.talk(SESSION, True, 101.0) is None  # a repeated "on" keeps the start
    assert subscriber.talk(SESSION, False, 104.5) == pytest.approx(4.5)
    assert subscriber.talk(SESSION, False, 105.0) is None  # not talking: nothing to audit
    subscriber.talk(SESSION, True, 200.0)
    assert subscriber.leave(SESSION, 202.0) == pytest.approx(2.0)
    assert subscriber.leave(SESSION, 203.0) is None
