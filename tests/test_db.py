"""The database engine (db.py) on SQLite: WAL and a busy timeout let a burst of writers from a
real server through, one at a time, with nothing refused and nothing lost."""

from __future__ import annotations

import asyncio
import json
import time

import httpx2
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import connect

from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import CandidateCreate
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.violations.models import Violation
from tests.conftest import Factory
from tests.live.clients import ws_url

WRITERS = 300


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_sqlite_takes_300_concurrent_writers_and_loses_nothing(
    live_server: str, factory: Factory
) -> None:
    """300 candidates at once, each saving answers over REST and pasting on their socket
    (a copy_paste violation written by the live loop): every request succeeds and every
    answer and violation is in the database."""
    exam = factory.exam()
    invites: list[tuple[str, str]] = []
    for number in range(WRITERS):
        candidate = candidates.create(
            db=factory.db,
            exam=exam,
            candidate_in=CandidateCreate(name=f"C{number}", email=f"c{number}@example.com"),
        )
        session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
        for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
            sessions.move(session, state)
        invites.append((candidate.invite_token, str(session.id)))
    factory.db.commit()

    async def one_candidate(http: httpx2.AsyncClient, csrf: str, token: str, session: str) -> int:
        async with connect(ws_url(live_server, f"/ws/take/{token}"), open_timeout=60) as socket:
            assert json.loads(await socket.recv())["type"] == "hello"
            await socket.send(json.dumps({"type": "signal", "name": "paste"}))
            response = await http.put(
                f"/api/v1/take/{token}/sessions/{session}/answers",
                json={"answers": {"0": 1}},
                headers={"X-CSRF-Token": csrf},
            )
            await socket.ping()  # the paste was read before the socket closes
        return response.status_code

    async def burst() -> list[int]:
        limits = httpx2.Limits(max_connections=WRITERS)
        async with httpx2.AsyncClient(base_url=live_server, limits=limits, timeout=60) as http:
            csrf = (await http.get("/api/v1/auth/csrf")).json()["csrf_token"]
            return await asyncio.gather(*(one_candidate(http, csrf, *i) for i in invites))

    started = time.monotonic()
    statuses = asyncio.run(burst())
    assert statuses == [200] * WRITERS

    def pasted() -> int:
        factory.db.expire_all()
        query = select(func.count()).where(Violation.kind == ViolationKind.COPY_PASTE)
        return factory.db.scalar(query) or 0

    while pasted() < WRITERS and time.monotonic() - started < 60:
        time.sleep(0.2)
    assert pasted() == WRITERS
    saved = factory.db.scalars(select(ExamSession.answers)).all()
    assert saved == [{"0": 1}] * WRITERS
