"""Chat on the proctor sockets: a candidate's message reaches only the walls that may see the
candidate, a wall opened later shows the unread count and the hand of a candidate who is not
connected, and with two web nodes on Redis the node holding the candidate's socket keeps
the count a request on the other node changed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from websockets.asyncio.client import connect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import Factory, serving
from tests.live.clients import Proctor, proctor_socket, running_session, ws_url
from tests.servers import redis_server


def candidate_writes(
    base_url: str, candidate: Candidate, session: ExamSession, **body: Any
) -> None:
    """The candidate's message (body=...) or hand (raised=...), over REST like the page."""
    path = "messages" if "body" in body else "hand"
    with httpx2.Client(base_url=base_url) as http:
        csrf = http.get("/api/v1/auth/csrf").json()["csrf_token"]
        response = http.post(
            f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}/{path}",
            json=body,
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code in (200, 201), response.text


def about(session: ExamSession, kind: str = "conversation") -> Any:
    return lambda event: event["type"] == kind and event.get("session_id") == str(session.id)


def test_a_candidates_message_reaches_only_their_proctors_wall_and_later_walls_show_it(
    live_server: str, factory: Factory
) -> None:
    ada_proctor, bo_proctor = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, ada_proctor, name="Ada")
    bo = factory.candidate(exam, bo_proctor, name="Bo")
    ada_session, bo_session = running_session(factory, ada), running_session(factory, bo)
    mine, theirs = Proctor(live_server, ada_proctor), Proctor(live_server, bo_proctor)

    async def scenario() -> None:
        async with proctor_socket(theirs, exam.id), proctor_socket(mine, exam.id):
            await mine.wait_for(lambda event: event["type"] == "snapshot")
            await theirs.wait_for(lambda event: event["type"] == "snapshot")
            await asyncio.to_thread(candidate_writes, live_server, ada, ada_session, body="Help?")
            heard = await mine.wait_for(about(ada_session))
            assert (heard["unread"], heard["message"]["body"]) == (1, "Help?")
            assert "proctor_id" not in heard
            # Bo's proctor hears Bo's message, and never heard Ada's before it.
            await asyncio.to_thread(candidate_writes, live_server, bo, bo_session, body="Hi")
            await theirs.wait_for(about(bo_session))
            assert not [e for e in theirs.events if e.get("session_id") == str(ada_session.id)]
        # Ada is not connected: a wall opened now reads her count and hand from the database.
        await asyncio.to_thread(candidate_writes, live_server, ada, ada_session, raised=True)
        async with proctor_socket(Proctor(live_server, ada_proctor), exam.id) as later:
            snapshot = await later.wait_for(lambda event: event["type"] == "snapshot")
            [tile] = snapshot["candidates"]
            assert (tile["name"], tile["unread"], tile["hand_raised"]) == ("Ada", 1, True)

    asyncio.run(scenario())


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield server.url


def test_the_node_holding_the_candidate_keeps_what_a_request_on_another_node_changed(
    settings: Settings, redis_url: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    scaled = settings.model_copy(update={"redis_url": redis_url})
    with serving(scaled) as node_a, serving(scaled) as node_b:
        proctor = Proctor(node_a, proctor_user)

        async def scenario() -> None:
            async with proctor_socket(proctor, exam.id):
                await proctor.wait_for(lambda event: event["type"] == "snapshot")
                url = ws_url(node_b, f"/ws/take/{candidate.invite_token}")
                async with connect(url) as socket:
                    await socket.recv()  # hello: node B holds the session now
                    await proctor.wait_for(
                        lambda e: e["type"] == "candidate" and e["candidate"]["connected"]
                    )
                    await asyncio.to_thread(
                        candidate_writes, node_a, candidate, session, body="On node A"
                    )
                    await asyncio.to_thread(
                        candidate_writes, node_a, candidate, session, raised=True
                    )
                    heard = await proctor.wait_for(lambda e: about(session)(e) and e["hand_raised"])
                    assert heard["unread"] == 1
                    await asyncio.sleep(0.3)  # node B hears the hub topic too
                # Node B's tile, sent when the socket closes, carries what node A changed.
                tile = await proctor.wait_for(
                    lambda e: e["type"] == "candidate" and not e["candidate"]["connected"]
                )
                assert (tile["candidate"]["unread"], tile["candidate"]["hand_raised"]) == (1, True)

        asyncio.run(scenario())
