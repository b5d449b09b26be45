"""The candidate's answers as the reviewer reads them (domains/reports/answers.py): each
question marked correct, incorrect or not answered, and the score out of the maximum."""

from __future__ import annotations

from fastapi.testclient import TestClient

from openproctor.domains.reports.answers import answer_sheet
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role
from tests.conftest import Factory, login
from tests.live.clients import running_session
from tests.test_reports import pdf_text

QUESTIONS = [
    {"prompt": "2 + 2?", "choices": ["3", "4"], "answer": 1, "points": 1},
    {
        "prompt": "Capital of France?",
        "choices": ["Paris", "Lyon", "Nice"],
        "answer": 0,
        "points": 3,
    },
    {"prompt": "Square root of 9?", "choices": ["3", "9"], "answer": 0, "points": 2},
]


def test_each_answer_is_marked_and_the_score_has_its_maximum(factory: Factory) -> None:
    exam = factory.exam(questions=QUESTIONS)
    session = running_session(factory, factory.candidate(exam))
    # Right on the first, wrong on the second, the third left unanswered.
    sessions.submit(session=session, exam=exam, answers={"0": 1, "1": 2})
    sheet = answer_sheet(exam=exam, session=session)
    assert [
        (q.number, q.chosen, q.right_choice, q.verdict, q.points, q.worth) for q in sheet.questions
    ] == [
        (1, "4", "4", "correct", 1.0, 1.0),
        (2, "Nice", "Paris", "incorrect", 0.0, 3.0),
        (3, None, "3", "not answered", 0.0, 2.0),
    ]
    assert (sheet.recorded_score, sheet.points, sheet.max_score) == (1.0, 1.0, 6.0)
    assert sheet.describe() == "1 / 6"


def test_an_attempt_ended_before_submitting_says_what_its_answers_are_worth(
    factory: Factory,
) -> None:
    exam = factory.exam(questions=QUESTIONS)
    session = running_session(factory, factory.candidate(exam))
    sessions.save_answers(session=session, exam=exam, answers={"1": 0, "2": 0})
    sessions.move(session, SessionState.TERMINATED, reason="ended by the proctor")
    sheet = answer_sheet(exam=exam, session=session)
    assert sheet.recorded_score is None
    assert sheet.describe() == "not scored; the saved answers are worth 5 / 6"


def test_the_review_page_and_the_pdf_show_the_answers(client: TestClient, factory: Factory) -> None:
    exam = factory.exam(questions=QUESTIONS)
    session = running_session(factory, factory.candidate(exam))
    sessions.submit(session=session, exam=exam, answers={"0": 1, "1": 2})
    factory.db.commit()
    login(client, factory.user(Role.REVIEWER))
    page = client.get(f"/review/sessions/{session.id}").text
    assert "score 1 / 6" in page
    assert "Capital of France?" in page
    text = pdf_text(client.get(f"/api/v1/sessions/{session.id}/report.pdf").content)
    for expected in (
        "Capital of France?",
        "Nice",
        "Paris",
        "incorrect: 0 / 3",
        "correct: 1 / 1",
        "1 / 6",
    ):
        assert expected in text, expected
