"""LTI Proctoring Services 1.0 against a local platform (tests/integrations/lti_platform.py,
a real HTTP server): LtiStartProctoring → our check-in → the signed LtiStartAssessment the
platform verifies against our JWKS → LtiEndAssessment; and one Assessment Control call per
proctor action, with the access token, retried, in order, and the platform's answer
followed."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openproctor import outbound
from openproctor.background import end_session_row
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.lti.access import PlatformServiceError, access_token
from openproctor.domains.lti.keys import tool_key
from openproctor.domains.lti.models import LtiPlatform
from openproctor.domains.lti.proctoring_models import ControlStatus, LtiControlRequest
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.outbound import OutboundPolicy
from openproctor.settings import Settings
from tests.conftest import Factory, login
from tests.integrations.lti_platform import AP, CONTROL_SCOPE, PlatformServices, platform_services
from tests.integrations.receiver import RECEIVER_NETWORK, receiver
from tests.integrations.test_lti import CLAIM, INSTRUCTOR, Platform, error_of
from tests.web.webcam import webcam_jpeg

# The platform listens on loopback: allowed as a deployment allows an internal LMS.
pytestmark = pytest.mark.outbound_allow(RECEIVER_NETWORK)

ACTIONS = ["flag", "pause", "resume", "terminate", "update"]


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def services() -> Iterator[PlatformServices]:
    with platform_services("https://lms.example.edu", "openproctor-tool", "deployment-1") as s:
        yield s


@pytest.fixture
def lms(
    client: TestClient,
    factory: Factory,
    platform_key: rsa.RSAPrivateKey,
    services: PlatformServices,
    settings: Settings,
) -> Iterator[tuple[Platform, Exam]]:
    """The platform registered with its token URL and an exam proctoring its assessment; the
    platform knows the tool's public keys and hears control requests at once."""
    for recorded in (services.token_requests, services.assessments_started, services.refused):
        recorded.clear()
    services.control_calls.clear()
    services.session_data.clear()
    services.answers.clear()
    services.tokens.clear()
    exam = factory.exam(questions=[], external_url=services.url + "/assessment")
    with receiver() as jwks:
        platform = Platform(client, platform_key, jwks, settings.public_url)
        platform.serve_jwks()
        login(client, factory.user(Role.ADMIN))
        registered = client.post(
            "/api/v1/lti/platforms",
            json=platform.registration(
                default_exam_id=str(exam.id), auth_token_url=services.url + "/token"
            ),
        )
        assert registered.status_code == 201, registered.text
        platform.id = registered.json()["id"]
        services.tool_jwks = client.get("/lti/jwks").json()
        context = client.app.state.context  # type: ignore[attr-defined]
        context.lti_control.retry = RetryPolicy(first_s=0.05, jitter=lambda ceiling: ceiling)
        context.hub.webhooks.poll_s = 0.02
        yield platform, exam


def start_proctoring(
    platform: Platform, services: PlatformServices, sub: str = "learner-1", **claims: Any
) -> httpx.Response:
    """An LtiStartProctoring launch of attempt 1, with the Assessment Control service."""
    session_data = f"csrf-{uuid.uuid4().hex}"
    services.session_data[(sub, 1)] = session_data
    token: dict[str, Any] = {
        CLAIM + "message_type": "LtiStartProctoring",
        AP + "attempt_number": 1,
        AP + "start_assessment_url": services.url + "/start-assessment",
        AP + "session_data": session_data,
        AP + "acs": {
            "assessment_control_url": services.url + "/acs",
            "actions": ACTIONS,
        },
        **claims,
    }
    return platform.login_and_launch(sub=sub, **token)


def candidate_of(db: Session, exam: Exam) -> Candidate:
    db.expire_all()
    candidate = db.scalar(select(Candidate).where(Candidate.exam_id == exam.id))
    assert candidate is not None
    return candidate


