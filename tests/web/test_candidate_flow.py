"""A candidate opens the invite link in Chromium, whose fake webcam shows a face, and gets from
consent through the system check, the reference photo and the start page by pressing "next";
answers (surviving a reload), submits, and sees the submitted page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, expect

from openproctor.domains.integrations import service as integrations
from openproctor.domains.integrations.models import IntegrationWrite
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.outbound import OutboundPolicy
from tests.conftest import Factory
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.webcam import write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.analysis]

FACE = "pai_webcam_center.jpg"


@pytest.fixture(scope="module")
def face_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = write_y4m([(FACE, 5)], tmp_path_factory.mktemp("webcam") / "face.y4m")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
    yield browser
    browser.close()


def test_a_candidate_goes_from_the_invite_link_to_a_submitted_exam(
    face_browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam(
        questions=[
            {"prompt": "1 + 1?", "choices": ["1", "2"], "answer": 1},
            {"prompt": "2 + 2?", "choices": ["4", "5"], "answer": 0},
        ]
    )
    candidate = factory.candidate(exam)
    back = "https://lms.example.com/course/7"
    integrations.write(
        db=factory.db,
        exam=exam,
        settings=IntegrationWrite(return_url=back),
        outbound_policy=OutboundPolicy(),
    )
    factory.db.commit()
    context = face_browser.new_context(base_url=live_server)
    page = context.new_page()
    page.goto(f"/take/{candidate.invite_token}")
    next_button = page.get_by_test_id("next")

    expect(next_button).to_be_disabled()
    page.get_by_test_id("consent").check()
    next_button.click()

    expect(page.get_by_test_id("step-checks")).to_be_visible()
    passed = page.locator("[data-check]:is([data-status=ok], [data-status=warn])")
    expect(passed).to_have_count(5, timeout=15000)
    next_button.click()

    expect(page.get_by_test_id("step-enrol")).to_be_visible()
    next_button.click()  # takes photos until the server accepts one
    expect(page.locator(".enrol-status")).to_have_text(
        "Thank you, your reference photo is saved.", timeout=15000
    )
    next_button.click()

    expect(page.get_by_test_id("step-intro")).to_be_visible()
    next_button.click()
    expect(page.get_by_test_id("exam-running")).to_be_visible()
    expect(page.locator(".link-status")).to_have_attribute("data-state", "live")

    page.get_by_test_id("choice-0-1").check()
    expect(page.locator(".save-status")).to_have_text("All answers saved.")
    page.reload()  # picks up where it was, with the saved answer
    expect(page.get_by_test_id("exam-running")).to_be_visible()
    expect(page.get_by_test_id("choice-0-1")).to_be_checked()
    page.get_by_test_id("choice-1-0").check()
    page.get_by_test_id("submit").click()
    confirm = page.get_by_role("dialog", name="Submit your answers?")
    expect(confirm).to_contain_text("All 2 questions are answered.")
    expect(confirm.get_by_test_id("unanswered")).to_be_hidden()
    confirm.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_test_id("exam-submitted")).to_be_visible()
    expect(page.get_by_test_id("return-link")).to_have_attribute("href", back)

    factory.db.expire_all()
    session = sessions.latest_for_candidate(db=factory.db, candidate_id=candidate.id)
    assert session is not None
    assert session.state is SessionState.SUBMITTED
    assert session.answers == {"0": 1, "1": 0}
    assert session.score == 2
    assert session.enrollment is not None
    assert session.enrollment["embedder"] == "resnet_onnx+flip"
    context.close()
