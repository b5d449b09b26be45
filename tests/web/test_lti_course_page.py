"""The course page of an LTI exam, as its instructor uses it: the grade passback's state (a
failure shown, sent again), the roster a sync would bring (nothing changed yet), then Apply;
axe-clean."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.lti import access, keys
from openproctor.domains.lti.advantage_models import (
    GradePostStatus,
    LtiGradePost,
    LtiServiceLink,
)
from openproctor.domains.lti.models import LtiExamInstructor, LtiPlatform
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.integrations.lms_services import AGS_SCOPES, LmsServices, lms_services, member
from tests.integrations.receiver import RECEIVER_NETWORK
from tests.web.axe import blocking_violations
from tests.web.pages import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.outbound_allow(RECEIVER_NETWORK)]


@pytest.fixture
def lms() -> Iterator[LmsServices]:
    access.TOKENS.entries.clear()
    with lms_services() as services:
        yield services


def test_an_instructor_sees_grade_sync_and_applies_the_course_roster(
    browser: Browser, live_server: str, factory: Factory, lms: LmsServices
) -> None:
    db = factory.db
    instructor = factory.user(Role.PROCTOR)
    exam = factory.exam(title="Algebra midterm")
    platform = LtiPlatform(
        name="Moodle",
        issuer=lms.issuer,
        client_id=lms.client_id,
        auth_login_url=f"{lms.url}/auth",
        auth_token_url=lms.token_url,
        key_set_url=f"{lms.url}/jwks",
        public_key=None,
        deployment_ids=["1"],
    )
    db.add(platform)
    db.flush()
    link = LtiServiceLink(
        platform_id=platform.id,
        deployment_id="1",
        context_id=lms.context_id,
        context_title="Algebra I",
        resource_link_id="link-1",
        exam_id=exam.id,
        lineitems_url=lms.lineitems_url,
        ags_scopes=AGS_SCOPES,
        memberships_url=lms.memberships_url,
    )
    db.add(link)
    db.add(LtiExamInstructor(platform_id=platform.id, exam_id=exam.id, user_id=instructor.id))
    earlier = factory.candidate(exam, name="Eve")
    session = ExamSession(
        candidate_id=earlier.id, exam_id=exam.id, attempt=1, state=SessionState.SUBMITTED
    )
    db.add(session)
    db.flush()
    db.add(
        LtiGradePost(
            link_id=link.id,
            session_id=session.id,
            score={"userId": "eve"},
            status=GradePostStatus.FAILED,  # after a day of tries
            attempts=12,
            last_attempt_at=utcnow(),
            last_error="the platform's score service answered HTTP 503",
        )
    )
    lms.tool_jwks = keys.public_jwks([keys.tool_key(db=db)])
    db.commit()
    lms.members = [
        member("s1", "Ada Lovelace", "ada@uni.example.edu"),
        member("s2", "Bob Stone", "bob@uni.example.edu"),
    ]

    page = browser.new_page(base_url=live_server)
    sign_in(page, instructor)
    page.goto(f"/proctor/exams/{exam.id}/course")
    expect(page.get_by_test_id("grade-error")).to_contain_text("answered HTTP 503")
    added = page.get_by_test_id("roster-added")
    expect(added.locator("tbody tr")).to_have_count(2)
    expect(added).to_contain_text("Ada Lovelace")
    assert blocking_violations(page) == []
    db.expire_all()
    assert len(db.scalars(select(Candidate).where(Candidate.exam_id == exam.id)).all()) == 1

    page.get_by_test_id("grades-retry").click()
    expect(page.get_by_test_id("notice")).to_have_text("1 score will be sent again now.")
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Compare with the course roster").click()

    page.get_by_test_id("roster-apply").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("notice")).to_have_text(
        "Roster synced: 2 added, 0 updated, 0 removed, 0 kept."
    )
    assert blocking_violations(page) == []
    db.expire_all()
    names = sorted(
        c.name for c in db.scalars(select(Candidate).where(Candidate.exam_id == exam.id))
    )
    assert names == ["Ada Lovelace", "Bob Stone", "Eve"]
    page.goto(f"/proctor/exams/{exam.id}")  # the wall leads back here
    page.get_by_test_id("course-page").click()
    expect(page.get_by_test_id("roster-sync")).to_be_visible()
    page.close()

    # The admin's exam page says the grades are not getting through, and links here.
    page = browser.new_page(base_url=live_server)
    sign_in(page, factory.user(Role.ADMIN))
    page.goto(f"/admin/exams/{exam.id}")
    course = page.get_by_test_id("course-link")
    expect(course).to_contain_text("grades are not reaching the gradebook (1 waiting, 0 not")
    assert blocking_violations(page) == []
    course.get_by_role("link", name="Grades and course roster").click()
    expect(page.get_by_test_id("roster-sync")).to_contain_text("The candidates match the course")
    page.close()