def hand_back_form(page: httpx.Response) -> tuple[str, str]:
    """The hand-back page's form: where it posts, and the JWT it carries."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    token = re.search(r'name="JWT" value="([^"]+)"', page.text)
    assert action is not None, page.text
    assert token is not None, page.text
    return unescape(action.group(1)), unescape(token.group(1))


@pytest.mark.analysis
def test_start_proctoring_check_in_start_assessment_end_assessment(
    lms: tuple[Platform, Exam], services: PlatformServices, client: TestClient, db: Session
) -> None:
    platform, exam = lms
    launched = start_proctoring(platform, services)
    assert launched.status_code == 303, launched.text
    candidate = candidate_of(db, exam)
    token = candidate.invite_token
    assert launched.headers["location"] == f"/take/{token}"
    assert candidate.external_id == f"lti:{platform.issuer}:learner-1"

    # Our check-in, as the candidate's page drives it: the view says where the exam opens.
    view = client.get(f"/api/v1/take/{token}").json()
    assert view["lti_assessment_url"] == f"/lti/assessment/{token}"
    session_id = view["session"]["id"]
    early = client.get(f"/lti/assessment/{token}")
    assert early.status_code == 409
    assert "finish the check-in" in error_of(early)
    steps = f"/api/v1/take/{token}/sessions/{session_id}"
    consent = view["consent"]["sha256"]
    checking = client.post(f"{steps}/state", json={"state": "checking", "consent_sha256": consent})
    assert checking.status_code == 200, checking.text
    probe = client.post(f"/api/v1/take/{token}/bandwidth", content=b"x" * 50_000)
    assert probe.json() == {"bytes": 50_000}
    enrolled = client.post(
        f"{steps}/enrol",
        content=webcam_jpeg("id_obama_2.jpg"),
        headers={"Content-Type": "image/jpeg"},
    )
    assert enrolled.json()["state"] == "enrolled", enrolled.text
    running = client.post(f"{steps}/state", json={"state": "running"})
    assert running.json()["state"] == "running", running.text

    # The hand-back: a form posting the signed LtiStartAssessment to the platform, allowed by
    # the page's own CSP; the platform verifies it against our JWKS and its session_data.
    page = client.get(f"/lti/assessment/{token}")
    assert page.status_code == 200, page.text
    assert f"form-action 'self' {services.url};" in page.headers["content-security-policy"]
    assert '<script type="module" src="/static/js/lti/handback.js">' in page.text
    url, jwt_token = hand_back_form(page)
    assert url == services.url + "/start-assessment"
    assessment = httpx.post(url, data={"JWT": jwt_token})
    assert assessment.status_code == 200, (assessment.text, services.refused)
    (claims,) = services.assessments_started
    assert claims["iss"] == platform.client_id
    assert claims["aud"] == platform.issuer
    assert claims[AP + "session_data"] == services.session_data[("learner-1", 1)]
    assert claims[AP + "attempt_number"] == 1
    assert claims[AP + "end_assessment_return"] is True
    assert claims[CLAIM + "resource_link"] == {"id": "link-1"}
    assert claims[CLAIM + "deployment_id"] == "deployment-1"
    # A JWT with the session_data of another launch is refused by the platform.
    services.session_data[("learner-1", 1)] = "csrf-of-a-later-launch"
    assert httpx.post(url, data={"JWT": jwt_token}).status_code == 400

    ended = platform.login_and_launch(
        sub="learner-1",
        **{CLAIM + "message_type": "LtiEndAssessment", AP + "attempt_number": 1},
    )
    assert ended.status_code == 200, ended.text
    assert 'data-testid="lti-ended"' in ended.text
    assert "Your proctored session has ended" in ended.text
    db.expire_all()
    session = db.get(ExamSession, uuid.UUID(session_id))
    assert session is not None
    assert session.state is SessionState.SUBMITTED
    assert session.end_reason == "the assessment was submitted on the course site"
    assert "has ended" in error_of(client.get(f"/lti/assessment/{token}"))
    actions = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.startswith("lti."), AuditEntry.target_type == "session")
        .order_by(AuditEntry.created_at)
    ).all()
    assert actions == ["lti.start_proctoring", "lti.start_assessment", "lti.end_assessment"]
    # No proctor acted: the platform heard nothing on its control service.
    assert services.control_calls == []


def test_proctoring_launches_that_do_not_fit_are_refused(
    lms: tuple[Platform, Exam], services: PlatformServices, db: Session
) -> None:
    platform, exam = lms
    no_url = start_proctoring(platform, services, **{AP + "start_assessment_url": None})
    assert "no start_assessment_url" in error_of(no_url)
    no_attempt = start_proctoring(platform, services, **{AP + "attempt_number": None})
    assert "no attempt_number" in error_of(no_attempt)
    teacher = start_proctoring(platform, services, roles=[INSTRUCTOR])
    assert teacher.status_code == 403
    assert "for learners" in error_of(teacher)
    unknown = platform.login_and_launch(
        **{CLAIM + "message_type": "LtiEndAssessment", AP + "attempt_number": 3}
    )
    assert unknown.status_code == 404
    assert "attempt 3 of this activity was not proctored here" in error_of(unknown)
    assert db.scalars(select(Candidate).where(Candidate.exam_id == exam.id)).all() == []


def wait_until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_each_proctor_action_is_one_assessment_control_call(
    lms: tuple[Platform, Exam], services: PlatformServices, client: TestClient, db: Session
) -> None:
    platform, exam = lms
    assert start_proctoring(platform, services).status_code == 303
    candidate = candidate_of(db, exam)
    session = sessions.current_for_candidate(db=db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    violation = Violation(
        session_id=session.id,
        kind=ViolationKind.PROHIBITED_OBJECT,
        label="cell phone",
        severity=Severity.HIGH,
        started_at=datetime(2026, 11, 30, 9, 15, 4, tzinfo=UTC),
    )
    db.add(violation)
    db.commit()
    # The first call meets a platform that is down for a moment: retried, nothing lost, and
    # the resume behind it waits its turn. A flag makes this platform pause its assessment,
    # and our session follows.
    services.control_failures[:] = [503]
    services.answers.update(pause="paused", flag="paused", terminate="terminated")
    api = f"/api/v1/sessions/{session.id}"
    assert client.post(f"{api}/pause").status_code == 200
    assert client.post(f"{api}/resume").status_code == 200
    assert client.post(f"{api}/extra-time", json={"minutes": 10}).status_code == 200
    verdict = {"status": "confirmed", "note": "phone on the desk"}
    assert client.put(f"/api/v1/violations/{violation.id}/review", json=verdict).status_code == 200
    calls = services.wait_for_control(5)

    def followed() -> bool:
        db.expire_all()
        return db.get(ExamSession, session.id).state is SessionState.PAUSED  # type: ignore[union-attr]

    wait_until(followed)
    assert client.post(f"{api}/resume").status_code == 200
    ended = client.post(f"{api}/terminate", json={"reason": "a second person in the room"})
    assert ended.status_code == 200
    calls = services.wait_for_control(7)

    assert [call.body["action"] for call in calls] == [
        "pause",
        "pause",
        "resume",
        "update",
        "flag",
        "resume",
        "terminate",
    ]
    issued = {token for token, scope in services.tokens.items() if scope == CONTROL_SCOPE}
    assert len(issued) == 1  # one token, cached for every call
    assert {call.authorization for call in calls} == {f"Bearer {issued.pop()}"}
    assert {call.content_type for call in calls} == {"application/vnd.ims.lti-ap.v1.control+json"}
    user = {"iss": platform.issuer, "sub": "learner-1"}
    for call in calls:
        assert call.body["user"] == user
        assert call.body["resource_link"] == {"id": "link-1"}
        assert call.body["attempt_number"] == 1
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", call.body["incident_time"])
        assert 0 <= call.body["incident_severity"] <= 1
    pause, _, resume, update, flag, _, terminate = (call.body for call in calls)
    assert pause["reason_msg"] == "paused by the proctor"
    assert pause["incident_severity"] == 0.5
    assert resume["reason_msg"] == "resumed by the proctor"
    assert update["extra_time"] == 600
    assert "extra_time" not in pause
    assert flag["reason_code"] == "prohibited_object"
    assert flag["reason_msg"] == "confirmed violation: cell phone: phone on the desk"
    assert flag["incident_severity"] == 0.9
    assert flag["incident_time"] == "2026-11-30T09:15:04Z"
    assert terminate["reason_msg"] == "a second person in the room"
    assert terminate["incident_severity"] == 1.0

    def all_sent() -> bool:
        db.expire_all()
        rows = db.scalars(select(LtiControlRequest)).all()
        return len(rows) == 6 and all(row.status is ControlStatus.SENT for row in rows)

    wait_until(all_sent)
    rows = db.scalars(select(LtiControlRequest).order_by(LtiControlRequest.created_at)).all()
    assert [row.answer for row in rows] == [
        "paused",
        "running",
        "running",
        "paused",
        "running",
        "terminated",
    ]
    assert (rows[0].attempts, rows[0].last_error) == (2, None)
    follows = db.scalars(select(AuditEntry).where(AuditEntry.action == "lti.control.answer")).all()
    assert [entry.details["action"] for entry in follows] == ["flag"]


def test_sessions_no_platform_started_send_nothing(
    lms: tuple[Platform, Exam],
    services: PlatformServices,
    client: TestClient,
    factory: Factory,
    db: Session,
) -> None:
    _, exam = lms
    session = sessions.current_for_candidate(db=db, candidate=factory.candidate(exam))
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    db.commit()
    assert client.post(f"/api/v1/sessions/{session.id}/pause").status_code == 200
    assert db.scalars(select(LtiControlRequest)).all() == []
    candidate = db.get(Candidate, session.candidate_id)
    assert candidate is not None
    assert client.get(f"/api/v1/take/{candidate.invite_token}").json()["lti_assessment_url"] is None
    assert services.control_calls == []


def test_a_control_request_the_platform_refuses_fails_for_good_and_is_audited(
    lms: tuple[Platform, Exam], services: PlatformServices, client: TestClient, db: Session
) -> None:
    """A 404 cannot change on a retry: the request fails at once, admins see why in the audit
    log, and the proctor's next action still goes out."""
    platform, exam = lms
    assert start_proctoring(platform, services).status_code == 303
    session = sessions.current_for_candidate(db=db, candidate=candidate_of(db, exam))
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    db.commit()
    services.control_failures[:] = [404]
    assert client.post(f"/api/v1/sessions/{session.id}/pause").status_code == 200
    assert client.post(f"/api/v1/sessions/{session.id}/resume").status_code == 200
    calls = services.wait_for_control(2)
    assert [call.body["action"] for call in calls] == ["pause", "resume"]

    def settled() -> bool:
        db.expire_all()
        rows = db.scalars(select(LtiControlRequest)).all()
        return all(row.status is not ControlStatus.PENDING for row in rows)

    wait_until(settled)
    rows = db.scalars(select(LtiControlRequest).order_by(LtiControlRequest.created_at)).all()
    assert [(row.status, row.attempts, row.last_error) for row in rows] == [
        (ControlStatus.FAILED, 1, "HTTP 404"),
        (ControlStatus.SENT, 1, None),
    ]
    failed = db.scalars(select(AuditEntry).where(AuditEntry.action == "lti.control.failed")).all()
    assert [(entry.target_id, entry.details["action"]) for entry in failed] == [
        (str(session.id), "pause")
    ]


