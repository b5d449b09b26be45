"""WebRTC signalling through a real server (sockets/rtc.py): a join reaches the candidate
stamped with the viewer's id, offer, answer and ICE reach only the other side, and bad input
(another proctor's candidate, SDP over the cap, ICE floods, a candidate trying to watch, joins
beyond the viewer budget) is refused with a reason while bystanders carry on. Talk-back is
audited with its length."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openproctor.bus.local import session_topic
from openproctor.bus.redis import RedisBus
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.users.models import Role
from openproctor.live import registry, rtc_messages
from openproctor.live.limits import RTC_BURST
from openproctor.live.signalling import ICE_BURST, MAX_RTC_TEXT_BYTES, MAX_SDP_BYTES
from openproctor.settings import Settings
from tests.conftest import Factory, serving
from tests.live.clients import Proctor, close_of, proctor_socket, running_session, ws_url
from tests.live.test_registry import NO_DATABASE
from tests.servers import redis_server

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
ICE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", "sdpMid": "0"}


async def next_json(
    socket: ClientConnection, match: Callable[[dict[str, Any]], bool], timeout: float = 5
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic()))
        if isinstance(raw, str) and match(message := json.loads(raw)):
            return message


async def silent(socket: ClientConnection, match: Callable[[dict[str, Any]], bool]) -> None:
    """Nothing matching arrives within half a second."""
    try:
        message = await next_json(socket, match, timeout=0.5)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected {message}")


def rtc(action: str, **fields: Any) -> str:
    return json.dumps({"type": "rtc", "action": action, **fields})


def is_rtc(action: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "rtc" and m["action"] == action


def refused(m: dict[str, Any]) -> bool:
    return bool(m["type"] == "rtc_refused")


def test_signalling_reaches_only_the_two_ends_and_bad_input_is_refused_with_a_reason(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor_user, name="Ada")
    bob = factory.candidate(exam, proctor_user, name="Bob")
    other = factory.candidate(exam, factory.user(Role.PROCTOR), name="Eve")
    ada_session = running_session(factory, ada)
    bob_session = running_session(factory, bob)
    eve_session = running_session(factory, other)
    proctor = Proctor(live_server, proctor_user)

    async def scenario() -> None:
        take = ws_url(live_server, "/ws/take/")
        async with (
            connect(take + ada.invite_token) as candidate,
            connect(take + bob.invite_token) as bystander,
            proctor_socket(proctor, exam.id) as staff,
        ):
            config = await next_json(candidate, lambda m: m["type"] == "rtc_config")
            assert config["ice_servers"] == []  # none set: direct connections
            assert config["ice_transport_policy"] == "all"
            await staff.wait_for(lambda e: e["type"] == "rtc_config")
            assert staff.socket is not None
            await staff.socket.send(rtc("join", session_id=str(ada_session.id), quality="full"))
            join = await next_json(candidate, is_rtc("join"))
            viewer = join["viewer"]
            assert join["quality"] == "full"
            assert viewer

            await candidate.send(rtc("offer", viewer=viewer, sdp=SDP))
            offer = await staff.wait_for(lambda e: e.get("action") == "offer")
            assert offer["session_id"] == str(ada_session.id)
            assert offer["sdp"] == SDP
            assert "viewer" not in offer  # the page needs no ids of its own
            await staff.socket.send(rtc("answer", session_id=str(ada_session.id), sdp=SDP))
            assert (await next_json(candidate, is_rtc("answer")))["sdp"] == SDP
            await candidate.send(rtc("ice", viewer=viewer, candidate=ICE))
            ice = await staff.wait_for(lambda e: e.get("action") == "ice")
            assert ice["candidate"]["candidate"] == ICE["candidate"]

            # Another proctor's candidate, a session never joined: refused, nothing relayed.
            await staff.socket.send(rtc("join", session_id=str(eve_session.id), quality="tile"))
            refusal = await staff.wait_for(refused)
            assert refusal["reason"] == "not a candidate of yours in this exam"
            assert refusal["session_id"] == str(eve_session.id)
            staff.events.clear()
            await staff.socket.send(rtc("answer", session_id=str(bob_session.id), sdp=SDP))
            refusal = await staff.wait_for(refused)
            assert refusal["reason"] == "join this session before signalling to it"
            staff.events.clear()
            # An answer over the SDP cap (the message itself within the sockets' limit).
            big = (SDP + "a" * MAX_SDP_BYTES)[: MAX_SDP_BYTES + 100]
            await staff.socket.send(rtc("answer", session_id=str(ada_session.id), sdp=big))
            refusal = await staff.wait_for(refused)
            assert refusal["reason"] == f"SDP larger than {MAX_SDP_BYTES} bytes"
            staff.events.clear()
            # An ICE flood: what passes the burst is refused, the connection stays.
            for _ in range(int(ICE_BURST) + 10):
                await staff.socket.send(rtc("ice", session_id=str(ada_session.id), candidate=ICE))
            refusal = await staff.wait_for(refused)
            assert refusal["reason"] == "too many ICE candidates: slow down"
            staff.events.clear()

            # The candidate: cannot watch, cannot address a stranger, cannot send huge SDP.
            await candidate.send(rtc("join", session_id=str(bob_session.id), quality="full"))
            refusal = await next_json(candidate, refused)
            assert refusal["reason"] == (
                "a candidate's page only sends its own media: it cannot watch anyone"
            )
            await candidate.send(rtc("offer", viewer="node:999", sdp=SDP))
            refusal = await next_json(candidate, refused)
            assert refusal["reason"] == "no such viewer: it left or never joined this candidate"
            await candidate.send(rtc("offer", viewer=viewer, sdp=big))
            refusal = await next_json(candidate, refused)
            assert refusal["reason"] == f"SDP larger than {MAX_SDP_BYTES} bytes"

            # The bystander heard none of it and still signals as before.
            await silent(bystander, lambda m: m["type"] in ("rtc", "rtc_refused"))
            await bystander.send(json.dumps({"type": "signal", "name": "copy", "ts": 1}))
            event = await staff.wait_for(lambda e: e["type"] == "violation")
            assert event["violation"]["session_id"] == str(bob_session.id)

            # Leaving frees the viewer: its offers are refused from then on.
            await staff.socket.send(rtc("leave", session_id=str(ada_session.id)))
            await next_json(candidate, is_rtc("leave"))
            await candidate.send(rtc("offer", viewer=viewer, sdp=SDP))
            assert (await next_json(candidate, refused))["reason"].startswith("no such viewer")

            # A text longer than even an SDP may be closes the socket (4413).
            await candidate.send(rtc("offer", viewer=viewer, sdp="v=0" + "a" * MAX_RTC_TEXT_BYTES))
            assert (await close_of(candidate))[0] == 4413

    asyncio.run(scenario())


def test_joins_beyond_the_viewer_budget_are_refused_and_leaving_makes_room(
    settings: Settings, factory: Factory
) -> None:
    admin = factory.user(Role.ADMIN)
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor_user, name="Ada")
    session = running_session(factory, ada)

    async def scenario(base_url: str) -> None:
        proctor, watcher = Proctor(base_url, proctor_user), Proctor(base_url, admin)
        async with (
            connect(ws_url(base_url, f"/ws/take/{ada.invite_token}")) as candidate,
            proctor_socket(proctor, exam.id) as close_view,
            proctor_socket(watcher, exam.id) as admin_tile,
        ):
            assert close_view.socket is not None
            assert admin_tile.socket is not None
            await close_view.socket.send(rtc("join", session_id=str(session.id), quality="full"))
            await next_json(candidate, is_rtc("join"))
            # Budget 4: the close view uses it all, even an admin's tile does not fit.
            await admin_tile.socket.send(rtc("join", session_id=str(session.id), quality="tile"))
            refusal = await admin_tile.wait_for(refused)
            assert refusal["reason"].startswith("this candidate already sends live video to 1")
            await silent(candidate, is_rtc("join"))
            # The close view goes back to a tile: the admin's tile fits now.
            await close_view.socket.send(rtc("join", session_id=str(session.id), quality="tile"))
            assert (await next_json(candidate, is_rtc("join")))["quality"] == "tile"
            admin_tile.events.clear()
            await admin_tile.socket.send(rtc("join", session_id=str(session.id), quality="tile"))
            await next_json(candidate, is_rtc("join"))

    with serving(settings.model_copy(update={"live_viewer_budget": 4})) as base_url:
        asyncio.run(scenario(base_url))


def test_the_viewers_of_a_staff_node_that_died_lapse_and_free_their_places(
    settings: Settings, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another web node (a registry on the same Redis) joins Ada at full quality for its
    proctor's page, then is killed: no leave ever comes. Its place counts while the node says
    it is alive; once it has been silent for WATCH_TTL_S, the next join frees it and Ada's
    page is told to leave that viewer."""
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor_user, name="Ada")
    session = running_session(factory, ada)
    monkeypatch.setattr(registry, "WATCH_TTL_S", 2.0)  # not 30 s: the test would wait for it
    join_tile = rtc("join", session_id=str(session.id), quality="tile")

    async def scenario(base_url: str, redis_url: str) -> None:
        bus = RedisBus(redis_url)
        bus.bind(asyncio.get_running_loop())
        other_node = registry.Registry(session_factory=NO_DATABASE, bus=bus)
        viewer = other_node.new_watcher()

        async def alive() -> None:
            while True:
                other_node.renew()
                await asyncio.sleep(0.5)

        heartbeat = asyncio.create_task(alive())
        async with (
            connect(ws_url(base_url, f"/ws/take/{ada.invite_token}")) as candidate,
            proctor_socket(Proctor(base_url, proctor_user), exam.id) as wall,
        ):
            assert wall.socket is not None
            bus.publish(
                session_topic(session.id), rtc_messages.rtc_join(session.id, viewer, "full")
            )
            assert (await next_json(candidate, is_rtc("join")))["viewer"] == viewer
            await asyncio.sleep(2.5)  # longer than WATCH_TTL_S: the heartbeat keeps its place
            await wall.socket.send(join_tile)
            refusal = await wall.wait_for(refused)
            assert refusal["reason"].startswith("this candidate already sends live video to 1")
            heartbeat.cancel()  # the node is killed
            await bus.close()
            await asyncio.sleep(2.5)
            wall.events.clear()
            await wall.socket.send(join_tile)
            assert (await next_json(candidate, is_rtc("leave")))["viewer"] == viewer
            assert (await next_json(candidate, is_rtc("join")))["viewer"] != viewer
            await silent(candidate, lambda m: m["type"] == "rtc_refused")

    with redis_server() as redis:
        scaled = settings.model_copy(update={"redis_url": redis.url, "live_viewer_budget": 4})
        with serving(scaled) as base_url:
            asyncio.run(scenario(base_url, redis.url))


