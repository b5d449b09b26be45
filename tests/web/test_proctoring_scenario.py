"""The live loop's acceptance scenario in two real browsers.

The candidate's fake webcam plays one face, then two faces, then nobody (clean fixture photos).
The candidate completes the flow by pressing "next"; the proctor's wall shows a
multiple_faces alert with its evidence image and a no_face alert, each within 5 s of the first
frame that showed it; the proctor's message reaches the candidate; a tab switch raises
tab_switch; the proctor ends the exam and the candidate sees it; the database keeps it all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlalchemy import select

from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from tests.conftest import Factory
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.pages import set_visibility, sign_in
from tests.web.test_recording import wait_until
from tests.web.webcam import write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.analysis]

# Long enough alone in view to get through the checks, enrolment and the start page.
SCENARIO = [
    ("pai_webcam_center.jpg", 25),
    ("fr_two_people.jpg", 10),
    ("noface_coffee.jpg", 12),
]
ALERT_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def scenario_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = write_y4m(SCENARIO, tmp_path_factory.mktemp("webcam") / "scenario.y4m")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
    yield browser
    browser.close()


def start_exam(page: Page) -> None:
    """Consent, then "next" until the exam runs: the contract external checks rely on."""
    page.get_by_test_id("consent").check()
    deadline = time.monotonic() + 60
    running = page.get_by_test_id("exam-running")
    while not running.is_visible():
        assert time.monotonic() < deadline, "the flow did not reach the running exam"
        button = page.get_by_test_id("next").locator("visible=true")
        if button.count() and button.first.is_enabled():
            button.first.click()
        page.wait_for_timeout(300)


def wait_for_alert(page: Page, kind: str, timeout_s: float = 60) -> float:
    """Waits for the wall's alert of this kind; returns when it appeared (epoch seconds)."""
    alert = page.locator(f'[data-testid="alert"][data-kind="{kind}"]').first
    alert.wait_for(state="visible", timeout=timeout_s * 1000)
    return time.time()


def test_the_proctor_sees_violations_with_evidence_and_ends_the_exam(
    scenario_browser: Browser, browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy={"require_fullscreen": False})
    candidate = factory.candidate(exam, proctor, name="Ada")

    staff = browser.new_context(base_url=live_server).new_page()
    sign_in(staff, proctor)
    staff.goto(f"/proctor/exams/{exam.id}")
    expect(staff.get_by_test_id("live")).to_have_attribute("data-state", "live")

    page = scenario_browser.new_context(base_url=live_server).new_page()
    page.goto(f"/take/{candidate.invite_token}")
    start_exam(page)

    seen_multiple = wait_for_alert(staff, "multiple_faces")
    evidence = staff.locator(
        '[data-testid="alert"][data-kind="multiple_faces"] [data-testid="alert-evidence"]'
    ).first
    expect(evidence).to_be_visible()
    # Polled from the test: the page's policy (no eval) refuses Playwright's in-page polling.
    wait_until(
        lambda: evidence.evaluate("img => img.complete && img.naturalWidth > 0"),
        15,
        "the evidence picture",
    )
    seen_no_face = wait_for_alert(staff, "no_face")

    staff.get_by_test_id("candidate-tile").first.click()
    staff.get_by_test_id("message-text").fill("Please stay in view of the camera.")
    staff.get_by_test_id("send-message").click()
    expect(page.get_by_test_id("proctor-message")).to_contain_text(
        "Please stay in view of the camera."
    )

    # Headless Chromium keeps every tab "visible", so the tab switch is what the browser would
    # report when the candidate leaves: the page becomes hidden, then visible again.
    set_visibility(page, hidden=True)
    wait_for_alert(staff, "tab_switch", timeout_s=15)
    set_visibility(page, hidden=False)

    staff.get_by_test_id("terminate").click()
    staff.get_by_test_id("terminate-reason").fill("A second person answered.")
    staff.get_by_test_id("terminate-confirm").click()
    expect(page.get_by_test_id("exam-terminated")).to_be_visible(timeout=10_000)
    page.context.close()

    factory.db.expire_all()
    violations = {v.kind.value: v for v in factory.db.scalars(select(Violation))}
    assert {"multiple_faces", "no_face", "tab_switch"} <= set(violations)
    for kind, seen in (("multiple_faces", seen_multiple), ("no_face", seen_no_face)):
        started: datetime = violations[kind].started_at
        # started_at is when the first frame showing it arrived; the debounce is in the 5 s.
        assert seen - started.timestamp() < ALERT_WITHIN_S, (kind, seen, started)
    evidence_rows = factory.db.scalars(
        select(StoredObject).where(StoredObject.purpose == ObjectPurpose.EVIDENCE)
    ).all()
    assert {row.violation_id for row in evidence_rows} >= {
        violations["multiple_faces"].id,
        violations["no_face"].id,
    }
    session = factory.db.scalar(select(ExamSession).where(ExamSession.candidate_id == candidate.id))
    assert session is not None
    assert session.state is SessionState.TERMINATED
    assert session.end_reason == "A second person answered."
