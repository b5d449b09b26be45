"""The admin's candidate form: it shows the candidate's accommodations, saves new ones, and
shows what is wrong with bad values without changing anything."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from openproctor.domains.candidates.accommodations import Accommodations
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.users.models import Role
from tests.conftest import Factory, login

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])
HTML = {"accept": "text/html"}


def stored(factory: Factory, candidate: Candidate) -> object:
    factory.db.expire_all()
    row = factory.db.get(Candidate, candidate.id)
    assert row is not None
    return row.accommodations


def test_the_form_shows_saves_and_refuses_accommodations(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    ada = factory.candidate(
        exam, accommodations=Accommodations(extra_percent=25, exempt=[ViolationKind.SPEECH])
    )
    login(client, factory.user(Role.ADMIN))
    listing = client.get(f"/admin/exams/{exam.id}", headers=HTML).text
    assert f'href="/admin/candidates/{ada.id}/edit"' in listing
    assert ">Extra time +25 %<" in listing
    form = client.get(f"/admin/candidates/{ada.id}/edit", headers=HTML).text
    assert 'value="25%"' in form
    assert 'value="speech" checked' in form
    assert 'value="tab_switch" >' in form  # offered, not checked

    edit = f"/admin/candidates/{ada.id}/edit"
    csrf = {"csrf_token": client.headers["X-CSRF-Token"]}
    bad = client.post(
        edit,
        data={**csrf, "name": "Ada", "extra_time": "lots", "exempt": ["speech"]},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert "extra_time &#39;lots&#39; is neither minutes (15) nor a percentage (25%)" in bad.text
    assert stored(factory, ada) == {"extra_percent": 25, "exempt": ["speech"]}
    window = client.post(
        edit,
        data={
            **csrf,
            "name": "Ada",
            "opens_at": "2026-12-02T12:00",
            "closes_at": "2026-12-02T09:00",
        },
        headers=HTML,
    )
    assert window.status_code == 422
    assert "the candidate&#39;s window must close after it opens" in window.text

    saved = client.post(
        edit,
        data={
            **csrf,
            "name": "Ada L.",
            "extra_time": "20",
            "exempt": ["tab_switch", "looking_away"],
            "opens_at": "2026-12-02T09:00",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert stored(factory, ada) == {
        "extra_minutes": 20,
        "exempt": ["looking_away", "tab_switch"],
        "opens_at": "2026-12-02T09:00:00Z",
    }
    assert client.get(edit, headers=HTML).text.count("checked") == 2


def test_the_own_window_is_typed_and_shown_on_the_exams_clock(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam(timezone="Europe/Berlin")
    ada = factory.candidate(exam)
    login(client, factory.user(Role.ADMIN))
    edit = f"/admin/candidates/{ada.id}/edit"
    saved = client.post(
        edit,
        data={
            "csrf_token": client.headers["X-CSRF-Token"],
            "name": "Ada",
            "opens_at": "2027-07-12T09:00",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert stored(factory, ada) == {"opens_at": "2027-07-12T07:00:00Z"}  # CEST is UTC+2
    form = client.get(edit, headers=HTML).text
    assert 'name="opens_at" value="2027-07-12T09:00"' in form
    assert "Own window opens (Europe/Berlin" in form
    listing = client.get(f"/admin/exams/{exam.id}", headers=HTML).text
    assert (
        "Own window Mon 12 Jul 2027, 09:00 CEST (Europe/Berlin) to the exam&#39;s close" in listing
    )
