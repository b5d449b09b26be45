"""The exam clock in Chromium: a proctor's extra time and pause move the deadline on the server
and on the candidate's timer, and both still agree after the server restarts under a paused
exam; submitting asks first and names the questions left unanswered."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.settings import Settings
from tests.conftest import Factory, serving
from tests.servers import free_port
from tests.web.test_node_restart import RECONNECT_MS
from tests.web.test_proctor_wall import running_exam_page, wall_page

pytestmark = pytest.mark.browser

# The page's countdown ticks twice a second and rounds; the server's Date header has 1-s
# resolution; reading the page and the database takes a moment on a busy machine: they agree
# within this (a pause in these tests lasts longer).
AGREE_S = 3.0


def timer_seconds(page: Page) -> int:
    """The candidate's timer as seconds ("1:05:00" or "59:58")."""
    text = page.get_by_test_id("timer").inner_text()
    assert re.fullmatch(r"(\d+:)?\d+:\d\d", text), text
    seconds = 0
    for part in text.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def server_clock(factory: Factory, session: ExamSession) -> tuple[ExamSession, float]:
    """The session as stored and its time left now, as the server counts it."""
    factory.db.expire_all()
    row = factory.db.get(ExamSession, session.id)
    assert row is not None
    left = sessions.clock(db=factory.db, session=row).left(utcnow())
    assert left is not None
    return row, left.total_seconds()


def assert_agree(page: Page, factory: Factory, session: ExamSession) -> float:
    _, left = server_clock(factory, session)
    assert abs(timer_seconds(page) - left) <= AGREE_S, (page.inner_text(".timer"), left)
    return left


def session_of(factory: Factory, candidate: Candidate) -> ExamSession:
    session = sessions.latest_for_candidate(db=factory.db, candidate_id=candidate.id)
    assert session is not None
    return session


def test_extra_time_and_a_pause_move_the_deadline_on_the_server_and_the_page_across_a_restart(
    browser: Browser, settings: Settings, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    port = free_port()

    with serving(settings, port=port) as base_url:
        candidate = running_exam_page(browser, base_url, factory, ada)
        session = session_of(factory, ada)
        assert 59 * 60 - AGREE_S <= assert_agree(candidate, factory, session) <= 60 * 60

        staff = wall_page(browser, base_url, proctor, exam.id)
        staff.get_by_test_id("candidate-tile").click()
        staff.get_by_test_id("extra-minutes").fill("5")
        staff.get_by_test_id("extra-time").click()
        expect(staff.locator(".action-status")).to_contain_text("5 more minutes given")
        expect(candidate.get_by_test_id("clock-note")).to_have_text(
            "Your proctor gave you 5 more minutes."
        )
        row, _ = server_clock(factory, session)
        assert row.extra_seconds == 300
        expect(candidate.get_by_test_id("timer")).to_have_text(re.compile(r"^1:0[45]:\d\d$"))
        assert 64 * 60 <= assert_agree(candidate, factory, session) <= 65 * 60

        staff.get_by_test_id("pause").click()
        expect(candidate.get_by_test_id("exam-paused")).to_be_visible()
        expect(candidate.get_by_test_id("timer")).to_have_attribute("data-paused", "yes")
        left_when_paused = assert_agree(candidate, factory, session)
        shown_when_paused = timer_seconds(candidate)
        for page in (candidate, staff):
            page.evaluate("window.beforeRestart = true")

    # The server is down, the exam paused: the page's timer stands still meanwhile.
    candidate.wait_for_timeout(3000)
    assert timer_seconds(candidate) == shown_when_paused

    with serving(settings, port=port):
        expect(candidate.locator(".link-status")).to_have_attribute(
            "data-state", "live", timeout=RECONNECT_MS
        )
        expect(candidate.get_by_test_id("exam-paused")).to_be_visible()
        assert_agree(candidate, factory, session)
        expect(staff.get_by_test_id("live")).to_have_attribute(
            "data-state", "live", timeout=RECONNECT_MS
        )
        expect(staff.get_by_test_id("resume")).to_be_enabled()
        staff.get_by_test_id("resume").click()
        expect(candidate.get_by_test_id("exam-running")).to_be_visible()
        expect(candidate.get_by_test_id("timer")).to_have_attribute("data-paused", "no")

        # The pause (the restart included) cost no time: the deadline moved by all of it.
        row, left = server_clock(factory, session)
        assert row.state is SessionState.RUNNING
        assert row.paused_at is None
        assert row.paused_seconds >= 2
        assert row.started_at is not None
        assert abs(left - left_when_paused) <= AGREE_S
        deadline = sessions.clock(db=factory.db, session=row).deadline(utcnow())
        assert deadline is not None
        expected = row.started_at.timestamp() + 65 * 60 + row.paused_seconds
        assert deadline.timestamp() == pytest.approx(expected)
        assert_agree(candidate, factory, session)
        shown = timer_seconds(candidate)
        candidate.wait_for_timeout(2000)  # and it counts down again
        assert timer_seconds(candidate) <= shown - 1
        assert_agree(candidate, factory, session)
        for page in (candidate, staff):
            assert page.evaluate("window.beforeRestart") is True  # nobody reloaded them
        staff.context.close()
        candidate.context.close()


def test_submitting_asks_first_and_names_the_unanswered_questions(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    exam = factory.exam(
        questions=[
            {"prompt": "1 + 1?", "choices": ["1", "2"], "answer": 1},
            {"prompt": "2 + 2?", "choices": ["4", "5"], "answer": 0},
            {"prompt": "3 + 3?", "choices": ["6", "7"], "answer": 0},
        ]
    )
    ada = factory.candidate(exam, name="Ada")
    page = running_exam_page(browser, live_server, factory, ada)
    dialog = page.get_by_role("dialog", name="2 of 3 questions are not answered")
    page.get_by_test_id("choice-0-1").check()
    expect(page.locator(".save-status")).to_have_text("All answers saved.")

    page.get_by_test_id("submit").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("unanswered").locator("li")).to_have_text(
        ["Question 2: 2 + 2?", "Question 3: 3 + 3?"]
    )
    expect(dialog.get_by_role("button", name="Keep working")).to_be_focused()
    page.keyboard.press("Escape")  # keeps working, at the first open question
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("choice-1-0")).to_be_focused()
    expect(page.get_by_test_id("exam-running")).to_be_visible()

    page.get_by_test_id("choice-2-0").check()
    page.get_by_test_id("submit").click()
    one_left = page.get_by_role("dialog", name="1 of 3 questions is not answered")
    expect(one_left.get_by_test_id("unanswered").locator("li")).to_have_text(["Question 2: 2 + 2?"])
    page.keyboard.press("Tab")
    expect(one_left.get_by_role("button", name="Submit anyway")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("exam-submitted")).to_be_visible()

    factory.db.expire_all()
    session = session_of(factory, ada)
    assert session.state is SessionState.SUBMITTED
    assert session.answers == {"0": 1, "2": 0}
    page.context.close()
