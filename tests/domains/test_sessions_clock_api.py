"""The exam clock over the API, on SQLite and PostgreSQL: a proctor's pause moves the deadline,
a candidate paused past the deadline is not ended until time runs out after resuming, and a
proctor gives extra minutes (audited, within their scope, only to an exam under way).

Waiting is simulated by moving the stored instants back (the pause began 10 s ago, the exam
started 70 minutes ago), as the clock would find them after that long."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openproctor.background import end_session_row
from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions.clock import SUBMIT_GRACE
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role, User
from tests.conftest import Factory, login
from tests.domains.audit_trail import trail
from tests.live.clients import running_session


def stored(factory: Factory, session: ExamSession) -> ExamSession:
    factory.db.expire_all()
    row = factory.db.get(ExamSession, session.id)
    assert row is not None
    return row


def backdate(factory: Factory, session: ExamSession, **ago: timedelta) -> None:
    """Moves the session's stored instants (started_at, paused_at) that far back."""
    row = stored(factory, session)
    for column, by in ago.items():
        setattr(row, column, getattr(row, column) - by)
    factory.db.commit()


def clock(client: TestClient, session: ExamSession) -> dict[str, Any]:
    response = client.get(f"/api/v1/sessions/{session.id}/clock")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ends_at(client: TestClient, session: ExamSession) -> datetime:
    return datetime.fromisoformat(clock(client, session)["ends_at"])


def act(client: TestClient, session: ExamSession, action: str, **body: Any) -> Any:
    response = client.post(f"/api/v1/sessions/{session.id}/{action}", json=body or None)
    assert response.status_code == 200, response.text
    return response.json()


def save_answer(client: TestClient, candidate: Candidate, session: ExamSession) -> Any:
    path = f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}/answers"
    return client.put(path, json={"answers": {"0": 1}})


@pytest.fixture
def proctor(factory: Factory) -> User:
    return factory.user(Role.PROCTOR)


@pytest.fixture
def ada(factory: Factory, proctor: User) -> Candidate:
    return factory.candidate(factory.exam(), proctor)


def test_a_ten_second_pause_moves_the_deadline_ten_seconds(
    client: TestClient, factory: Factory, proctor: User, ada: Candidate
) -> None:
    session = running_session(factory, ada)
    login(client, proctor)
    before = ends_at(client, session)
    act(client, session, "pause")
    backdate(factory, session, paused_at=timedelta(seconds=10))
    paused = clock(client, session)
    assert paused["paused"] is True
    act(client, session, "resume")
    moved = (ends_at(client, session) - before).total_seconds()
    # By the pause exactly: its 10 s and the moments between the requests.
    assert stored(factory, session).paused_seconds == pytest.approx(moved, abs=0.01)
    assert 10 <= moved < 15
    assert clock(client, session)["paused"] is False


def test_paused_at_the_deadline_is_not_ended_until_time_runs_out_after_resuming(
    client: TestClient, factory: Factory, proctor: User, ada: Candidate, session_factory: Any
) -> None:
    session = running_session(factory, ada)
    login(client, proctor)
    act(client, session, "pause")
    # Started 70 minutes ago, paused 15 minutes ago with 5 minutes left: the hour is long over.
    row = stored(factory, session)
    now = utcnow()
    row.started_at, row.paused_at = now - timedelta(minutes=70), now - timedelta(minutes=15)
    factory.db.commit()
    refused = save_answer(client, ada, session)
    assert refused.status_code == 409  # nothing to save while paused...
    assert stored(factory, session).state is SessionState.PAUSED  # ...and not ended
    # The hub's clock check (every node, every second) does not end it either.
    ended = end_session_row(session_factory, session.id, SessionState.SUBMITTED, "time is up")
    assert ended is None
    assert stored(factory, session).state is SessionState.PAUSED
    view = client.get(f"/api/v1/take/{ada.invite_token}").json()
    assert view["clock"]["paused"] is True
    assert view["clock"]["left_s"] == pytest.approx(5 * 60, abs=1)

    act(client, session, "resume")
    assert clock(client, session)["left_s"] == pytest.approx(5 * 60, abs=1)
    assert save_answer(client, ada, session).status_code == 200
    # Five minutes and the grace to submit later, time is up: the answers are submitted.
    backdate(factory, session, started_at=timedelta(minutes=5) + SUBMIT_GRACE)
    late = save_answer(client, ada, session)
    assert late.status_code == 409
    assert "time is up" in late.json()["detail"]
    row = stored(factory, session)
    assert row.state is SessionState.SUBMITTED
    assert row.end_reason == "time is up: submitted automatically"
    assert row.answers == {"0": 1}


def test_a_proctor_gives_extra_minutes_audited(
    client: TestClient, factory: Factory, proctor: User, ada: Candidate
) -> None:
    session = running_session(factory, ada)
    login(client, proctor)
    before = ends_at(client, session)
    given = act(client, session, "extra-time", minutes=5)
    assert given["extra_s"] == 300
    after = ends_at(client, session)
    assert (datetime.fromisoformat(given["ends_at"]) - before).total_seconds() == (
        pytest.approx(300, abs=1)
    )
    assert after == datetime.fromisoformat(given["ends_at"])
    assert stored(factory, session).extra_seconds == 300
    assert trail(factory.db, session.id)[-1] == (
        "session.extra_time",
        {"minutes": 5, "ends_at": after.isoformat()},
    )
    # Also while paused; it adds up.
    act(client, session, "pause")
    assert act(client, session, "extra-time", minutes=2)["extra_s"] == 420


def test_extra_time_is_refused_outside_scope_and_for_exams_not_under_way(
    client: TestClient, factory: Factory, proctor: User, ada: Candidate
) -> None:
    session = running_session(factory, ada)
    login(client, factory.user(Role.PROCTOR))  # not Ada's proctor
    path = f"/api/v1/sessions/{session.id}/extra-time"
    assert client.post(path, json={"minutes": 5}).status_code == 403
    login(client, proctor)
    # The window closes two hours after the start of an hour's exam: an hour does not fit.
    too_late = client.post(path, json={"minutes": 61})
    assert too_late.status_code == 409
    assert "more minutes fit" in too_late.json()["detail"]
    for bad in ({"minutes": 0}, {"minutes": -5}, {"minutes": "ten"}, {}, {"minutes": 5, "x": 1}):
        assert client.post(path, json=bad).status_code == 422, bad
    assert client.post(path, json={"minutes": 24 * 60 + 1}).status_code == 422
    act(client, session, "terminate", reason="over")
    ended = client.post(path, json={"minutes": 5})
    assert ended.status_code == 409
    assert "not one terminated" in ended.json()["detail"]
    assert stored(factory, session).extra_seconds == 0
    assert [action for action, _ in trail(factory.db, session.id)] == ["session.terminated"]
