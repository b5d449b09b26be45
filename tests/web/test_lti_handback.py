"""The LTI hand-back page in Chromium, under the server's CSP: it posts the signed
LtiStartAssessment to the course site (a local platform) at once; with its module blocked the
learner continues with the keyboard. Accessible, as is the page LtiEndAssessment shows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.lti.models import LtiPlatform
from openproctor.domains.lti.proctoring_models import LtiProctoredAttempt
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.web.templating import templates
from tests.conftest import Factory
from tests.integrations.lti_platform import PlatformServices, platform_services
from tests.web.axe import blocking_violations
from tests.web.test_proctor_wall import running_exam_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def services() -> Iterator[PlatformServices]:
    with platform_services("https://lms.example.edu", "openproctor-tool", "deployment-1") as s:
        yield s


def proctored(factory: Factory, services: PlatformServices) -> Candidate:
    """A candidate whose session a platform's LtiStartProctoring opened (not started yet)."""
    exam = factory.exam(questions=[], external_url=services.url + "/assessment")
    candidate = factory.candidate(exam)
    platform = LtiPlatform(
        name="Moodle",
        issuer=services.issuer,
        client_id=services.client_id,
        auth_login_url="https://lms.example.edu/auth",
        key_set_url="https://lms.example.edu/jwks",
        deployment_ids=[services.deployment_id],
    )
    factory.db.add(platform)
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    session_data = f"csrf-{uuid.uuid4().hex}"
    services.session_data[("learner-1", 1)] = session_data
    factory.db.add(
        LtiProctoredAttempt(
            platform_id=platform.id,
            session_id=session.id,
            deployment_id=services.deployment_id,
            resource_link_id="link-1",
            subject="learner-1",
            attempt_number=1,
            session_data=session_data,
            start_assessment_url=services.url + "/start-assessment",
        )
    )
    factory.db.commit()
    return candidate


def running(factory: Factory, candidate: Candidate) -> str:
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING):
        sessions.move(session, state)
    factory.db.commit()
    return candidate.invite_token


def test_the_hand_back_page_posts_the_start_assessment_to_the_course_site(
    browser: Browser, live_server: str, factory: Factory, services: PlatformServices
) -> None:
    token = running(factory, proctored(factory, services))
    services.tool_jwks = httpx.get(f"{live_server}/lti/jwks").json()
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    try:
        page.goto(f"/lti/assessment/{token}")
        expect(page.get_by_role("heading", name="Midterm: question 1")).to_be_visible()
        assert services.refused == []
        assert len(services.assessments_started) == 1

        # Without its module (blocked here), the learner continues with the keyboard.
        page.route("**/static/js/lti/handback.js", lambda route: route.abort())
        page.goto(f"{live_server}/lti/assessment/{token}")
        continue_button = page.get_by_role("button", name="Continue to my exam")
        expect(continue_button).to_be_visible()
        assert blocking_violations(page) == []
        continue_button.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Midterm: question 1")).to_be_visible()
        assert len(services.assessments_started) == 2
    finally:
        context.close()


def test_the_running_exam_page_opens_the_course_site_exam_in_a_new_tab(
    browser: Browser, live_server: str, factory: Factory, services: PlatformServices
) -> None:
    """The candidate keeps the proctored page (camera on); the exam opens beside it."""
    candidate = proctored(factory, services)
    services.tool_jwks = httpx.get(f"{live_server}/lti/jwks").json()
    started = len(services.assessments_started)
    page = running_exam_page(browser, live_server, factory, candidate)
    try:
        link = page.get_by_test_id("lti-assessment-link")
        expect(link).to_be_visible()
        assert link.get_attribute("href") == f"/lti/assessment/{candidate.invite_token}"
        expect(page.get_by_test_id("submit")).to_have_text("I have finished")
        assert blocking_violations(page, within=[".lti-assessment"]) == []
        with page.context.expect_page() as opened:
            link.click()
        exam_tab = opened.value
        expect(exam_tab.get_by_role("heading", name="Midterm: question 1")).to_be_visible()
        assert len(services.assessments_started) == started + 1
        expect(page.get_by_test_id("exam-running")).to_be_visible()
    finally:
        page.context.close()


def test_the_ended_and_refused_pages_are_accessible(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    ended = templates.get_template("lti/ended.html").render(csrf_token="", user=None)
    context = browser.new_context(base_url=live_server)
    page = context.new_page()

    def serve_ended(route: Route) -> None:
        route.fulfill(body=ended, content_type="text/html")

    try:
        page.route("**/preview/lti-ended", serve_ended)
        page.goto("/preview/lti-ended")
        expect(page.get_by_role("heading", name="Your proctored session has ended")).to_be_visible()
        assert blocking_violations(page) == []

        candidate = factory.candidate(factory.exam())
        refused = page.goto(f"{live_server}/lti/assessment/{candidate.invite_token}")
        assert refused is not None
        assert refused.status == 404
        expect(page.get_by_test_id("lti-error")).to_contain_text("not opened from a course site")
        assert blocking_violations(page) == []
    finally:
        context.close()
