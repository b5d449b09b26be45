"""Deep Linking 2.0 and launch binding, against a platform played by lti1p3platform
(tests/integrations/platform3p.py): its launches, and its own validation of our deep linking
response."""

from __future__ import annotations

import base64
import html
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti.models import LtiAccount, LtiExamPlatform, LtiLink, LtiPlatform
from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import Factory, login
from tests.integrations.platform3p import (
    DEEP_LINK_RETURN_URL,
    INSTRUCTOR,
    LEARNER,
    ThirdPartyPlatform,
)

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"


def registered(
    client: TestClient, factory: Factory, settings: Settings, **make: Any
) -> ThirdPartyPlatform:
    """A platform registered by an admin through the API; the client is signed out after."""
    platform = ThirdPartyPlatform.make(client, settings.public_url, **make)
    login(client, factory.user(Role.ADMIN))
    platform.register(client)
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    return platform


def hidden_fields(page: str, form_testid: str) -> dict[str, str]:
    form = page.split(f'data-testid="{form_testid}"', 1)[1].split("</form>", 1)[0]
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    }


def error_of(response: Response) -> str:
    assert 'data-testid="lti-error"' in response.text, response.text
    text = response.text.split('data-testid="lti-error">', 1)[1].split("</p>", 1)[0]
    return html.unescape(text)


def returned_jwt(response: Response) -> str:
    """The JWT of the page that carries our answer back to the platform."""
    assert response.status_code == 200, response.text
    assert f'action="{DEEP_LINK_RETURN_URL}"' in response.text
    fields = hidden_fields(response.text, "deep-link-return")
    return fields["JWT"]


def test_a_resource_link_launch_from_a_third_party_platform(
    client: TestClient, factory: Factory, settings: Settings, db: Session
) -> None:
    exam = factory.exam(title="Chemistry final")
    platform = registered(client, factory, settings)
    response = platform.launch(
        user_id="s-1",
        roles=[LEARNER],
        resource_link_id="rl-1",
        custom={"exam_id": str(exam.id)},
        email="grace@lms.example.org",
    )
    assert response.status_code == 303, response.text
    candidate = db.scalar(select(Candidate).where(Candidate.exam_id == exam.id))
    assert candidate is not None
    assert response.headers["location"] == f"/take/{candidate.invite_token}"
    assert (candidate.name, candidate.email) == ("Grace Hopper", "grace@lms.example.org")
    link = db.get(LtiLink, (uuid_of(platform, db), "1", "rl-1"))
    assert link is not None
    assert link.exam_id == exam.id


def uuid_of(platform: ThirdPartyPlatform, db: Session) -> uuid.UUID:
    client_id = platform.registration.get_client_id()
    row = db.scalar(select(LtiPlatform).where(LtiPlatform.client_id == client_id))
    assert row is not None
    return row.id


def test_deep_linking_round_trip(
    client: TestClient, factory: Factory, settings: Settings, db: Session
) -> None:
    platform = registered(client, factory, settings)
    launch_url = f"{settings.public_url}/lti/launch"

    # A learner cannot add exams.
    learner = platform.launch(user_id="s-1", roles=[LEARNER])
    assert learner.status_code == 403
    assert "only the course's instructors" in error_of(learner)

    # The instructor's page: no exams of theirs yet, so only the create form.
    page = platform.launch(user_id="t-1", roles=[INSTRUCTOR], deep_link_data={"course": "c-1"})
    assert page.status_code == 200, page.text
    assert 'data-testid="lti-deep-link"' in page.text
    assert 'data-testid="no-exams"' in page.text
    create = hidden_fields(page.text, "create-exam")
    assert create["action"] == "create"
    new_exam = {
        **create,
        "title": "Organic chemistry final",
        "external_url": "https://lms.example.org/mod/quiz/view.php?id=7",
        "timezone": "Europe/Berlin",
        "opens_at": "2026-12-14T09:00",
        "closes_at": "2026-12-14T12:00",
        "duration_minutes": "90",
        "preset": "strict",
    }

    # Bad input is shown again with what to fix, and nothing is made.
    bad = client.post("/lti/deep-links", data={**new_exam, "closes_at": "2026-12-14T08:00"})
    assert bad.status_code == 422
    assert "closes_at must be after opens_at" in html.unescape(bad.text)
    assert 'value="Organic chemistry final"' in bad.text
    assert db.scalar(select(Exam).where(Exam.title == "Organic chemistry final")) is None

    created = client.post("/lti/deep-links", data=new_exam)
    token = returned_jwt(created)
    form_action = created.headers["content-security-policy"].split("form-action ", 1)[1]
    assert form_action.startswith("'self' https://lms.example.org;")
    exam = db.scalar(select(Exam).where(Exam.title == "Organic chemistry final"))
    assert exam is not None
    assert exam.opens_at == datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert (exam.timezone, exam.duration_minutes) == ("Europe/Berlin", 90)
    assert exam.policy["id_check"] is True
    assert exam.policy["admission"] == "proctor"

    # lti1p3platform checks the response with its own code (signature against our JWKS,
    # message type, content item types).
    items = platform.deep_link_items(token)
    assert items == [
        {
            "type": "ltiResourceLink",
            "title": "Organic chemistry final",
            "url": launch_url,
            "custom": {"exam_id": str(exam.id)},
            "window": {"targetName": "_blank"},
        }
    ]
    claims = jwt.decode(
        token,
        options={"verify_signature": False},  # verified above; here the claims it leaves out
    )
    assert claims["iss"] == platform.registration.get_client_id()
    assert claims["aud"] == platform.registration.get_iss()
    assert claims[LTI + "deployment_id"] == "1"
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[DL + "data"] == {"course": "c-1"}
    assert db.get(LtiExamPlatform, (exam.id, uuid_of(platform, db))) is not None

    # The platform saves the link; a learner's launch of it opens the exam and binds it.
    launched = platform.launch(
        user_id="s-1", roles=[LEARNER], resource_link_id="rl-9", custom=items[0]["custom"]
    )
    assert launched.status_code == 303, launched.text
    # ...assigned to the instructor who added it.
    candidate = db.scalar(select(Candidate).where(Candidate.exam_id == exam.id))
    instructor = db.scalar(select(LtiAccount).where(LtiAccount.subject == "t-1"))
    assert candidate is not None
    assert instructor is not None
    assert candidate.proctor_id == instructor.user_id

    # The next request lists the exam to pick; picking it answers with the same link.
    client.cookies.clear()
    again = platform.launch(user_id="t-1", roles=[INSTRUCTOR], deep_link_data="opaque-7")
    assert "Organic chemistry final" in again.text
    pick = hidden_fields(again.text, "pick-exam")
    unknown = client.post("/lti/deep-links", data={**pick, "exam_id": str(factory.exam().id)})
    assert unknown.status_code == 422
    assert "Choose one of your exams" in unknown.text
    picked = returned_jwt(client.post("/lti/deep-links", data={**pick, "exam_id": str(exam.id)}))
    assert platform.deep_link_items(picked)[0]["custom"] == {"exam_id": str(exam.id)}
    assert jwt.decode(picked, options={"verify_signature": False})[DL + "data"] == "opaque-7"

    # Cancel: no content items, and a message for the platform to show.
    cancel = hidden_fields(again.text, "cancel")
    cancelled = returned_jwt(client.post("/lti/deep-links", data=cancel))
    assert platform.deep_link_items(cancelled) == []
    assert jwt.decode(cancelled, options={"verify_signature": False})[DL + "msg"]

    # The request travels signed: changed, it is refused.
    changed = {**cancel, "request": cancel["request"][:-2] + "00"}
    refused = client.post("/lti/deep-links", data=changed)
    assert refused.status_code == 403
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.action.like("lti.deep%"))).all()
    assert sorted(actions) == sorted(["lti.deep_link.start"] * 2 + ["lti.deep_link"] * 3)


