"""A proctor's wall in Chromium, fed only by the proctor socket: it shows their candidate (and
not another proctor's), raises an alert from a browser signal, and its message, pause, resume
and termination reach the candidate's page at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role, User
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser


def sign_in(page: Page, user: User) -> None:
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_proctor_watches_messages_pauses_and_ends_a_candidates_exam(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    factory.candidate(exam, factory.user(Role.PROCTOR), name="Bob")
    session = sessions.current_for_candidate(db=factory.db, candidate=ada)
    for state in (SessionState.CHECKING, SessionState.ENROLLED):  # photo taken earlier
        sessions.move(session, state)
    factory.db.commit()

    candidate = browser.new_context(base_url=live_server).new_page()
    candidate.goto(f"/take/{ada.invite_token}")
    candidate.get_by_test_id("next").click()  # the system check, once more after a reload
    expect(candidate.get_by_test_id("step-intro")).to_be_visible()
    candidate.get_by_test_id("next").click()
    expect(candidate.get_by_test_id("exam-running")).to_be_visible()

    staff = browser.new_context(base_url=live_server).new_page()
    sign_in(staff, proctor)
    staff.goto(f"/proctor/exams/{exam.id}")
    expect(staff.get_by_test_id("live")).to_have_attribute("data-state", "live")
    tile = staff.get_by_test_id("candidate-tile")
    expect(tile).to_have_count(1)
    expect(tile).to_contain_text("Ada")
    expect(tile).to_have_attribute("data-session-id", str(session.id))
    expect(tile).to_have_attribute("data-connected", "yes")

    candidate.evaluate("document.dispatchEvent(new Event('copy'))")
    alert = staff.get_by_test_id("alert")
    expect(alert).to_have_attribute("data-kind", "copy_paste")
    expect(alert).to_contain_text("Ada")

    tile.click()
    staff.get_by_test_id("message-text").fill("Please keep your face in view.")
    staff.get_by_test_id("send-message").click()
    expect(candidate.get_by_test_id("proctor-message")).to_contain_text(
        "Please keep your face in view."
    )
    expect(staff.get_by_test_id("message-history")).to_contain_text(
        "Please keep your face in view."
    )

    staff.get_by_test_id("pause").click()
    expect(candidate.locator("#paused")).to_be_visible()
    expect(candidate.get_by_test_id("exam-running")).to_have_count(0)
    staff.get_by_test_id("resume").click()
    expect(candidate.get_by_test_id("exam-running")).to_be_visible()
    expect(candidate.locator("#paused")).to_be_hidden()

    staff.get_by_test_id("terminate").click()
    staff.get_by_test_id("terminate-reason").fill("Someone else is answering.")
    staff.get_by_test_id("terminate-confirm").click()
    ended = candidate.get_by_test_id("exam-terminated")
    expect(ended).to_be_visible()
    expect(ended).to_contain_text("Someone else is answering.")
    expect(staff.locator("#detail .state")).to_have_text("terminated")
    staff.context.close()
    candidate.context.close()