def test_talk_back_is_audited_with_who_and_how_long(live_server: str, factory: Factory) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor_user, name="Ada")
    session = running_session(factory, ada)
    proctor = Proctor(live_server, proctor_user)

    async def scenario() -> None:
        async with (
            connect(ws_url(live_server, f"/ws/take/{ada.invite_token}")) as candidate,
            proctor_socket(proctor, exam.id) as staff,
        ):
            assert staff.socket is not None
            await staff.socket.send(rtc("join", session_id=str(session.id), quality="full"))
            await next_json(candidate, is_rtc("join"))
            await staff.socket.send(rtc("talk", session_id=str(session.id), on=True))
            assert (await next_json(candidate, is_rtc("talk")))["on"] is True
            await asyncio.sleep(1.2)
            await staff.socket.send(rtc("talk", session_id=str(session.id), on=False))
            assert (await next_json(candidate, is_rtc("talk")))["on"] is False
            # A talk cut short by closing the wall is audited too.
            await staff.socket.send(rtc("talk", session_id=str(session.id), on=True))
            await next_json(candidate, is_rtc("talk"))
        await asyncio.sleep(0.5)

    asyncio.run(scenario())
    factory.db.expire_all()
    entries = factory.db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "session.talk")
        .order_by(AuditEntry.created_at)
    ).all()
    assert [entry.actor_id for entry in entries] == [proctor_user.id, proctor_user.id]
    assert all(entry.target_id == str(session.id) for entry in entries)
    assert 1.1 <= entries[0].details["seconds"] <= 2.5
    assert entries[1].details["seconds"] < 1.0
    assert entries[0].details["started_at"] < entries[1].details["started_at"]


def test_a_staff_socket_flooding_signalling_is_closed_with_4429(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor_user, name="Ada")
    session = running_session(factory, ada)
    proctor = Proctor(live_server, proctor_user)

    async def scenario() -> tuple[int, str]:
        async with proctor_socket(proctor, exam.id) as staff:
            assert staff.socket is not None
            await staff.socket.send(rtc("join", session_id=str(session.id), quality="tile"))
            # A repeated "talk on" is relayed and answers nothing: the budget alone stops it.
            talk = rtc("talk", session_id=str(session.id), on=True)
            with contextlib.suppress(ConnectionClosed):
                for _ in range(int(RTC_BURST) * 3):
                    await staff.socket.send(talk)
            return await close_of(staff.socket)

    assert asyncio.run(scenario()) == (4429, "too many messages: slow down")
