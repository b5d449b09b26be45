"""An admin changes a connected candidate's accommodations: at once, without reconnecting, the
rules stop opening the exempt kind (others still open), the wall's tile shows the chips, and
the candidate's page gets the longer clock; taking the exemption back opens it again."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx2
import pytest
from websockets.asyncio.client import ClientConnection, connect

from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.live.clients import Proctor, opened, proctor_socket, running_session, ws_url

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


async def next_state(socket: ClientConnection) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if message.get("type") == "state":
            return dict(message)


def test_new_accommodations_reach_a_live_session_at_once(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    admin = Proctor(live_server, factory.user(Role.ADMIN))
    exam = factory.exam(policy={"require_fullscreen": True})
    ada = factory.candidate(exam, proctor_user)
    session = running_session(factory, ada)
    proctor = Proctor(live_server, proctor_user)

    def accommodate(document: dict[str, object]) -> None:
        with httpx2.Client(base_url=live_server, cookies=admin.cookies) as http:
            response = http.patch(
                f"/api/v1/candidates/{ada.id}",
                json={"accommodations": document},
                headers={"X-CSRF-Token": admin.csrf},
            )
        assert response.status_code == 200, response.text

    async def signal(socket: ClientConnection, name: str) -> None:
        await socket.send(json.dumps({"type": "signal", "name": name}))

    async def scenario() -> None:
        async with proctor_socket(proctor, exam.id):
            await proctor.wait_for(lambda e: e["type"] == "snapshot")
            async with connect(ws_url(live_server, f"/ws/take/{ada.invite_token}")) as socket:
                await socket.recv()  # hello
                await proctor.wait_for(
                    lambda e: e["type"] == "candidate" and e["candidate"]["connected"]
                )
                accommodate({"extra_minutes": 10, "exempt": ["tab_switch"]})
                told = await next_state(socket)
                assert told["clock"]["accommodated_s"] == 10 * 60
                await proctor.wait_for(
                    lambda e: (
                        e["type"] == "candidate"
                        and e["candidate"]["accommodations"]
                        == ["Extra time +10 min", "Exempt: tab_switch"]
                    )
                )
                await signal(socket, "tab_hidden")
                await signal(socket, "fullscreen_exit")  # not exempt: it still opens
                await proctor.wait_for(opened("fullscreen_exit"))
                with contextlib.suppress(AssertionError):
                    await proctor.wait_for(opened("tab_switch"), timeout=1.5)
                assert not any(opened("tab_switch")(e) for e in proctor.events)

                accommodate({"extra_minutes": 10})  # the exemption taken back
                await proctor.wait_for(
                    lambda e: (
                        e["type"] == "candidate"
                        and e["candidate"]["accommodations"] == ["Extra time +10 min"]
                    )
                )
                await signal(socket, "tab_visible")
                await signal(socket, "tab_hidden")
                event = await proctor.wait_for(opened("tab_switch"))
                assert event["violation"]["session_id"] == str(session.id)

    asyncio.run(scenario())


def test_an_invited_candidates_tile_shows_new_accommodations_at_once(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    admin = Proctor(live_server, factory.user(Role.ADMIN))
    exam = factory.exam()
    ada = factory.candidate(exam, proctor_user)  # invited: no attempt yet
    proctor = Proctor(live_server, proctor_user)

    async def scenario() -> None:
        async with proctor_socket(proctor, exam.id):
            snapshot = await proctor.wait_for(lambda e: e["type"] == "snapshot")
            assert snapshot["candidates"][0]["accommodations"] == []
            with httpx2.Client(base_url=live_server, cookies=admin.cookies) as http:
                response = http.patch(
                    f"/api/v1/candidates/{ada.id}",
                    json={"accommodations": {"exempt": ["speech"]}},
                    headers={"X-CSRF-Token": admin.csrf},
                )
            assert response.status_code == 200, response.text
            tile = await proctor.wait_for(lambda e: e["type"] == "candidate")
            assert tile["candidate"]["state"] == "invited"
            assert tile["candidate"]["accommodations"] == ["Exempt: speech"]

    asyncio.run(scenario())
