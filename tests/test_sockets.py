"""The proctor wall socket (sockets.py): a proctor's wall carries nothing of another
proctor's candidate in the same exam, not even when it asks to watch them; junk from a wall
is ignored."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient
from websockets.asyncio.client import connect

from openproctor.domains.users.models import Role
from tests.conftest import Factory, login
from tests.live.clients import (
    ONE_FACE,
    Proctor,
    opened,
    proctor_socket,
    running_session,
    stream,
    ws_url,
)


@pytest.mark.analysis
@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_a_wall_gets_no_event_or_webcam_frame_of_another_proctors_candidate(
    live_server: str, factory: Factory
) -> None:
    mine, theirs = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, mine, name="Ada")
    factory.candidate(exam, theirs, name="Bob")  # so the other proctor may open this exam
    session = running_session(factory, ada)
    owner, intruder = Proctor(live_server, mine), Proctor(live_server, theirs)
    leaked: list[str | bytes] = []

    async def scenario() -> None:
        async with proctor_socket(owner, exam.id), proctor_socket(intruder, exam.id):
            await owner.wait_for(lambda e: e["type"] == "snapshot")
            await intruder.wait_for(lambda e: e["type"] == "snapshot")
            assert intruder.socket is not None
            assert owner.socket is not None
            async with connect(ws_url(live_server, f"/ws/take/{ada.invite_token}")) as candidate:
                await candidate.recv()  # hello
                await owner.wait_for(
                    lambda e: e["type"] == "candidate" and e["candidate"]["connected"]
                )
                # Watching is asked once the candidate is live; the other wall asks too.
                watch = json.dumps({"type": "watch", "session_id": str(session.id)})
                await owner.socket.send(watch)
                await intruder.socket.send(watch)
                seq = await stream(candidate, ONE_FACE, 2.0, 0)
                await owner.wait_for(lambda e: e["type"] == "frame")  # watching works
                await candidate.send(json.dumps({"type": "signal", "name": "tab_hidden"}))
                await stream(candidate, ONE_FACE, 1.0, seq)
                await owner.wait_for(opened("tab_switch"))
            # Everything the other wall got meanwhile, binary frames included.
            while True:
                try:
                    leaked.append(await asyncio.wait_for(intruder.socket.recv(), 1.5))
                except TimeoutError:
                    break

    asyncio.run(scenario())
    assert not [m for m in leaked if isinstance(m, bytes)], "webcam JPEGs reached the other wall"
    about_ada = [
        m for m in leaked if str(session.id) in str(m) or str(ada.id) in str(m) or "Ada" in str(m)
    ]
    assert about_ada == []
    assert not any(str(session.id) in json.dumps(e) for e in intruder.events)


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_junk_from_a_wall_is_ignored_and_the_wall_keeps_working(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor)
    running_session(factory, candidate)
    login(client, proctor)
    with client.websocket_connect(f"/ws/proctor/exams/{exam.id}") as wall:
        assert wall.receive_json()["type"] == "snapshot"
        for junk in ("{not json", "[1, 2]", '{"type": "watch", "session_id": {"a": 1}}', "null"):
            wall.send_text(junk)
        wall.send_bytes(b"\x00\x01 not a text message")
        # Still served: the candidate coming online reaches this wall.
        with client.websocket_connect(f"/ws/take/{candidate.invite_token}") as socket:
            assert socket.receive_json()["type"] == "hello"
            while (event := wall.receive_json())["type"] != "candidate":
                pass
            assert event["candidate"]["connected"] is True
