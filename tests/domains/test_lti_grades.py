"""The Score the gradebook gets for an attempt: progress, grading state, score and comment
for each way an attempt ends and each reviewer decision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import grades
from openproctor.domains.sessions.models import Decision, ExamSession, SessionState

AT = datetime(2026, 11, 30, 14, 5, 7, 123456, tzinfo=UTC)
QUESTIONS = [
    {"prompt": "1 + 1?", "choices": ["1", "2"], "answer": 1, "points": 2},
    {"prompt": "2 + 2?", "choices": ["4", "5"], "answer": 0, "points": 3},
]


def score(
    state: SessionState,
    *,
    decision: Decision | None = None,
    flagged: bool = False,
    reason: str | None = None,
    points: float | None = 2.0,
    questions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    exam = Exam(title="Midterm", questions=QUESTIONS if questions is None else questions)
    session = ExamSession(state=state, score=points, decision=decision, end_reason=reason)
    return grades.score_document(
        session=session, exam=exam, user_id="sub-7", flagged=flagged, at=AT
    )


def test_an_unflagged_submission_is_fully_graded_at_once() -> None:
    assert score(SessionState.SUBMITTED, reason="submitted by the candidate") == {
        "userId": "sub-7",
        "scoreGiven": 2.0,
        "scoreMaximum": 5.0,
        "activityProgress": "Submitted",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-11-30T14:05:07.123+00:00",
    }


def test_a_flagged_submission_waits_for_the_review() -> None:
    document = score(SessionState.SUBMITTED, flagged=True)
    assert (document["gradingProgress"], document["scoreGiven"]) == ("PendingManual", 2.0)
    assert document["comment"] == grades.AWAITING_REVIEW


def test_a_terminated_attempt_is_completed_with_its_reason_and_waits_for_review() -> None:
    document = score(SessionState.TERMINATED, reason="ended by the proctor")
    assert document["activityProgress"] == "Completed"
    assert document["gradingProgress"] == "PendingManual"
    assert document["comment"] == (
        f"Attempt terminated: ended by the proctor. {grades.AWAITING_REVIEW}"
    )


@pytest.mark.parametrize(
    ("decision", "grading", "scored"),
    [
        (Decision.CLEAR, "FullyGraded", True),
        (Decision.SUSPICIOUS, "FullyGraded", True),
        (Decision.CHEATING, "PendingManual", False),
    ],
)
def test_a_decision_releases_or_withholds_the_score_and_says_so(
    decision: Decision, grading: str, scored: bool
) -> None:
    document = score(SessionState.SUBMITTED, decision=decision, flagged=True)
    assert document["gradingProgress"] == grading
    assert ("scoreGiven" in document, "scoreMaximum" in document) == (scored, scored)
    assert document["comment"] == grades.DECISION_COMMENTS[decision]


def test_an_exam_without_questions_sends_progress_only() -> None:
    document = score(SessionState.SUBMITTED, questions=[], points=None)
    assert "scoreGiven" not in document
    assert "scoreMaximum" not in document
    assert document["gradingProgress"] == "FullyGraded"
