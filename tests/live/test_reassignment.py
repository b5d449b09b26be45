"""An admin moves a live candidate to another proctor: the tile and the candidate's events
follow at once, without either wall reconnecting."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx2
import pytest
from websockets.asyncio.client import connect

from openproctor.domains.users.models import Role
from openproctor.sockets import for_proctor
from tests.conftest import Factory
from tests.live.clients import Proctor, opened, proctor_socket, running_session, ws_url


def test_a_reassigned_candidate_moves_to_the_new_proctors_wall(
    live_server: str, factory: Factory
) -> None:
    first_user, second_user = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    admin = Proctor(live_server, factory.user(Role.ADMIN))
    exam = factory.exam()
    candidate = factory.candidate(exam, first_user)
    factory.candidate(exam, second_user, name="Bob")  # a proctor sees exams they proctor
    session = running_session(factory, candidate)
    first, second = Proctor(live_server, first_user), Proctor(live_server, second_user)

    async def scenario() -> None:
        async with proctor_socket(first, exam.id), proctor_socket(second, exam.id):
            for proctor, names in ((first, ["Ada"]), (second, ["Bob"])):
                snapshot = await proctor.wait_for(lambda e: e["type"] == "snapshot")
                assert [c["name"] for c in snapshot["candidates"]] == names
                load = await proctor.wait_for(lambda e: e["type"] == "load")
                assert load["degraded"] is False
            url = ws_url(live_server, f"/ws/take/{candidate.invite_token}")
            async with connect(url) as socket:
                await socket.recv()  # hello
                await first.wait_for(
                    lambda e: e["type"] == "candidate" and e["candidate"]["connected"]
                )
                with httpx2.Client(base_url=live_server, cookies=admin.cookies) as http:
                    response = http.put(
                        f"/api/v1/candidates/{candidate.id}/proctor",
                        json={"proctor_id": str(second_user.id)},
                        headers={"X-CSRF-Token": admin.csrf},
                    )
                assert response.status_code == 200, response.text
                gone = await first.wait_for(lambda e: e["type"] == "unassigned")
                assert gone["candidate_id"] == str(candidate.id)
                added = await second.wait_for(lambda e: e["type"] == "assigned")
                assert added["candidate"]["session_id"] == str(session.id)
                live = await second.wait_for(
                    lambda e: e["type"] == "candidate" and e["candidate"]["connected"]
                )
                assert live["candidate"]["state"] == "running"

                await socket.send(json.dumps({"type": "signal", "name": "tab_hidden"}))
                event = await second.wait_for(opened("tab_switch"))
                assert event["violation"]["session_id"] == str(session.id)
                with contextlib.suppress(AssertionError):  # what the old wall gets meanwhile
                    await first.wait_for(lambda e: False, timeout=1)
        assert not any(opened("tab_switch")(e) for e in first.events)
        assert not any(e["type"] == "assigned" for e in first.events)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("message", "scope", "sent"),
    [
        ({"type": "load", "degraded": True}, "p1", True),
        ({"type": "load", "degraded": True}, None, True),
        ({"type": "candidate", "proctor_id": "p1"}, "p1", True),
        ({"type": "candidate", "proctor_id": "p2"}, "p1", False),
        ({"type": "candidate", "proctor_id": None}, "p1", False),
        ({"type": "candidate", "proctor_id": "p2"}, None, True),
        ({"type": "thumbnail", "session_id": "s"}, "p1", False),
        ({"type": "assigned", "proctor_id": "p1"}, "p1", True),
        ({"type": "assigned", "proctor_id": "p1"}, None, False),
        ({"type": "unassigned", "proctor_id": "p2"}, "p1", False),
    ],
)
def test_which_wall_messages_a_viewer_gets(
    message: dict[str, object], scope: str | None, sent: bool
) -> None:
    assert for_proctor(message, scope) is sent
