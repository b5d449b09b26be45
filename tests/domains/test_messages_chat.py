"""Chat both ways over REST: a candidate's messages and hand (by invite token, with a length
cap, a rate limit and refusals), a proctor's answer lowering the hand, reading, and a
broadcast to the exam; what each pushes on the bus, and what the live runtime keeps for the
tile. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.bus.local import exam_topic, session_topic
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.messages.models import Conversation, Message, MessageKind, Sender
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role, User
from openproctor.live.runtime import SessionRuntime
from tests.conftest import Factory, login, logout
from tests.domains.listening import listening
from tests.domains.test_sessions_flows import hub_of
from tests.live.clients import running_session


def conversation(message: dict[str, Any]) -> bool:
    """A message of the wall's conversation (the wall's topic also carries tile refreshes)."""
    return bool(message["type"] == "conversation")


def _take(client: TestClient, candidate: Candidate, session: ExamSession) -> str:
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    return f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}"


def _write(client: TestClient, base: str, body: str) -> Any:
    return client.post(f"{base}/messages", json={"body": body})


def _rows(factory: Factory, session: ExamSession) -> list[tuple[Sender, MessageKind, str]]:
    factory.db.expire_all()
    query = select(Message).where(Message.session_id == session.id).order_by(Message.created_at)
    return [(m.sender, m.kind, m.body) for m in factory.db.scalars(query)]


def _runtime(client: TestClient, session: ExamSession) -> SessionRuntime:
    """The session's live runtime on the app's node, read from the database like a
    candidate's socket would."""
    assert client.portal is not None
    runtime: SessionRuntime = client.portal.call(hub_of(client).runtime_for, session.id)
    return runtime


def _settle(client: TestClient) -> None:
    """Lets the hub's listener apply what is on the bus (the flows publish from this thread)."""
    assert client.portal is not None
    client.portal.call(asyncio.sleep, 0.1)


def test_a_candidate_writes_the_wall_hears_it_with_the_unread_count_and_reading_clears_it(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor)
    session = running_session(factory, candidate)
    runtime = _runtime(client, session)
    base = _take(client, candidate, session)
    with (
        listening(client, exam_topic(exam.id)) as wall,
        listening(client, session_topic(session.id)) as page,
    ):
        written = _write(client, base, "  May I use scratch paper?  ")
        assert written.status_code == 201, written.text
        assert (written.json()["sender"], written.json()["body"]) == (
            "candidate",
            "May I use scratch paper?",
        )
        heard = wall.next_matching(conversation)
        assert heard["session_id"] == str(session.id)
        assert heard["proctor_id"] == str(proctor.id)
        assert (heard["unread"], heard["hand_raised"]) == (1, False)
        assert heard["message"]["body"] == "May I use scratch paper?"
        assert page.next()["sender"] == "candidate"  # the candidate's other tabs
        assert _write(client, base, "Thanks").status_code == 201
        assert wall.next_matching(conversation)["unread"] == 2
        _settle(client)
        assert runtime.summary().unread == 2

        login(client, proctor)
        read = client.post(f"/api/v1/sessions/{session.id}/messages/read")
        assert read.status_code == 204, read.text
        cleared = wall.next_matching(conversation)
        assert (cleared["message"], cleared["unread"]) == (None, 0)
    _settle(client)
    assert runtime.summary().unread == 0
    # A runtime read afresh (another node, a restart) starts from the database.
    hub_of(client).registry.forget(runtime)
    assert _runtime(client, session).conversation == Conversation(0, False)


def test_a_raised_hand_shows_on_the_wall_and_the_proctors_answer_lowers_it(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor)
    session = running_session(factory, candidate)
    base = _take(client, candidate, session)
    with (
        listening(client, exam_topic(exam.id)) as wall,
        listening(client, session_topic(session.id)) as page,
    ):
        assert client.post(f"{base}/hand", json={"raised": True}).json() == {"raised": True}
        assert wall.next_matching(conversation)["hand_raised"] is True
        assert page.next()["kind"] == "hand_raised"
        # Raising it again records nothing and tells no one.
        assert client.post(f"{base}/hand", json={"raised": True}).status_code == 200
        wall.assert_silent(conversation)
        runtime = _runtime(client, session)
        assert runtime.summary().hand_raised is True

        login(client, proctor)
        answer = client.post(f"/api/v1/sessions/{session.id}/messages", json={"body": "Yes"})
        assert answer.status_code == 201, answer.text
        told = [page.next(), page.next()]
        assert [(m["sender"], m["kind"]) for m in told] == [
            ("proctor", "message"),
            ("proctor", "hand_lowered"),
        ]
        walls = [wall.next_matching(conversation), wall.next_matching(conversation)]
        assert [m["message"]["kind"] for m in walls] == ["message", "hand_lowered"]
        assert walls[-1]["hand_raised"] is False
        _settle(client)
        assert runtime.summary().hand_raised is False
    assert _rows(factory, session) == [
        (Sender.CANDIDATE, MessageKind.HAND_RAISED, "Raised their hand"),
        (Sender.PROCTOR, MessageKind.MESSAGE, "Yes"),
        (Sender.PROCTOR, MessageKind.HAND_LOWERED, "Hand lowered: the proctor answered"),
    ]
    # The candidate lowers it themselves too.
    logout(client)
    client.post(f"{base}/hand", json={"raised": True})
    client.post(f"{base}/hand", json={"raised": False})
    assert [kind for _, kind, _ in _rows(factory, session)][-2:] == [
        MessageKind.HAND_RAISED,
        MessageKind.HAND_LOWERED,
    ]


