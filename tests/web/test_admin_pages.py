"""An admin signs in, creates an exam, imports a roster and opens a candidate's link."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from openproctor.domains.users.models import Role
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser


def test_admin_creates_an_exam_imports_a_roster_and_opens_an_invite(
    browser: Browser, live_server: str, factory: Factory, tmp_path: Path
) -> None:
    admin = factory.user(Role.ADMIN)
    proctor = factory.user(Role.PROCTOR, email="pat@example.com")
    context = browser.new_context(base_url=live_server)
    page = context.new_page()

    page.goto("/admin/exams")
    expect(page).to_have_url(f"{live_server}/login?next=/admin/exams")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", "not the password")
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("login-error")).to_have_text("wrong email or password")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login").click()
    expect(page).to_have_url(f"{live_server}/admin/exams")

    page.get_by_test_id("new-exam").click()
    expect(page.locator("input[name='policy.frames_per_second']")).to_have_value("1")
    page.fill("input[name=title]", "Biology final")
    page.fill("textarea[name=instructions]", "Closed book.")
    page.get_by_test_id("add-question").click()
    page.keyboard.type("Cells have a?")
    page.get_by_label("Question 1, choice 1").fill("nucleus")
    page.get_by_label("Question 1, choice 2").fill("engine")
    page.get_by_test_id("save-exam").click()
    expect(page.get_by_test_id("exam-title")).to_have_text("Biology final")

    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nAda,ada@example.com\nBob,not-an-email\n")
    page.get_by_test_id("roster-file").set_input_files(bad)
    page.get_by_test_id("import-roster").click()
    expect(page.get_by_test_id("roster-errors")).to_contain_text("line 3")
    expect(page.get_by_test_id("invite-link")).to_have_count(0)

    good = tmp_path / "roster.csv"
    good.write_text(
        "name,email,external_id,proctor_email\n"
        "Ada Lovelace,ada@example.com,S-1,pat@example.com\n"
        "Alan Turing,alan@example.com,S-2,\n"
    )
    page.get_by_test_id("roster-file").set_input_files(good)
    page.get_by_test_id("import-roster").click()
    expect(page.get_by_test_id("notice")).to_have_text("Imported 2 candidates")
    expect(page.get_by_test_id("invite-link")).to_have_count(2)
    page.get_by_test_id("auto-assign").click()
    expect(page.get_by_test_id("notice")).to_have_text("Assigned 1 candidates")
    for select in page.get_by_test_id("candidates").locator("select[name=proctor_id]").all():
        expect(select).to_have_value(str(proctor.id))

    invite = page.get_by_test_id("invite-link").first.get_attribute("href")
    assert invite is not None
    assert invite.startswith(f"{live_server}/take/")
    candidate = browser.new_context(base_url=live_server).new_page()
    candidate.goto(invite)
    expect(candidate.get_by_test_id("exam-title")).to_have_text("Biology final")
    expect(candidate.get_by_test_id("consent")).to_be_visible()
    candidate.context.close()
    context.close()