def test_a_new_attempt_gets_a_new_session_once_the_last_one_ended(
    lms: tuple[Platform, Exam], services: PlatformServices, client: TestClient, db: Session
) -> None:
    platform, exam = lms
    end = {CLAIM + "message_type": "LtiEndAssessment", AP + "attempt_number": 1}
    assert start_proctoring(platform, services).status_code == 303
    token = candidate_of(db, exam).invite_token
    first = client.get(f"/api/v1/take/{token}").json()["session"]
    # Ended before the learner got to the exam: terminated, not submitted.
    assert platform.login_and_launch(**end).status_code == 200
    db.expire_all()
    ended = db.get(ExamSession, uuid.UUID(first["id"]))
    assert ended is not None
    assert (ended.state, ended.end_reason) == (
        SessionState.TERMINATED,
        "the assessment ended on the course site before the proctored exam began",
    )

    second = start_proctoring(platform, services, **{AP + "attempt_number": 2})
    assert second.status_code == 303, second.text
    view = client.get(f"/api/v1/take/{token}").json()
    assert view["session"]["attempt"] == 2
    assert view["session"]["state"] == "invited"
    assert view["lti_assessment_url"] == f"/lti/assessment/{token}"
    third = start_proctoring(platform, services, **{AP + "attempt_number": 3})
    assert third.status_code == 409
    assert "attempt 2 is still being proctored" in error_of(third)


