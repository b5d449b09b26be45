"""The candidate's safety nets in Chromium: the consent text says what the exam's policy
does (auto-termination on or off) and the session keeps the text agreed to; the practice run
checks camera, microphone, connection and the photo before the exam opens, without making an
attempt or a violation, and the admin sees that the candidate practised."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Playwright, expect
from sqlalchemy import func, select

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from tests.conftest import Factory
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.pages import sign_in
from tests.web.webcam import write_y4m

pytestmark = pytest.mark.browser


def test_the_consent_names_auto_termination_and_the_agreed_text_is_kept(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    texts = {}
    for auto_terminate in (False, True):
        exam = factory.exam(policy={"auto_terminate": auto_terminate, "require_fullscreen": False})
        candidate = factory.candidate(exam)
        page = browser.new_context(base_url=live_server).new_page()
        page.goto(f"/take/{candidate.invite_token}")
        consent = page.get_by_test_id("consent-text")
        expect(consent).to_be_visible()
        texts[auto_terminate] = "\n".join(consent.locator("li").all_inner_texts())
        shown_sha256 = consent.get_attribute("data-consent-sha256")
        page.get_by_test_id("consent").check()
        page.get_by_test_id("next").click()
        expect(page.get_by_test_id("step-checks")).to_be_visible()
        page.context.close()

        factory.db.expire_all()
        session = factory.db.scalar(
            select(ExamSession).where(ExamSession.candidate_id == candidate.id)
        )
        assert session is not None
        assert session.consent_text == texts[auto_terminate]
        assert session.consent_sha256 == shown_sha256
        assert session.consent_version is not None
    assert "Nothing is decided automatically" in texts[False]
    assert "ended automatically" not in texts[False]
    assert "ended automatically" in texts[True]
    assert "Nothing is decided automatically" not in texts[True]


@pytest.fixture(scope="module")
def face_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = write_y4m([("pai_webcam_center.jpg", 60)], tmp_path_factory.mktemp("webcam") / "f.y4m")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
    yield browser
    browser.close()


@pytest.mark.analysis
def test_practice_before_the_exam_checks_everything_and_makes_no_attempt(
    face_browser: Browser, browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam(opens_in=timedelta(days=1))
    candidate = factory.candidate(exam)
    page = face_browser.new_context(base_url=live_server).new_page()
    page.goto(f"/take/{candidate.invite_token}")
    expect(page.get_by_test_id("exam-closed")).to_contain_text("this exam opens at")
    page.get_by_test_id("practice-link").click()

    expect(page.get_by_test_id("step-checks")).to_be_visible()
    for check in ("camera", "microphone", "bandwidth"):
        expect(page.locator(f'[data-check="{check}"]')).to_have_attribute(
            "data-status", "ok", timeout=30_000
        )
    next_button = page.get_by_test_id("next")
    expect(next_button).to_be_enabled(timeout=30_000)
    next_button.click()
    page.get_by_test_id("next").click()  # "Try my photo"
    expect(page.get_by_test_id("practice-done")).to_be_visible(timeout=60_000)
    page.context.close()

    factory.db.expire_all()
    assert factory.db.scalar(select(func.count()).select_from(ExamSession)) == 0
    assert factory.db.scalar(select(func.count()).select_from(Violation)) == 0
    stored = factory.db.get(Candidate, candidate.id)
    assert stored is not None
    assert stored.practised_at is not None

    admin = browser.new_context(base_url=live_server).new_page()
    sign_in(admin, factory.user(Role.ADMIN))
    admin.goto(f"/admin/exams/{exam.id}")
    expect(admin.get_by_test_id("practised")).to_have_text(
        f"{stored.practised_at:%a %d %b %Y, %H:%M} UTC"
    )
