"""LTI Advantage services against a local platform (tests/integrations/lms_services.py, built
on the third-party lti1p3platform): access tokens, grades (AGS) and the roster (NRPS)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openproctor import outbound
from openproctor.db import utcnow
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import access, grades, keys
from openproctor.domains.lti.access import PlatformServiceError, access_token
from openproctor.domains.lti.advantage_models import GradePostStatus, LtiGradePost
from openproctor.domains.lti.models import LtiPlatform
from openproctor.domains.lti.passback import GradePassback
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import Decision
from openproctor.domains.users.models import Role
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.settings import Settings
from tests.conftest import Factory, login
from tests.domains.test_sessions_answers_api import answers_path
from tests.integrations.lms_services import (
    INSTRUCTOR,
    TIMESTAMP,
    LmsServices,
    lms_services,
    member,
)
from tests.integrations.receiver import RECEIVER_NETWORK, receiver
from tests.integrations.test_lti import Platform
from tests.live.clients import running_session

# The platform's services run on loopback: allowed as a deployment allows an internal LMS.
pytestmark = pytest.mark.outbound_allow(RECEIVER_NETWORK)


@pytest.fixture(scope="module")
def lms_module() -> Iterator[LmsServices]:
    with lms_services() as services:
        yield services


@pytest.fixture
def lms(lms_module: LmsServices) -> LmsServices:
    lms_module.reset()
    access.TOKENS.entries.clear()
    return lms_module


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def course(
    client: TestClient,
    factory: Factory,
    signing_key: rsa.RSAPrivateKey,
    lms: LmsServices,
    settings: Settings,
) -> Iterator[tuple[Platform, Exam]]:
    """A platform registered with its token URL; the LMS knows the tool's JWKS as served."""
    exam = factory.exam(title="Algebra midterm")
    with receiver() as jwks_server:
        platform = Platform(client, signing_key, jwks_server, settings.public_url)
        platform.serve_jwks()
        login(client, factory.user(Role.ADMIN))
        response = client.post(
            "/api/v1/lti/platforms",
            json=platform.registration(default_exam_id=str(exam.id), auth_token_url=lms.token_url),
        )
        assert response.status_code == 201, response.text
        platform.id = response.json()["id"]
        lms.tool_jwks = client.get("/lti/jwks").json()
        client.cookies.clear()
        client.headers.pop("X-CSRF-Token")
        yield platform, exam


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """For what the app's own delivery thread does (it starts at once when woken)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def learner_of(db: Session, exam: Exam, subject: str) -> Candidate:
    db.expire_all()
    candidate = db.scalar(
        select(Candidate).where(
            Candidate.exam_id == exam.id, Candidate.external_id.endswith(f":{subject}")
        )
    )
    assert candidate is not None
    return candidate


def test_a_submitted_attempt_posts_its_score_to_a_line_item_made_for_the_exam(
    course: tuple[Platform, Exam], lms: LmsServices, client: TestClient, factory: Factory
) -> None:
    platform, exam = course
    launched = platform.login_and_launch(sub="learner-1", **lms.launch_claims())
    assert launched.status_code == 303, launched.text
    candidate = learner_of(factory.db, exam, "learner-1")
    session = running_session(factory, candidate)

    submitted = client.post(
        f"{answers_path(client, candidate, session)}/submit", json={"answers": {"0": 1}}
    )
    assert submitted.status_code == 200, submitted.text
    wait_until(lambda: len(lms.scores) == 1)

    assert lms.refusals == []
    assert list(lms.lineitems.values()) == [
        {
            "id": f"{lms.lineitems_url}/1",
            "label": "Algebra midterm",
            "scoreMaximum": 1.0,
            "resourceLinkId": "link-1",
            "tag": "openproctor",
        }
    ]
    lineitem, score = lms.scores[0]
    assert lineitem == f"{lms.lineitems_url}/1"
    assert score == {
        "userId": "learner-1",
        "scoreGiven": 1.0,
        "scoreMaximum": 1.0,
        "activityProgress": "Submitted",
        "gradingProgress": "FullyGraded",
        "timestamp": score["timestamp"],
    }
    assert TIMESTAMP.match(score["timestamp"])
    assert score["timestamp"].endswith("+00:00")
    # The tool asked for tokens with a signed assertion the library checked against /lti/jwks.
    assert lms.assertions
    assert {a["aud"] for a in lms.assertions} == {lms.token_url}

    login(client, factory.user(Role.ADMIN))
    status = client.get(f"/api/v1/exams/{exam.id}/grade-sync").json()
    assert status["linked"] is True
    assert (status["pending"], status["failed"], status["last_error"]) == (0, 0, None)
    assert status["last_delivered_at"] is not None


def test_a_score_sent_while_the_platform_is_down_arrives_when_it_is_back(
    course: tuple[Platform, Exam],
    lms: LmsServices,
    client: TestClient,
    factory: Factory,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    platform, exam = course
    lineitem = f"{lms.lineitems_url}/7"
    lms.lineitems[lineitem] = {"id": lineitem, "label": "Midterm", "scoreMaximum": 1}
    platform.login_and_launch(sub="learner-2", **lms.launch_claims(lineitem=lineitem))
    candidate = learner_of(factory.db, exam, "learner-2")
    session = running_session(factory, candidate)
    sessions.submit(session=session, exam=exam, answers={"0": 0})  # wrong: scores 0
    factory.db.commit()

    now = [utcnow() + timedelta(hours=1)]  # ahead of the app's own delivery thread

    def passback() -> GradePassback:
        """A new one each time: as after a restart, only the outbox rows carry over."""
        return GradePassback(
            session_factory,
            outbound_policy=settings.outbound_policy,
            retry=RetryPolicy(jitter=lambda ceiling: ceiling),
            clock=lambda: now[0],
        )

    first = passback()
    deliverer = WebhookDeliverer(
        session_factory, outbound_policy=settings.outbound_policy, outboxes=[first]
    )
    lms.down = True
    deliverer.session_changed(session.id)
    deliverer.persist_queued()
    with outbound.client(5.0) as http:
        first.deliver_due(http)
        with session_factory() as db:
            post = db.scalars(select(LtiGradePost)).one()
            assert (post.status, post.attempts) == (GradePostStatus.PENDING, 1)
            assert post.last_error is not None
            assert "HTTP 503" in post.last_error
            assert post.next_attempt_at == now[0] + timedelta(seconds=30)
        login(client, factory.user(Role.ADMIN))
        status = client.get(f"/api/v1/exams/{exam.id}/grade-sync").json()
        assert status["pending"] == 1
        assert "HTTP 503" in status["last_error"]
        assert lms.scores == []

        lms.down = False
        now[0] += timedelta(seconds=29)
        second = passback()
        second.deliver_due(http)
        assert lms.scores == []  # not due yet
        now[0] += timedelta(seconds=1)
        second.deliver_due(http)

    assert lms.refusals == []
    assert len(lms.lineitems) == 1  # the launch's own line item: none made
    assert lms.scores == [
        (
            lineitem,
            {
                "userId": "learner-2",
                "scoreGiven": 0.0,
                "scoreMaximum": 1.0,
                "activityProgress": "Submitted",
                "gradingProgress": "FullyGraded",
                "timestamp": lms.scores[0][1]["timestamp"],
            },
        )
    ]
    status = client.get(f"/api/v1/exams/{exam.id}/grade-sync").json()
    assert (status["pending"], status["last_error"]) == (0, None)

    # A reviewer's decision goes out too (the app's delivery thread sends it).
    decided = client.put(f"/api/v1/sessions/{session.id}/decision", json={"decision": "cheating"})
    assert decided.status_code == 200, decided.text
    wait_until(lambda: len(lms.scores) == 2)
    _, withheld = lms.scores[1]
    assert withheld == {
        "userId": "learner-2",
        "activityProgress": "Submitted",
        "gradingProgress": "PendingManual",
        "comment": grades.DECISION_COMMENTS[Decision.CHEATING],
        "timestamp": withheld["timestamp"],
    }
    assert datetime.fromisoformat(withheld["timestamp"]) > datetime.fromisoformat(
        lms.scores[0][1]["timestamp"]
    )


def test_access_tokens_are_cached_and_refusals_say_why(
    lms: LmsServices, db: Session, settings: Settings
) -> None:
    key = keys.tool_key(db=db)
    db.commit()
    lms.tool_jwks = keys.public_jwks([key])
    platform = LtiPlatform(
        id=uuid.uuid4(), name="Moodle", client_id=lms.client_id, auth_token_url=lms.token_url
    )
    scopes = ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]
    policy = settings.outbound_policy

    def token(**changes: Any) -> str:
        for name, value in changes.items():
            setattr(platform, name, value)
        with outbound.client(5.0) as http:
            return access_token(
                platform, scopes, signing_key=key, client=http, outbound_policy=policy
            )

    first = token()
    assert token() == first
    assert len(lms.tokens) == 1
    assert lms.tokens == [scopes[0]]
    access.TOKENS.clock = lambda: time.monotonic() + 3600 - 59  # a minute before it expires
    try:
        token()
        assert len(lms.tokens) == 2
    finally:
        access.TOKENS.clock = time.monotonic

    access.TOKENS.entries.clear()
    with pytest.raises(PlatformServiceError, match="answered HTTP 400: check the tool's client"):
        token(client_id="someone-else")
    assert "iss is 'someone-else'" in lms.refusals[-1]
    with pytest.raises(PlatformServiceError, match="has no token URL"):
        token(client_id=lms.client_id, auth_token_url=None)
    policy = outbound.OutboundPolicy()  # the default: public addresses only
    with pytest.raises(PlatformServiceError, match="refused: loopback address"):
        token(auth_token_url=lms.token_url)


def test_the_course_roster_syncs_into_the_candidates_after_a_dry_run(
    course: tuple[Platform, Exam], lms: LmsServices, client: TestClient, factory: Factory
) -> None:
    platform, exam = course
    walk_in = platform.login_and_launch(
        sub="walk-in", name="Wal King", email="walk@uni.example.edu"
    )
    assert walk_in.status_code == 303
    launched = platform.login_and_launch(sub="teacher-1", roles=[INSTRUCTOR], **lms.launch_claims())
    assert launched.status_code in (200, 303), launched.text
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    lms.members = [
        member("s1", "Ada Lovelace", "ada@uni.example.edu"),
        member("s2", "Bob Stone", "bob@uni.example.edu"),
        member("t1", "Tess Teacher", "tess@uni.example.edu", roles=[INSTRUCTOR]),
        member("s3", "Cy Young", "cy@uni.example.edu"),
        member("s4", "Dee Gone", "dee@uni.example.edu", status="Inactive"),
    ]
    path = f"/api/v1/exams/{exam.id}/roster-sync"

    def names(document: dict[str, Any], part: str) -> list[str]:
        return [change["name"] for change in document[part]]

    dry = client.post(path, params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    assert names(dry.json(), "added") == ["Ada Lovelace", "Bob Stone", "Cy Young"]
    assert (dry.json()["removed"], dry.json()["updated"]) == ([], [])
    # Every page was read (two members a page, Link: rel="next").
    assert lms.requests.count("GET /course-1/memberships") == 3
    factory.db.expire_all()
    roster = factory.db.scalars(select(Candidate).where(Candidate.exam_id == exam.id)).all()
    assert [c.external_id for c in roster] == [f"lti:{platform.issuer}:walk-in"]

    applied = client.post(path, params={"dry_run": "false"})
    assert applied.status_code == 200, applied.text
    assert names(applied.json(), "added") == names(dry.json(), "added")
    ada = learner_of(factory.db, exam, "s1")
    assert (ada.name, ada.email) == ("Ada Lovelace", "ada@uni.example.edu")
    running_session(factory, ada)  # Ada starts the exam

    lms.members = [
        member("s1", "Ada Lovelace", "ada@uni.example.edu", status="Inactive"),
        member("s2", "Bob Stone-Smith", "bob.smith@uni.example.edu"),
    ]
    dry = client.post(path).json()  # a dry run unless told otherwise
    assert names(dry, "updated") == ["Bob Stone-Smith"]
    assert dry["updated"][0]["reason"] == "name was Bob Stone; e-mail was bob@uni.example.edu"
    assert names(dry, "removed") == ["Cy Young"]
    assert [(c["name"], c["reason"]) for c in dry["kept"]] == [
        ("Ada Lovelace", "left the course but started the exam: kept with the attempt")
    ]
    assert learner_of(factory.db, exam, "s3").name == "Cy Young"  # still there

    applied = client.post(path, params={"dry_run": "false"})
    assert applied.status_code == 200, applied.text
    factory.db.expire_all()
    by_name = {
        c.name: c for c in factory.db.scalars(select(Candidate).where(Candidate.exam_id == exam.id))
    }
    assert sorted(by_name) == ["Ada Lovelace", "Bob Stone-Smith", "Wal King"]
    assert by_name["Bob Stone-Smith"].email == "bob.smith@uni.example.edu"
    audits = factory.db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.in_(["lti.roster_sync", "candidate.remove"]))
        .order_by(AuditEntry.created_at)
    ).all()
    assert [(a.action, a.details.get("removed")) for a in audits] == [
        ("lti.roster_sync", 0),
        ("candidate.remove", None),
        ("lti.roster_sync", 1),
    ]


def test_only_admins_and_the_exams_instructors_sync_its_roster(
    course: tuple[Platform, Exam], lms: LmsServices, client: TestClient, factory: Factory
) -> None:
    _, exam = course
    login(client, factory.user(Role.PROCTOR))
    refused = client.post(f"/api/v1/exams/{exam.id}/roster-sync")
    assert refused.status_code == 403
    assert client.post(f"/api/v1/exams/{exam.id}/grade-sync/retry").status_code == 403
    login(client, factory.user(Role.ADMIN))
    retried = client.post(f"/api/v1/exams/{exam.id}/grade-sync/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["linked"] is False
    unknown = client.post(f"/api/v1/exams/{exam.id}/roster-sync")
    assert unknown.status_code == 502
    assert "open it once from the course" in unknown.json()["detail"]


def test_a_token_the_platform_stops_taking_is_replaced_and_a_missing_grade_item_explained(
    course: tuple[Platform, Exam],
    lms: LmsServices,
    factory: Factory,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    platform, exam = course
    claims = lms.launch_claims()
    ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    ags["scope"] = ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]  # no line items
    platform.login_and_launch(sub="learner-3", **claims)
    candidate = learner_of(factory.db, exam, "learner-3")
    session = running_session(factory, candidate)
    sessions.submit(session=session, exam=exam, answers={"0": 1})
    factory.db.commit()
    now = [utcnow() + timedelta(hours=1)]
    passback = GradePassback(
        session_factory,
        outbound_policy=settings.outbound_policy,
        retry=RetryPolicy(jitter=lambda ceiling: ceiling),
        clock=lambda: now[0],
    )
    with session_factory() as db:
        post = grades.enqueue(db=db, session=session, at=now[0])
        db.commit()
        assert post is not None
    with outbound.client(5.0) as http:
        passback.deliver_due(http)
        with session_factory() as db:
            failed = db.scalars(select(LtiGradePost)).one()
            assert failed.last_error is not None
            assert "give the activity a grade item on the platform" in failed.last_error

            # The platform gives the link a line item; its tokens are signed anew (a key
            # rotation): the cached token is refused once (401), then replaced.
            lineitem = f"{lms.lineitems_url}/9"
            lms.lineitems[lineitem] = {"id": lineitem, "label": "Quiz", "scoreMaximum": 1}
            platform.login_and_launch(sub="learner-3", **lms.launch_claims(lineitem=lineitem))
            passback.deliver_due(http)  # not due yet: the launch changed nothing queued
            now[0] += timedelta(seconds=30)
            passback.deliver_due(http)
            assert len(lms.scores) == 1
            lms.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            grades.enqueue(db=db, session=session, at=now[0])
            db.commit()
            passback.deliver_due(http)
            db.expire_all()
            refused = db.scalars(
                select(LtiGradePost).where(LtiGradePost.status == GradePostStatus.PENDING)
            ).one()
            assert refused.last_status_code == 401
            now[0] += timedelta(seconds=30)
            passback.deliver_due(http)
    assert len(lms.scores) == 2
    assert lms.tokens == ["https://purl.imsglobal.org/spec/lti-ags/scope/score"] * 2
