"""Staff accounts in the browser: an admin resets a proctor's password, the proctor signs in
with the temporary one and must choose their own; deactivation locks them out until
reactivated; anyone changes their own password from the top bar. And the exams list links to
the wall and the reviews."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role, User
from tests.conftest import PASSWORD, Factory
from tests.web.axe import blocking_violations
from tests.web.pages import sign_in

pytestmark = pytest.mark.browser
OWN_PASSWORD = "my very own passphrase"


def sign_in_with(page: Page, user: User, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", password)
    page.get_by_test_id("login").click()


def staff_row(page: Page, user: User) -> Locator:
    return page.locator(f"[data-testid=staff-row][data-email='{user.email}']")


def change_password(page: Page, current: str, new: str) -> None:
    page.fill("input[name=current_password]", current)
    page.fill("input[name=new_password]", new)
    page.fill("input[name=confirm_password]", new)
    page.get_by_test_id("change-password").click()


def test_reset_temporary_password_deactivation_and_reactivation(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    admin, proctor = factory.user(Role.ADMIN), factory.user(Role.PROCTOR)
    admin_page = browser.new_context(base_url=live_server).new_page()
    proctor_page = browser.new_context(base_url=live_server).new_page()
    try:
        sign_in(proctor_page, proctor)
        sign_in(admin_page, admin)
        admin_page.goto("/admin/staff")
        assert blocking_violations(admin_page) == []
        staff_row(admin_page, proctor).get_by_test_id("reset-password").click()
        expect(admin_page.get_by_test_id("temporary-password")).to_contain_text(proctor.email)
        temporary = admin_page.get_by_test_id("temporary-password-value").inner_text()
        assert len(temporary) == 16
        expect(staff_row(admin_page, proctor).get_by_test_id("staff-status")).to_have_text(
            "active · temporary password"
        )
        assert blocking_violations(admin_page) == []

        proctor_page.goto("/proctor")  # the old sign-in ended with the reset
        expect(proctor_page).to_have_url(f"{live_server}/login?next=/proctor")
        sign_in_with(proctor_page, proctor, temporary)
        expect(proctor_page).to_have_url(f"{live_server}/account/password")
        expect(proctor_page.get_by_test_id("must-change")).to_be_visible()
        assert blocking_violations(proctor_page) == []
        change_password(proctor_page, temporary, "short")  # the browser's minlength refuses it
        expect(proctor_page.get_by_test_id("notice")).to_have_count(0)
        change_password(proctor_page, "not the temporary one", OWN_PASSWORD)
        expect(proctor_page.get_by_test_id("form-errors")).to_contain_text("not correct")
        assert blocking_violations(proctor_page) == []
        change_password(proctor_page, temporary, OWN_PASSWORD)
        expect(proctor_page.get_by_test_id("notice")).to_contain_text("password was changed")
        expect(proctor_page.get_by_test_id("must-change")).to_have_count(0)
        proctor_page.goto("/proctor")
        expect(proctor_page).to_have_url(f"{live_server}/proctor")

        admin_page.goto("/admin/staff")
        staff_row(admin_page, proctor).get_by_test_id("deactivate").click()
        expect(staff_row(admin_page, proctor).get_by_test_id("staff-status")).to_have_text(
            "deactivated"
        )
        proctor_page.goto("/proctor")
        expect(proctor_page).to_have_url(f"{live_server}/login?next=/proctor")
        sign_in_with(proctor_page, proctor, OWN_PASSWORD)
        expect(proctor_page.get_by_test_id("login-error")).to_have_text("wrong email or password")

        staff_row(admin_page, proctor).get_by_test_id("reactivate").click()
        expect(staff_row(admin_page, proctor).get_by_test_id("staff-status")).to_have_text("active")
        sign_in_with(proctor_page, proctor, OWN_PASSWORD)
        expect(proctor_page).to_have_url(f"{live_server}/proctor")

        row = staff_row(admin_page, proctor)
        row.get_by_role("combobox").select_option("reviewer")
        row.get_by_test_id("change-role").click()
        expect(staff_row(admin_page, proctor).get_by_role("combobox")).to_have_value("reviewer")
        proctor_page.goto("/review")  # a new role: signed out, in again with the new one
        expect(proctor_page).to_have_url(f"{live_server}/login?next=/review")
    finally:
        admin_page.context.close()
        proctor_page.context.close()


def test_a_staff_member_changes_their_own_password(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    reviewer = factory.user(Role.REVIEWER)
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    try:
        sign_in(page, reviewer)
        page.get_by_role("link", name="Your password").click()
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=new_password]", OWN_PASSWORD)
        page.fill("input[name=confirm_password]", "a different passphrase")
        page.get_by_test_id("change-password").click()
        expect(page.get_by_test_id("form-errors")).to_contain_text("differ")
        change_password(page, PASSWORD, OWN_PASSWORD)
        expect(page.get_by_test_id("notice")).to_contain_text("password was changed")
        page.goto("/review")  # this browser stays signed in
        expect(page).to_have_url(f"{live_server}/review")
        page.get_by_role("button", name="Sign out").click()
        sign_in_with(page, reviewer, PASSWORD)
        expect(page.get_by_test_id("login-error")).to_be_visible()
        sign_in_with(page, reviewer, OWN_PASSWORD)
        expect(page).to_have_url(f"{live_server}/review")
    finally:
        context.close()


def test_the_exams_list_shows_status_counts_and_links(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    admin = factory.user(Role.ADMIN)
    exam = factory.exam(title="Chemistry final")
    ada = factory.candidate(exam, name="Ada")
    factory.candidate(exam, name="Bob")
    factory.db.add(
        ExamSession(candidate_id=ada.id, exam_id=exam.id, attempt=1, state=SessionState.RUNNING)
    )
    factory.db.commit()
    factory.exam(title="Physics draft")
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    try:
        sign_in(page, admin)
        page.goto("/admin/exams")
        row = page.locator("[data-testid=exam-row][data-title='Chemistry final']")
        expect(row.get_by_test_id("exam-status")).to_have_text("open")
        expect(row.get_by_test_id("count-candidates")).to_have_text("2")
        expect(row.get_by_test_id("count-in-progress")).to_have_text("1")
        expect(row.get_by_test_id("count-submitted")).to_have_text("0")
        draft = page.locator("[data-testid=exam-row][data-title='Physics draft']")
        expect(draft.get_by_test_id("exam-status")).to_have_text("draft")
        expect(row.get_by_text(" UTC").first).to_be_visible()
        assert blocking_violations(page) == []

        row.get_by_test_id("wall-link").click()
        expect(page).to_have_url(f"{live_server}/proctor/exams/{exam.id}")
        page.go_back()
        row.get_by_test_id("review-link").click()
        expect(page).to_have_url(f"{live_server}/review/exams/{exam.id}")
        expect(page.get_by_text("Ada").first).to_be_visible()
    finally:
        context.close()