def _with_custom(id_token: str, custom: dict[str, str]) -> str:
    """The id_token with its custom claim changed and the platform's signature kept."""
    header, body, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims[LTI + "custom"] = custom
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{changed}.{signature}"


@pytest.mark.parametrize("role", [LEARNER, INSTRUCTOR])
def test_foreign_tampered_or_rebound_launches_are_refused(
    client: TestClient, factory: Factory, settings: Settings, db: Session, role: str
) -> None:
    ours, theirs = factory.exam(title="Ours"), factory.exam(title="Theirs")
    home = registered(client, factory, settings)
    other = registered(client, factory, settings, issuer="https://other-lms.example.net")
    # Each platform's first launch binds its link, and claims the exam for the platform.
    for platform, exam in ((home, ours), (other, theirs)):
        first = platform.launch(
            user_id="u-1", roles=[role], resource_link_id="rl-1", custom={"exam_id": str(exam.id)}
        )
        assert first.status_code in (200, 303), first.text

    # The other platform types our exam's id: refused, and audited.
    foreign = other.launch(
        user_id="u-2", roles=[role], resource_link_id="rl-2", custom={"exam_id": str(ours.id)}
    )
    assert foreign.status_code == 403
    assert "belongs to another learning platform" in error_of(foreign)
    refusal = db.scalar(select(AuditEntry).where(AuditEntry.action == "lti.launch.refused"))
    assert refusal is not None
    assert refusal.target_id == str(ours.id)
    assert refusal.details["reason"] == "exam of another platform"
    assert db.get(LtiLink, (uuid_of(other, db), "1", "rl-2")) is None

    # A link bound to one exam, launched naming another: refused.
    rebound = home.launch(
        user_id="u-1", roles=[role], resource_link_id="rl-1", custom={"exam_id": str(theirs.id)}
    )
    assert rebound.status_code == 403
    assert "linked to another exam" in error_of(rebound)

    # The custom parameter changed after the platform signed: the signature fails.
    tampered = home.launch(
        user_id="u-1",
        roles=[role],
        resource_link_id="rl-3",
        custom={"exam_id": str(ours.id)},
        tamper=lambda token: _with_custom(token, {"exam_id": str(theirs.id)}),
    )
    assert tampered.status_code == 400
    assert "signature does not verify" in error_of(tampered)

    # The same platform may still type its exam's id on a new link (the manual fallback), and
    # a bound link opens its exam without one.
    typed = home.launch(
        user_id="u-3", roles=[role], resource_link_id="rl-4", custom={"exam_id": str(ours.id)}
    )
    assert typed.status_code in (200, 303), typed.text
    bare = home.launch(user_id="u-3", roles=[role], resource_link_id="rl-4")
    assert bare.status_code in (200, 303), bare.text
    assert db.get(LtiLink, (uuid_of(home, db), "1", "rl-4")).exam_id == ours.id