def test_candidate_messages_are_refused_when_too_long_empty_too_fast_or_not_theirs(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    candidate = factory.candidate(exam)
    session = running_session(factory, candidate)
    base = _take(client, candidate, session)
    limit = client.app.state.context.settings.chat_max_chars  # type: ignore[attr-defined]
    too_long = _write(client, base, "x" * (limit + 1))
    assert too_long.status_code == 422
    assert too_long.json()["detail"] == f"a message may have at most {limit} characters"
    assert _write(client, base, "x" * limit).status_code == 201
    assert _write(client, base, "   ").json()["detail"] == "write a message first"
    per_minute = client.app.state.context.settings.chat_messages_per_minute  # type: ignore[attr-defined]
    for n in range(per_minute - 1):
        assert _write(client, base, f"message {n}").status_code == 201
    too_fast = client.post(f"{base}/hand", json={"raised": True})  # hands count too
    assert too_fast.status_code == 429
    assert "please wait a moment" in too_fast.json()["detail"]
    assert len(_rows(factory, session)) == per_minute

    # Another candidate's token cannot write into this session.
    other = factory.candidate(exam, name="Cy")
    intruder = f"/api/v1/take/{other.invite_token}/sessions/{session.id}"
    refused = _write(client, intruder, "hi")
    assert (refused.status_code, refused.json()["detail"]) == (403, "this session is not yours")
    assert len(_rows(factory, session)) == per_minute


def test_nothing_is_written_once_the_session_ended(client: TestClient, factory: Factory) -> None:
    proctor = factory.user(Role.PROCTOR)
    candidate = factory.candidate(factory.exam(), proctor)
    session = running_session(factory, candidate)
    login(client, proctor)
    ended = client.post(f"/api/v1/sessions/{session.id}/terminate", json={"reason": "phone"})
    assert ended.status_code == 200, ended.text
    logout(client)
    base = _take(client, candidate, session)
    refused = _write(client, base, "wait, why?")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "this exam session is terminated: messages can no longer be sent"
    )
    assert client.post(f"{base}/hand", json={"raised": True}).status_code == 409
    assert _rows(factory, session) == []


def test_a_proctor_cannot_send_a_hand_or_broadcast_kind_to_one_candidate(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    login(client, proctor)
    for kind in ("hand_raised", "broadcast"):
        response = client.post(
            f"/api/v1/sessions/{session.id}/messages", json={"body": "x", "kind": kind}
        )
        assert response.status_code == 422
    assert _rows(factory, session) == []


def _in_room(factory: Factory, exam_candidates: list[Candidate]) -> list[ExamSession]:
    return [running_session(factory, candidate) for candidate in exam_candidates]


def _broadcast(client: TestClient, user: User, exam_id: uuid.UUID, body: str) -> Any:
    login(client, user)
    return client.post(f"/api/v1/exams/{exam_id}/messages", json={"body": body})


def test_a_broadcast_reaches_the_proctors_candidates_or_an_admins_all_one_row_each(
    client: TestClient, factory: Factory
) -> None:
    mine, theirs = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    admin = factory.user(Role.ADMIN)
    exam = factory.exam()
    ada, bo = _in_room(
        factory, [factory.candidate(exam, mine, "Ada"), factory.candidate(exam, mine, "Bo")]
    )
    [cy] = _in_room(factory, [factory.candidate(exam, theirs, "Cy")])
    not_started = sessions.current_for_candidate(
        db=factory.db, candidate=factory.candidate(exam, mine, "Di")
    )
    factory.db.commit()
    with (
        listening(client, session_topic(ada.id)) as ada_page,
        listening(client, session_topic(bo.id)) as bo_page,
        listening(client, session_topic(cy.id)) as cy_page,
    ):
        sent = _broadcast(client, mine, exam.id, "Ten minutes left")
        assert (sent.status_code, sent.json()) == (201, {"candidates": 2})
        for page in (ada_page, bo_page):
            told = page.next()
            assert (told["kind"], told["body"]) == ("broadcast", "Ten minutes left")
        cy_page.assert_silent()
        assert _broadcast(client, admin, exam.id, "Five minutes left").json() == {"candidates": 3}
        assert cy_page.next()["body"] == "Five minutes left"
    for session in (ada, bo):
        assert [body for _, _, body in _rows(factory, session)] == [
            "Ten minutes left",
            "Five minutes left",
        ]
    assert _rows(factory, not_started) == []
    audited = factory.db.scalars(
        select(AuditEntry.details)
        .where(AuditEntry.action == "exam.broadcast")
        .order_by(AuditEntry.created_at)
    ).all()
    assert audited == [
        {"body": "Ten minutes left", "candidates": 2},
        {"body": "Five minutes left", "candidates": 3},
    ]
    blank = _broadcast(client, admin, exam.id, "   ")
    assert (blank.status_code, blank.json()["detail"]) == (422, "write a message first")
    # A proctor with no candidates in this exam may not broadcast to it.
    stranger = factory.user(Role.PROCTOR)
    assert _broadcast(client, stranger, exam.id, "hello").status_code == 403
