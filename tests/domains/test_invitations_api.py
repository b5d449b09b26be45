"""One candidate at a time through the API: removal is refused once an attempt started (and
says which), withdrawn and replaced links fail with a page that says so, the links export as
CSV with a BOM, and e-mail is refused while no mail server is configured."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.app import create_app
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.invitations.models import CandidateEmail, EmailStatus
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import Factory, login
from tests.live.clients import running_session
from tests.mailbox import Mailbox, body_of

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])
HTML = {"accept": "text/html"}


def actions(factory: Factory, action: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action)
    return list(factory.db.scalars(query.order_by(AuditEntry.created_at)))


def test_removal_is_refused_once_the_candidate_started(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    ada, bob, cy, dee = (factory.candidate(exam, name=n) for n in ("Ada", "Bob", "Cy", "Dee"))
    running_session(factory, bob)
    finished = running_session(factory, cy)
    sessions.move(finished, SessionState.SUBMITTED)
    sessions.current_for_candidate(db=factory.db, candidate=dee)  # opened the link, no more
    factory.db.commit()
    removed_emails = {ada.email, dee.email}
    login(client, factory.user(Role.ADMIN))
    url = f"/api/v1/exams/{exam.id}/candidates"
    refused = client.delete(f"{url}/{bob.id}")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "Bob cannot be removed: their attempt is in progress: end it first"
    )
    refused = client.delete(f"{url}/{cy.id}")
    assert refused.status_code == 409
    assert "their attempt is submitted and kept for its review" in refused.json()["detail"]
    assert (
        client.delete(f"/api/v1/exams/{factory.exam().id}/candidates/{ada.id}").status_code == 404
    )
    for removed in (ada, dee):
        assert client.delete(f"{url}/{removed.id}").status_code == 204
    factory.db.expire_all()
    left = set(factory.db.scalars(select(Candidate.name).where(Candidate.exam_id == exam.id)))
    assert left == {"Bob", "Cy"}
    assert {e.details["email"] for e in actions(factory, "candidate.remove")} == removed_emails


def test_withdrawn_and_replaced_links_say_so(client: TestClient, factory: Factory) -> None:
    exam = factory.exam()
    ada, bob = factory.candidate(exam, name="Ada"), factory.candidate(exam, name="Bob")
    old = ada.invite_token
    login(client, factory.user(Role.ADMIN))
    assert client.get(f"/take/{old}", headers=HTML).status_code == 200
    renewed = client.post(f"/api/v1/candidates/{ada.id}/invite-link/renew")
    assert renewed.status_code == 200
    new_url = renewed.json()["invite_url"]
    assert not new_url.endswith(old)
    page = client.get(f"/take/{old}", headers=HTML)
    assert page.status_code == 410
    assert "This link does not work" in page.text
    assert "this invite link was replaced by a new one" in page.text
    assert client.get(f"/api/v1/take/{old}").status_code == 410
    assert client.get(new_url.split("8000", 1)[1], headers=HTML).status_code == 200

    withdrawn = client.post(f"/api/v1/candidates/{bob.id}/invite-link/withdraw")
    assert withdrawn.json()["invite_withdrawn_at"] is not None
    page = client.get(f"/take/{bob.invite_token}", headers=HTML)
    assert page.status_code == 410
    assert "this invite link was withdrawn by the exam" in page.text
    assert client.get(f"/practice/{bob.invite_token}", headers=HTML).status_code == 410
    assert client.get("/take/never-a-link", headers=HTML).status_code == 404
    # A new link brings a withdrawn candidate back.
    client.post(f"/api/v1/candidates/{bob.id}/invite-link/renew")
    factory.db.expire_all()
    bob_now = factory.db.get(Candidate, bob.id)
    assert bob_now is not None
    assert bob_now.invite_withdrawn_at is None
    assert client.get(f"/take/{bob_now.invite_token}", headers=HTML).status_code == 200
    assert len(actions(factory, "candidate.link_renewed")) == 2
    assert len(actions(factory, "candidate.link_withdrawn")) == 1


def test_a_link_is_not_changed_under_a_running_attempt(
    client: TestClient, factory: Factory
) -> None:
    ada = factory.candidate(factory.exam())
    running_session(factory, ada)
    login(client, factory.user(Role.ADMIN))
    refused = client.post(f"/api/v1/candidates/{ada.id}/invite-link/withdraw")
    assert refused.status_code == 409
    assert "is taking the exam now (running)" in refused.json()["detail"]
    assert client.get(f"/api/v1/take/{ada.invite_token}").status_code == 200


def test_the_links_export_as_csv_with_a_bom(client: TestClient, factory: Factory) -> None:
    exam = factory.exam()
    chloe = factory.candidate(exam, name="Chloé")
    sneaky = factory.candidate(exam, name="Sneaky")
    sneaky.name, sneaky.external_id = "=HYPERLINK(1)", "+1"
    gone = factory.candidate(exam, name="Gone")
    factory.db.commit()
    login(client, factory.user(Role.ADMIN))
    client.post(f"/api/v1/candidates/{gone.id}/invite-link/withdraw")
    response = client.get(f"/api/v1/exams/{exam.id}/candidates/invites.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = response.content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "name,email,external_id,link"
    assert f"Chloé,{chloe.email},,http://127.0.0.1:8000/take/{chloe.invite_token}" in lines
    assert (
        f"'=HYPERLINK(1),{sneaky.email},'+1,http://127.0.0.1:8000/take/{sneaky.invite_token}"
        in lines
    )
    assert f"Gone,{gone.email},," in lines  # withdrawn: no link
    assert len(actions(factory, "exam.invites_export")) == 1
    login(client, factory.user(Role.PROCTOR))
    assert client.get(f"/api/v1/exams/{exam.id}/candidates/invites.csv").status_code == 403


def test_without_a_mail_server_nothing_is_queued(client: TestClient, factory: Factory) -> None:
    exam = factory.exam()
    ada = factory.candidate(exam)
    login(client, factory.user(Role.ADMIN))
    refused = client.post(f"/api/v1/exams/{exam.id}/invitations", json={"to": "all"})
    assert refused.status_code == 409
    assert "no mail server is configured" in refused.json()["detail"]
    assert client.post(f"/api/v1/candidates/{ada.id}/invitation").status_code == 409
    assert factory.db.scalars(select(CandidateEmail)).all() == []
    page = client.get(f"/admin/exams/{exam.id}", headers=HTML).text
    assert "E-mail is off: no mail server is configured" in page
    assert 'data-testid="invite-unsent"' not in page


def test_the_wording_is_checked_and_saved(client: TestClient, factory: Factory) -> None:
    exam = factory.exam()
    login(client, factory.user(Role.ADMIN))
    url = f"/api/v1/exams/{exam.id}/mail-template"
    wording = client.get(url).json()
    assert set(wording.pop("placeholders")) == {
        "name",
        "exam",
        "link",
        "opens_at",
        "closes_at",
        "duration",
    }
    bad = client.put(url, json={**wording, "invitation_body": "Hello {nom}"})
    assert bad.status_code == 422
    assert "Invitation body: {nom} is not a placeholder" in bad.json()["detail"]
    assert "Invitation body: must contain {link}" in bad.json()["detail"]
    saved = client.put(url, json={**wording, "reminder_lead_minutes": 120})
    assert saved.status_code == 200
    assert client.get(url).json()["reminder_lead_minutes"] == 120


@pytest.fixture
def mail_client(mail_settings: Settings) -> Iterator[TestClient]:
    app = create_app(mail_settings)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
    app.state.context.engine.dispose()


def test_invitations_go_to_those_not_invited_yet(
    mail_client: TestClient, factory: Factory, mailbox: Mailbox
) -> None:
    exam = factory.exam()
    ada, bob = factory.candidate(exam, name="Ada"), factory.candidate(exam, name="Bob")
    login(mail_client, factory.user(Role.ADMIN))
    one = mail_client.post(f"/api/v1/candidates/{ada.id}/invitation")
    assert (one.status_code, one.json()) == (202, {"queued": 1, "skipped": 0})
    mailbox.wait_for(1)
    rest = mail_client.post(f"/api/v1/exams/{exam.id}/invitations", json={"to": "unsent"})
    assert rest.json() == {"queued": 1, "skipped": 0}
    [to_ada, to_bob] = mailbox.wait_for(2)
    assert (to_ada["To"], to_bob["To"]) == (ada.email, bob.email)
    assert bob.invite_token in body_of(to_bob)
    assert mail_client.post(
        f"/api/v1/exams/{exam.id}/invitations", json={"to": "unsent"}
    ).json() == {"queued": 0, "skipped": 0}
    deadline = time.monotonic() + 10
    while True:  # the status is written just after the server took the e-mail
        emails = mail_client.get(f"/api/v1/exams/{exam.id}/emails").json()
        if [e["status"] for e in emails] == [EmailStatus.SENT.value] * 2:
            break
        assert time.monotonic() < deadline, emails
        time.sleep(0.05)
    assert [e.details for e in actions(factory, "exam.invitations")] == [
        {"queued": 1, "skipped": 0},
        {"queued": 1, "skipped": 0},
        {"queued": 0, "skipped": 0},
    ]
    # One that failed counts as not invited yet.
    factory.db.expire_all()
    to_ada_row = factory.db.scalar(
        select(CandidateEmail).where(CandidateEmail.candidate_id == ada.id)
    )
    assert to_ada_row is not None
    to_ada_row.status = EmailStatus.FAILED
    factory.db.commit()
    again = mail_client.post(f"/api/v1/exams/{exam.id}/invitations", json={"to": "unsent"})
    assert again.json() == {"queued": 1, "skipped": 0}
    assert mailbox.wait_for(3)[2]["To"] == ada.email
