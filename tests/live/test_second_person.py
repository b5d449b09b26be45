"""Two people in front of the camera, through the real models on a real server: the faces and
the object pass's person count agree on a second person, and that is one violation carrying
both detections (before: multiple_faces and extra_person, both opened)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from tests.conftest import Factory
from tests.live.clients import ONE_FACE, TWO_FACES, running_session, stream, ws_url

pytestmark = pytest.mark.analysis

SECOND_PERSON = (ViolationKind.MULTIPLE_FACES, ViolationKind.EXTRA_PERSON)


def test_two_people_seen_by_faces_and_persons_open_one_violation(
    live_server: str, factory: Factory
) -> None:
    # An object pass on every frame, so that each of them counts the persons too.
    exam = factory.exam(policy={"object_interval_s": 0, "object_ceiling_s": 0})
    candidate = factory.candidate(exam, factory.user(Role.PROCTOR))
    session = running_session(factory, candidate)

    async def scenario() -> None:
        async with connect(ws_url(live_server, f"/ws/take/{candidate.invite_token}")) as socket:
            assert json.loads(await socket.recv())["type"] == "hello"
            seq = await stream(socket, ONE_FACE, 1.0, 0)
            seq = await stream(socket, TWO_FACES, 8.0, seq)
            await stream(socket, ONE_FACE, 5.0, seq)

    asyncio.run(scenario())
    factory.db.expire_all()
    rows = factory.db.scalars(
        select(Violation).where(
            Violation.session_id == session.id, Violation.kind.in_(SECOND_PERSON)
        )
    ).all()
    assert [(row.kind, row.label) for row in rows] == [(ViolationKind.MULTIPLE_FACES, None)]
    assert rows[0].details["detections"] == ["faces", "persons"]
    assert rows[0].details["persons"] >= 2
    assert rows[0].ended_at is not None