def test_an_automatic_termination_stops_the_platform_assessment_too(
    lms: tuple[Platform, Exam],
    services: PlatformServices,
    db: Session,
    session_factory: sessionmaker[Session],
) -> None:
    """The live layer's auto-termination ends our proctoring: the platform hears terminate
    (our clock running out does not speak for the platform's own timer)."""
    platform, exam = lms
    assert start_proctoring(platform, services).status_code == 303
    session = sessions.current_for_candidate(db=db, candidate=candidate_of(db, exam))
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    db.commit()
    reason = "ended automatically: a phone was seen for 30 seconds"
    assert end_session_row(session_factory, session.id, SessionState.TERMINATED, reason) == (
        SessionState.TERMINATED,
        None,
    )
    (call,) = services.wait_for_control(1)
    assert call.body["action"] == "terminate"
    assert (call.body["reason_code"], call.body["reason_msg"]) == ("auto_terminated", reason)


def test_access_tokens_are_refused_with_the_reason(
    lms: tuple[Platform, Exam], services: PlatformServices, db: Session, settings: Settings
) -> None:
    platform, _ = lms
    row = db.get(LtiPlatform, uuid.UUID(platform.id))
    assert row is not None
    key = tool_key(db=db)
    allowed = settings.outbound_policy

    def token_for(scope: str, policy: OutboundPolicy = allowed) -> str:
        with outbound.client(5) as http:
            return access_token(row, [scope], signing_key=key, client=http, outbound_policy=policy)

    first = token_for(CONTROL_SCOPE)
    assert token_for(CONTROL_SCOPE) == first  # cached
    assert services.tokens[first] == CONTROL_SCOPE
    assert services.token_requests[-1]["grant_type"] == "client_credentials"
    with pytest.raises(PlatformServiceError, match="refused: loopback address"):
        token_for("another-scope", OutboundPolicy())
    services.tool_jwks = {"keys": [{**services.tool_jwks["keys"][0], "kid": "not-ours"}]}
    with pytest.raises(PlatformServiceError, match="answered HTTP 401"):
        token_for("another-scope")
    row.auth_token_url = None
    with pytest.raises(PlatformServiceError, match="has no token URL"):
        token_for("a-third-scope")
