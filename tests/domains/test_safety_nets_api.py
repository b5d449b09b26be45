"""The candidate's safety nets over the API and the pages, on SQLite and PostgreSQL: the
consent agreed to is stored word for word, a stale one is refused; the practice run works
before the exam opens without making an attempt; the review page shows the prompts shown."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.policy import PROMPT_TEXTS, ViolationKind
from openproctor.domains.sessions.consent import CONSENT_VERSION, consent_for
from openproctor.domains.sessions.models import ExamSession, SessionPrompt
from openproctor.domains.users.models import Role
from tests.conftest import Factory, login
from tests.test_reports import pdf_text

FIXTURES = Path(__file__).parent.parent / "fixtures"


def csrf(client: TestClient) -> None:
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]


def test_the_consent_agreed_to_is_stored_and_a_stale_one_refused(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(policy={"auto_terminate": True, "retention_days": 14})
    candidate = factory.candidate(exam)
    view = client.get(f"/api/v1/take/{candidate.invite_token}").json()
    consent = view["consent"]
    assert consent["lines"] == list(consent_for(exam.parsed_policy).lines)
    assert any("ended automatically" in line for line in consent["lines"])
    csrf(client)
    url = f"/api/v1/take/{candidate.invite_token}/sessions/{view['session']['id']}/state"
    stale = client.post(url, json={"state": "checking", "consent_sha256": "0" * 64})
    assert stale.status_code == 409, stale.text
    agreed = client.post(url, json={"state": "checking", "consent_sha256": consent["sha256"]})
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["consent_sha256"] == consent["sha256"]
    assert agreed.json()["consent_version"] == CONSENT_VERSION
    factory.db.expire_all()
    session = factory.db.get(ExamSession, uuid.UUID(view["session"]["id"]))
    assert session is not None
    assert session.consent_text == "\n".join(consent["lines"])
    assert session.consented_at is not None


def test_practice_works_before_the_exam_opens_and_makes_no_attempt(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(opens_in=timedelta(days=2))
    candidate = factory.candidate(exam)
    closed = client.get(f"/take/{candidate.invite_token}")
    assert closed.status_code == 403
    assert f'href="/practice/{candidate.invite_token}"' in closed.text
    page = client.get(f"/practice/{candidate.invite_token}")
    assert page.status_code == 200
    assert "does not start the exam" in page.text
    csrf(client)
    probe = client.post(
        f"/api/v1/take/{candidate.invite_token}/bandwidth",
        content=b"\0" * 1024,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert probe.status_code == 200, probe.text
    # No analysis workers in this test: the photo check says so, and nothing is recorded
    # (tests/web/test_safety_nets.py passes a photo through the real models).
    photo = client.post(
        f"/api/v1/take/{candidate.invite_token}/practice",
        content=(FIXTURES / "noface_coffee.jpg").read_bytes(),
        headers={"Content-Type": "image/jpeg"},
    )
    assert photo.status_code == 503, photo.text
    factory.db.expire_all()
    assert factory.db.scalar(select(func.count()).select_from(ExamSession)) == 0
    stored = factory.db.get(Candidate, candidate.id)
    assert stored is not None
    assert stored.practised_at is None


def test_practice_ends_when_the_exam_closes(client: TestClient, factory: Factory) -> None:
    exam = factory.exam(opens_in=timedelta(hours=-5))  # open for 3 hours: closed 2 hours ago
    candidate = factory.candidate(exam)
    assert client.get(f"/practice/{candidate.invite_token}").status_code == 403
    assert client.get("/practice/not-a-token").status_code == 404


def test_review_page_pdf_and_report_show_the_prompts_shown_and_the_consent(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    candidate = factory.candidate(exam)
    view = client.get(f"/api/v1/take/{candidate.invite_token}").json()  # makes the attempt
    csrf(client)
    client.post(
        f"/api/v1/take/{candidate.invite_token}/sessions/{view['session']['id']}/state",
        json={"state": "checking"},
    )
    session = factory.db.scalar(select(ExamSession).where(ExamSession.candidate_id == candidate.id))
    assert session is not None
    now = utcnow()
    text = PROMPT_TEXTS[ViolationKind.SPEECH]
    factory.db.add(
        SessionPrompt(
            session_id=session.id,
            kind="speech",
            text=text,
            shown_at=now,
            cleared_at=now + timedelta(seconds=4),
        )
    )
    factory.db.commit()
    login(client, factory.user(Role.REVIEWER))
    page = client.get(f"/review/sessions/{session.id}")
    assert page.status_code == 200
    assert 'Prompts shown <span class="meta">(1)</span>' in page.text
    assert f"“{text}”" in page.text
    assert "put right after 4 s" in page.text
    assert "Nothing is decided automatically" in page.text  # the consent agreed to
    pdf = pdf_text(client.get(f"/api/v1/sessions/{session.id}/report.pdf").content)
    assert "Prompts shown to the candidate" in pdf
    assert "Another voice is heard" in pdf
    assert "Nothing is decided automatically" in pdf
    report = client.get(f"/api/v1/exams/{exam.id}/report.json").json()
    assert report["candidates"][0]["prompts_shown"] == 1
