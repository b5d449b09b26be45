"""The API's lists a page at a time (pagination.py): a walk through a long list while rows are
added, the filters users asked for, and the answers to a cursor or limit the server refuses."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from fastapi.testclient import TestClient

from openproctor.db import utcnow
from openproctor.domains.audit import service as audit
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.invitations.models import CandidateEmail, EmailKind, EmailStatus
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role, User
from openproctor.domains.violations.models import ReviewStatus, Violation
from openproctor.pagination import NEXT_CURSOR_HEADER
from tests.conftest import Factory
from tests.live.clients import running_session

START = datetime(2026, 11, 30, 9, 0, tzinfo=utcnow().tzinfo)


def add_violation(
    factory: Factory,
    session: ExamSession,
    started_at: datetime,
    kind: ViolationKind = ViolationKind.NO_FACE,
    severity: Severity = Severity.LOW,
    status: ReviewStatus = ReviewStatus.PENDING,
) -> Violation:
    violation = Violation(
        session_id=session.id,
        kind=kind,
        severity=severity,
        review_status=status,
        started_at=started_at,
        details={},
    )
    factory.db.add(violation)
    return violation


def walk(client: TestClient, url: str, between: Callable[[], None] = lambda: None) -> list[str]:
    """Every id of a list, following X-Next-Cursor; `between` runs after each page."""
    ids: list[str] = []
    response = client.get(url)
    while True:
        assert response.status_code == 200, response.text
        ids += [row["id"] for row in response.json()]
        cursor = response.headers.get(NEXT_CURSOR_HEADER)
        if cursor is None:
            assert "link" not in response.headers
            return ids
        link = httpx.URL(response.headers["link"].removeprefix("<").split(">;")[0])
        assert link.params["cursor"] == cursor
        between()
        response = client.get(str(link))


def test_a_long_list_is_walked_without_repeats_or_gaps_while_rows_are_added(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    session = running_session(factory, factory.candidate(factory.exam()))
    # Three violations share each start time: the id settles their order.
    first = [add_violation(factory, session, START + timedelta(seconds=i // 3)) for i in range(250)]
    factory.db.commit()
    added: list[Violation] = []

    def add_more() -> None:
        # One before everything listed, one among it, one after it all.
        for offset in (-60, 40, 600):
            added.append(add_violation(factory, session, START + timedelta(seconds=offset)))
        factory.db.commit()

    login_as(factory.user(Role.ADMIN))
    ids = walk(client, f"/api/v1/exams/{session.exam_id}/violations?limit=40", add_more)

    assert len(ids) == len(set(ids)), "a row was listed twice"
    assert {str(v.id) for v in first} <= set(ids), "a row was skipped"
    assert len(added) == 3 * 6  # 250 rows in pages of 40: seven pages, six gaps between them
    rows = client.get(f"/api/v1/exams/{session.exam_id}/violations?limit=500").json()
    assert len(rows) == 250 + len(added)
    starts = [row["started_at"] for row in rows]
    assert starts == sorted(starts)


def test_violations_filter_by_kind_severity_status_and_start(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    session = running_session(factory, factory.candidate(factory.exam()))
    early = add_violation(factory, session, START)
    faces = add_violation(
        factory, session, START + timedelta(hours=1), ViolationKind.MULTIPLE_FACES
    )
    high = add_violation(factory, session, START + timedelta(hours=2), severity=Severity.HIGH)
    kept = add_violation(
        factory, session, START + timedelta(hours=3), status=ReviewStatus.CONFIRMED
    )
    factory.db.commit()
    login_as(factory.user(Role.REVIEWER))

    def listed(query: str) -> set[str]:
        for url in (f"/api/v1/exams/{session.exam_id}", f"/api/v1/sessions/{session.id}"):
            response = client.get(f"{url}/violations?{query}")
            assert response.status_code == 200, response.text
        return {row["id"] for row in response.json()}

    assert listed("kind=multiple_faces") == {str(faces.id)}
    assert listed("severity=high") == {str(high.id)}
    assert listed("status=confirmed") == {str(kept.id)}
    since = (START + timedelta(hours=2)).isoformat()
    assert listed(f"since={since.replace('+', '%2B')}") == {str(high.id), str(kept.id)}
    assert listed("severity=low&status=pending") == {str(early.id), str(faces.id)}
    assert client.get(f"/api/v1/exams/{session.exam_id}/violations?kind=nap").status_code == 422


def test_sessions_filter_by_state_proctor_and_creation(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    exam = factory.exam()
    ann, bob = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    waiting = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam, ann))
    waiting.created_at = START
    factory.db.commit()
    running = running_session(factory, factory.candidate(exam, bob))
    login_as(factory.user(Role.ADMIN))

    def listed(query: str) -> set[str]:
        response = client.get(f"/api/v1/exams/{exam.id}/sessions?{query}")
        assert response.status_code == 200, response.text
        return {row["id"] for row in response.json()}

    assert listed("") == {str(waiting.id), str(running.id)}
    assert listed("state=running") == {str(running.id)}
    assert listed(f"proctor={ann.id}") == {str(waiting.id)}
    since = (START + timedelta(minutes=1)).isoformat().replace("+", "%2B")
    assert listed(f"since={since}") == {str(running.id)}
    # A date without a zone is ambiguous: refused, not guessed.
    assert client.get(f"/api/v1/exams/{exam.id}/sessions?since=2026-11-30T09:00").status_code == 422


def test_candidates_are_found_by_a_part_of_their_name_email_or_id(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    exam = factory.exam()
    ada = factory.candidate(exam, name="Ada")
    percent = factory.candidate(exam, name="Sure100%")
    factory.candidate(exam, name="Alan")
    login_as(factory.user(Role.ADMIN))

    def found(search: str) -> set[str]:
        response = client.get(f"/api/v1/exams/{exam.id}/candidates", params={"search": search})
        assert response.status_code == 200, response.text
        return {row["id"] for row in response.json()}

    assert found("aDA") == {str(ada.id)}
    assert found(ada.email.split("@")[0][-6:]) == {str(ada.id)}
    assert found("%") == {str(percent.id)}  # a character, not a wildcard
    assert found("a_a") == set()


def test_the_audit_log_filters_by_action_or_family_and_time(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    admin = factory.user(Role.ADMIN)
    target = uuid.uuid4()
    old = audit.record(
        db=factory.db, actor=admin, action="exam.update", target_type="exam", target_id=target
    )
    old.created_at = START
    created = audit.record(
        db=factory.db, actor=admin, action="exam.create", target_type="exam", target_id=target
    )
    audit.record(
        db=factory.db, actor=admin, action="examiner.note", target_type="x", target_id=target
    )
    factory.db.commit()
    login_as(admin)

    def listed(**params: str) -> list[str]:
        response = client.get("/api/v1/audit", params=params)
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json() if row["target_id"] == str(target)]

    assert listed(action="exam.create") == [str(created.id)]
    assert listed(action="exam.") == [str(created.id), str(old.id)]  # newest first
    assert listed(action="exam.", since=(START + timedelta(seconds=1)).isoformat()) == [
        str(created.id)
    ]


def test_a_cursor_or_limit_the_server_did_not_give_is_refused(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    session = running_session(factory, factory.candidate(factory.exam()))
    for second in range(3):
        add_violation(factory, session, START + timedelta(seconds=second))
    factory.db.commit()
    login_as(factory.user(Role.ADMIN))
    violations = f"/api/v1/exams/{session.exam_id}/violations"
    cursor = client.get(f"{violations}?limit=1").headers[NEXT_CURSOR_HEADER]
    other_list = client.get(f"/api/v1/exams/{session.exam_id}/sessions?limit=1")
    factory.candidate(factory.exam())
    exams_cursor = client.get("/api/v1/exams?limit=1").headers[NEXT_CURSOR_HEADER]
    edited = json.loads(base64.urlsafe_b64decode(cursor + "=="))
    edited["k"][0] = "yesterday"
    forged = base64.urlsafe_b64encode(json.dumps(edited).encode()).decode()

    assert other_list.status_code == 200
    for bad in ("nonsense", cursor[:-4], exams_cursor, forged):
        response = client.get(violations, params={"cursor": bad})
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
    for limit in ("0", "501", "many"):
        assert client.get(violations, params={"limit": limit}).status_code == 422
    assert client.get(violations, params={"cursor": cursor}).status_code == 200


def test_emails_filter_by_delivery_status(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    exam = factory.exam()
    candidate = factory.candidate(exam)
    rows = {
        status: CandidateEmail(
            candidate_id=candidate.id,
            exam_id=exam.id,
            kind=EmailKind.INVITATION,
            status=status,
            requested_by="admin@example.com",
        )
        for status in (EmailStatus.QUEUED, EmailStatus.FAILED)
    }
    factory.db.add_all(rows.values())
    factory.db.commit()
    login_as(factory.user(Role.ADMIN))

    response = client.get(f"/api/v1/exams/{exam.id}/emails", params={"status": "failed"})
    assert response.status_code == 200, response.text
    assert [row["id"] for row in response.json()] == [str(rows[EmailStatus.FAILED].id)]
    assert len(client.get(f"/api/v1/exams/{exam.id}/emails").json()) == 2
