"""Invitations in Chromium, with a real SMTP server: an admin adds a candidate on the roster,
e-mails them, sees the delivery status; the link in the e-mail opens the candidate's page;
withdrawn, the same link shows a page that says so; a refusing mail server shows as failed
with its reason; a candidate with an attempt is not removed, and the page says why. The
roster, the wording page and the candidate's page pass axe."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import Factory, serving
from tests.live.clients import running_session
from tests.mailbox import Mailbox, body_of
from tests.web.axe import blocking_violations
from tests.web.pages import sign_in

pytestmark = pytest.mark.browser
LINK = re.compile(r"http://127\.0\.0\.1:\d+/take/\S+")


def status_shows(page: Page, text: str, timeout_s: float = 15.0) -> None:
    """The roster is drawn by the server: reload it until the delivery status reads `text`."""
    deadline = time.monotonic() + timeout_s
    while text not in page.get_by_test_id("mail-status").first.inner_text():
        assert time.monotonic() < deadline, page.get_by_test_id("mail-status").first.inner_text()
        time.sleep(0.2)
        page.reload()


def test_an_emailed_link_opens_the_exam_until_it_is_withdrawn(
    browser: Browser, mail_settings: Settings, mailbox: Mailbox, factory: Factory
) -> None:
    exam = factory.exam(policy={"require_fullscreen": False})
    admin = factory.user(Role.ADMIN)
    with serving(mail_settings) as base_url:
        page = browser.new_context(base_url=base_url).new_page()
        sign_in(page, admin)
        page.goto(f"/admin/exams/{exam.id}")
        page.get_by_test_id("add-candidate-toggle").click()
        form = page.get_by_test_id("add-candidate")
        form.get_by_label("Name").fill("Chloé Durand")
        form.get_by_label("Email").fill("chloe@example.com")
        form.get_by_role("button", name="Add").click()
        expect(page.get_by_test_id("notice")).to_have_text("Added Chloé Durand")
        page.get_by_test_id("add-candidate-toggle").click()
        form.get_by_label("Name").fill("Chloé Twice")
        form.get_by_label("Email").fill("Chloe@Example.com")
        form.get_by_role("button", name="Add").click()
        expect(page.get_by_test_id("add-candidate-errors")).to_contain_text(
            "chloe@example.com is already a candidate of this exam"
        )
        expect(form.get_by_label("Name")).to_have_value("Chloé Twice")  # nothing lost

        page.get_by_test_id("invite-unsent").click()
        expect(page.get_by_test_id("notice")).to_have_text("1 invitation(s) queued")
        [received] = mailbox.wait_for(1)
        assert received["To"] == "chloe@example.com"
        link = LINK.search(body_of(received))
        assert link is not None
        status_shows(page, "Invitation sent")
        page.get_by_test_id("candidate-actions").click()
        assert blocking_violations(page) == []

        candidate = browser.new_context().new_page()
        candidate.goto(link.group(0))
        expect(candidate.get_by_test_id("consent-text")).to_be_visible()
        assert blocking_violations(candidate) == []

        page.get_by_test_id("withdraw-link").click()
        expect(page.get_by_test_id("notice")).to_contain_text("link is withdrawn")
        expect(page.get_by_test_id("link-withdrawn")).to_be_visible()
        candidate.goto(link.group(0))
        expect(candidate.get_by_role("heading", level=1)).to_have_text("This link does not work")
        expect(candidate.get_by_test_id("exam-closed")).to_contain_text("withdrawn")
        assert blocking_violations(candidate) == []

        page.goto(f"/admin/exams/{exam.id}/email")
        assert blocking_violations(page) == []
        page.get_by_test_id("invitation-body").fill("Hello {name}, see you at {opens}")
        page.get_by_test_id("preview-wording").click()
        errors = page.get_by_test_id("form-errors")
        expect(errors).to_contain_text("Invitation body: {opens} is not a placeholder")
        expect(errors).to_contain_text("Invitation body: must contain {link}")
        page.get_by_test_id("invitation-body").fill("Hello {name}: {link}")
        page.get_by_test_id("preview-wording").click()
        expect(page.get_by_test_id("preview-body").first).to_contain_text("Hello Chloé Durand: ")
        assert blocking_violations(page) == []


def test_a_refusal_shows_on_the_roster_and_a_started_candidate_stays(
    browser: Browser, mail_settings: Settings, mailbox: Mailbox, factory: Factory
) -> None:
    exam = factory.exam()
    ada = factory.candidate(exam, name="Ada")
    running_session(factory, ada)
    mailbox.refuse = "550 5.1.1 <ada> Mailbox unavailable"
    with serving(mail_settings) as base_url:
        page = browser.new_context(base_url=base_url).new_page()
        sign_in(page, factory.user(Role.ADMIN))
        page.goto(f"/admin/exams/{exam.id}")
        page.get_by_test_id("candidate-actions").click()
        page.get_by_test_id("invite-one").click()
        expect(page.get_by_test_id("notice")).to_have_text("Invitation to Ada queued")
        status_shows(page, "Invitation failed")
        expect(page.get_by_test_id("mail-error")).to_have_text(
            "the mail server said 550 5.1.1 <ada> Mailbox unavailable"
        )
        page.get_by_test_id("candidate-actions").click()
        page.get_by_test_id("remove-candidate").click()
        expect(page.get_by_test_id("page-error")).to_have_text(
            "Ada cannot be removed: their attempt is in progress: end it first"
        )
        expect(page.get_by_test_id("candidates")).to_contain_text("Ada")
        assert blocking_violations(page) == []
        with page.expect_download() as download:
            page.get_by_test_id("export-invites").click()
        exported = Path(download.value.path()).read_bytes()
        assert exported.startswith(b"\xef\xbb\xbfname,email,external_id,link\r\nAda,")
        assert f"{base_url}/take/{ada.invite_token}".encode() in exported
