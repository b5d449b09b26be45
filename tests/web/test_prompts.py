"""A self-correction prompt in Chromium: the candidate's fake webcam shows their face, then
nobody, then the face again (clean fixture photos); "We cannot see your face" appears on the
candidate's page before the no_face violation opens, goes away when the face is back, and is
recorded on the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, expect
from sqlalchemy import select

from openproctor.domains.exams.policy import PROMPT_TEXTS, ViolationKind
from openproctor.domains.sessions.models import ExamSession, SessionPrompt
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from tests.conftest import Factory
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.test_proctoring_scenario import start_exam
from tests.web.webcam import write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.analysis]

# Alone in view long enough to pass the check, take the photo and start; then away long enough
# for the violation to open; then back for the rest of the test.
SCENARIO = [
    ("pai_webcam_center.jpg", 30),
    ("noface_coffee.jpg", 8),
    ("pai_webcam_center.jpg", 60),
]


@pytest.fixture(scope="module")
def away_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = write_y4m(SCENARIO, tmp_path_factory.mktemp("webcam") / "away.y4m")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
    yield browser
    browser.close()


def test_the_no_face_prompt_appears_before_the_violation_and_goes_when_the_face_is_back(
    away_browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam(policy={"require_fullscreen": False})
    candidate = factory.candidate(exam, factory.user(Role.PROCTOR), name="Ada")

    page = away_browser.new_context(base_url=live_server).new_page()
    page.goto(f"/take/{candidate.invite_token}")
    start_exam(page)
    session = factory.db.scalar(select(ExamSession).where(ExamSession.candidate_id == candidate.id))
    assert session is not None

    prompt = page.locator('[data-testid="prompt"][data-kind="no_face"]')
    expect(prompt).to_be_visible(timeout=45_000)
    expect(prompt.locator(".prompt-text")).to_have_text(PROMPT_TEXTS[ViolationKind.NO_FACE])
    # Read out by screen readers without taking the focus: it sits in a status region.
    expect(page.get_by_test_id("prompts")).to_have_attribute("role", "status")
    expect(prompt).to_be_hidden(timeout=30_000)

    factory.db.expire_all()
    rows = factory.db.scalars(
        select(SessionPrompt).where(SessionPrompt.session_id == session.id)
    ).all()
    shown = [row for row in rows if row.kind == "no_face"]
    assert len(shown) == 1, [(row.kind, row.shown_at, row.cleared_at) for row in rows]
    assert shown[0].text == PROMPT_TEXTS[ViolationKind.NO_FACE]
    assert shown[0].cleared_at is not None
    violation = factory.db.scalar(
        select(Violation).where(
            Violation.session_id == session.id, Violation.kind == ViolationKind.NO_FACE
        )
    )
    assert violation is not None, "the face stayed away past the debounce"
    # The prompt came after its delay and before the violation opened (its debounce).
    rule = exam.parsed_policy.rules[ViolationKind.NO_FACE]
    assert rule.prompt_after_s is not None
    delay = (shown[0].shown_at - violation.started_at).total_seconds()
    assert rule.prompt_after_s <= delay < rule.min_duration_s, delay
