"""An administrator sets an exam up without JSON in Chromium: builds a single- and a
multiple-choice question in the editor, previews them as a candidate sees them, a candidate
takes the exam and the score shows; one rule switched off in the policy form keeps every
other default; an exam set at 09:00 in Europe/Berlin opens at the right UTC instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from openproctor.db import utcnow
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.exams.zones import to_wall_clock
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web.axe import blocking_violations
from tests.web.pages import sign_in
from tests.web.test_proctor_wall import running_exam_page

pytestmark = pytest.mark.browser

WALL_CLOCK = "%Y-%m-%dT%H:%M"


def admin_page(browser: Browser, live_server: str, factory: Factory, zone: str) -> Page:
    page = browser.new_context(base_url=live_server, timezone_id=zone).new_page()
    sign_in(page, factory.user(Role.ADMIN))
    return page


def the_exam(factory: Factory, title: str) -> Exam:
    factory.db.expire_all()
    exam = factory.db.scalar(select(Exam).where(Exam.title == title))
    assert exam is not None
    return exam


def test_an_exam_built_in_the_editor_is_previewed_taken_and_scored(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    page = admin_page(browser, live_server, factory, "UTC")
    page.goto("/admin/exams/new")
    expect(page.get_by_test_id("timezone")).to_have_value("UTC")
    page.fill("input[name=title]", "Numbers quiz")
    opens = utcnow() - timedelta(hours=1)
    page.fill("input[name=opens_at]", opens.strftime(WALL_CLOCK))
    page.fill("input[name=closes_at]", (opens + timedelta(hours=4)).strftime(WALL_CLOCK))

    page.get_by_test_id("add-question").click()
    expect(page.get_by_label("Question", exact=True)).to_be_focused()  # typing can start
    page.keyboard.type("What is 2 + 2?")
    page.get_by_label("Question 1, choice 1").fill("3")
    page.get_by_label("Question 1, choice 2").fill("4")
    page.get_by_role("button", name="Add a choice to question 1").click()
    expect(page.get_by_label("Question 1, choice 3")).to_be_focused()
    page.keyboard.type("5")
    page.get_by_label("Choice 2 of question 1 is correct").check()

    page.get_by_test_id("add-question").click()
    page.keyboard.type("Which are prime?")
    second = page.get_by_test_id("question-card").nth(1)
    second.get_by_label("Answer type").select_option("multiple")
    second.get_by_label("Points").fill("3")
    for number, text in enumerate(["2", "4", "5"], start=1):
        if number > 2:
            page.get_by_role("button", name="Add a choice to question 2").click()
        page.get_by_label(f"Question 2, choice {number}").fill(text)
    page.get_by_label("Choice 1 of question 2 is correct").check()
    page.get_by_label("Choice 3 of question 2 is correct").check()
    # Reordering: move the second question up and back, by keyboard.
    page.get_by_role("button", name="Move up question 2").press("Enter")
    prompts = page.get_by_label("Question", exact=True)
    expect(prompts.first).to_have_value("Which are prime?")
    expect(page.get_by_role("button", name="Move down question 1")).to_be_focused()
    expect(page.get_by_role("button", name="Move up question 1")).to_be_disabled()
    page.get_by_role("button", name="Move down question 1").click()
    expect(prompts.first).to_have_value("What is 2 + 2?")

    page.get_by_test_id("preview-questions").click()
    preview = page.get_by_test_id("question-preview")
    expect(preview.locator("fieldset.question")).to_have_count(2)
    expect(preview.locator("fieldset.question").nth(1)).to_contain_text(
        "Question 2 of 2 · tick every correct answer"
    )
    expect(preview.locator("input[type=checkbox]")).to_have_count(3)
    expect(preview.locator("input[type=radio]")).to_have_count(3)
    expect(preview).not_to_contain_text("correct choice")  # no answer shown
    assert blocking_violations(page) == []
    page.get_by_test_id("save-exam").click()
    expect(page.get_by_test_id("exam-title")).to_have_text("Numbers quiz")
    expect(page.get_by_test_id("exam-window")).to_contain_text(
        "2 built-in questions worth 4 points"
    )
    assert blocking_violations(page) == []

    exam = the_exam(factory, "Numbers quiz")
    assert exam.questions == [
        {"prompt": "What is 2 + 2?", "kind": "single", "choices": ["3", "4", "5"], "answer": 1,
         "points": 1.0},
        {"prompt": "Which are prime?", "kind": "multiple", "choices": ["2", "4", "5"],
         "answer": [0, 2], "points": 3.0},
    ]  # fmt: skip
    ada = factory.candidate(exam, name="Ada")
    taking = running_exam_page(browser, live_server, factory, ada)
    expect(taking.locator("fieldset.question").nth(1)).to_contain_text("tick every correct")
    taking.get_by_test_id("choice-0-1").check()
    taking.get_by_test_id("choice-1-0").check()
    taking.get_by_test_id("choice-1-2").check()
    expect(taking.locator(".save-status")).to_have_text("All answers saved.")
    taking.reload()  # the ticked boxes come back from the server
    expect(taking.get_by_test_id("exam-running")).to_be_visible()
    expect(taking.get_by_test_id("choice-1-2")).to_be_checked()
    expect(taking.get_by_test_id("choice-1-1")).not_to_be_checked()
    taking.get_by_test_id("submit").click()
    taking.get_by_role("dialog", name="Submit your answers?").get_by_role(
        "button", name="Submit", exact=True
    ).click()
    expect(taking.get_by_test_id("exam-submitted")).to_be_visible()

    factory.db.expire_all()
    session = sessions.latest_for_candidate(db=factory.db, candidate_id=ada.id)
    assert session is not None
    assert session.state is SessionState.SUBMITTED
    assert session.answers == {"0": 1, "1": [0, 2]}
    page.goto(f"/review/exams/{exam.id}")
    expect(page.get_by_test_id("review-row").locator("td.num").nth(1)).to_have_text("4")


def test_one_rule_switched_off_in_the_form_keeps_every_other_default(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    page = admin_page(browser, live_server, factory, "UTC")
    page.goto("/admin/exams/new")
    expect(page.get_by_test_id("policy")).to_contain_text("Yes")
    expect(page.get_by_test_id("policy")).to_contain_text("cell phone, book, laptop")
    expect(page.get_by_test_id("policy")).not_to_contain_text("True")
    assert blocking_violations(page) == []
    page.fill("input[name=title]", "Essay")
    page.fill("input[name=external_url]", "https://quiz.example.edu/essay")
    page.get_by_label("Looking away: On").uncheck()
    page.get_by_test_id("save-exam").click()
    expect(page.get_by_test_id("exam-title")).to_have_text("Essay")

    exam = the_exam(factory, "Essay")
    expected = ExamPolicy.model_validate({"rules": {"looking_away": {"enabled": False}}})
    assert exam.policy == expected.model_dump(mode="json")
    assert exam.policy["rules"]["looking_away"]["prompt_after_s"] == 2  # its own other fields

    page.goto(f"/admin/exams/{exam.id}/edit")  # saved again unchanged: nothing moves
    expect(page.get_by_label("Looking away: On")).not_to_be_checked()
    page.get_by_test_id("save-exam").click()
    expect(page.get_by_test_id("exam-title")).to_have_text("Essay")
    assert the_exam(factory, "Essay").policy == expected.model_dump(mode="json")


@pytest.mark.parametrize(
    ("day", "utc_hour", "shown"),
    [
        ("2027-01-12", 8, "Tue 12 Jan 2027, 09:00 CET"),
        ("2027-07-12", 7, "Mon 12 Jul 2027, 09:00 CEST"),
    ],
)
def test_an_exam_set_at_nine_in_berlin_opens_at_the_right_utc_instant(
    browser: Browser, live_server: str, factory: Factory, day: str, utc_hour: int, shown: str
) -> None:
    page = admin_page(browser, live_server, factory, "Europe/Berlin")
    page.goto("/admin/exams/new")
    expect(page.get_by_test_id("timezone")).to_have_value("Europe/Berlin")  # the browser's
    proposed = datetime.strptime(page.locator("input[name=opens_at]").input_value(), WALL_CLOCK)
    berlin_now = to_wall_clock(utcnow(), "Europe/Berlin")  # "from now" on the Berlin clock
    assert abs(proposed - berlin_now) < timedelta(minutes=2)
    page.fill("input[name=title]", "Berlin exam")
    page.fill("input[name=external_url]", "https://quiz.example.edu/berlin")
    page.fill("input[name=opens_at]", f"{day}T09:00")
    page.fill("input[name=closes_at]", f"{day}T12:00")
    page.get_by_test_id("save-exam").click()
    window = page.get_by_test_id("exam-window")
    expect(window).to_contain_text(f"Opens {shown} (Europe/Berlin)")
    expect(window).not_to_contain_text("your time")  # the admin is in the exam's zone

    exam = the_exam(factory, "Berlin exam")
    year, month, date = map(int, day.split("-"))
    assert exam.opens_at == datetime(year, month, date, utc_hour, 0, tzinfo=UTC)
    assert exam.closes_at == datetime(year, month, date, utc_hour + 3, 0, tzinfo=UTC)
    assert exam.timezone == "Europe/Berlin"

    # A colleague in New York sees the exam's time and their own.
    colleague = admin_page(browser, live_server, factory, "America/New_York")
    colleague.goto(f"/admin/exams/{exam.id}")
    expect(colleague.get_by_test_id("exam-window")).to_contain_text(
        f"{shown} (Europe/Berlin) ({utc_hour - 5 + (1 if month == 7 else 0):02d}:00 your time,"
        " America/New_York)"
    )
    colleague.goto(f"/admin/exams/{exam.id}/edit")  # edited in the exam's zone, not theirs
    expect(colleague.locator("input[name=opens_at]")).to_have_value(f"{day}T09:00")
    expect(colleague.get_by_test_id("timezone")).to_have_value("Europe/Berlin")
    assert blocking_violations(colleague) == []
