"""The exams list's overview: an exam's status from its roster and window, and counts of
its candidates' latest attempts (on SQLite and PostgreSQL: the counts are grouped SQL)."""

from __future__ import annotations

from datetime import timedelta

from openproctor.db import utcnow
from openproctor.domains.exams.overview import ExamStatus, overviews, status_of
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.violations.models import ReviewStatus, Violation
from tests.conftest import Factory


def attempt(
    factory: Factory, candidate_id: object, exam_id: object, number: int, state: SessionState
) -> ExamSession:
    session = ExamSession(candidate_id=candidate_id, exam_id=exam_id, attempt=number, state=state)
    factory.db.add(session)
    factory.db.flush()
    return session


def flag(factory: Factory, session: ExamSession, status: ReviewStatus) -> None:
    factory.db.add(
        Violation(
            session_id=session.id,
            kind=ViolationKind.MULTIPLE_FACES,
            severity=Severity.HIGH,
            started_at=utcnow(),
            review_status=status,
        )
    )


def test_counts_look_at_each_candidates_latest_attempt(factory: Factory) -> None:
    exam, other = factory.exam(), factory.exam(title="Other")
    ada, bob, cy, dee = (factory.candidate(exam, name=name) for name in ("Ada", "Bob", "Cy", "Dee"))
    factory.candidate(exam, name="Eve")  # invited, never opened the link
    first = attempt(factory, ada.id, exam.id, 1, SessionState.TERMINATED)
    flag(factory, first, ReviewStatus.PENDING)  # a retake replaced this attempt
    attempt(factory, ada.id, exam.id, 2, SessionState.RUNNING)
    submitted = attempt(factory, bob.id, exam.id, 1, SessionState.SUBMITTED)
    flag(factory, submitted, ReviewStatus.PENDING)
    flag(factory, submitted, ReviewStatus.CONFIRMED)
    reviewed = attempt(factory, cy.id, exam.id, 1, SessionState.SUBMITTED)
    flag(factory, reviewed, ReviewStatus.DISMISSED)
    attempt(factory, dee.id, exam.id, 1, SessionState.CHECKING)
    factory.db.commit()

    mine, theirs = overviews(db=factory.db, exams=[exam, other], now=utcnow())
    assert (mine.exam, theirs.exam) == (exam, other)
    counts = (mine.candidates, mine.in_progress, mine.submitted, mine.flagged, mine.to_review)
    assert counts == (5, 2, 2, 2, 1)
    assert mine.status is ExamStatus.OPEN
    assert (theirs.candidates, theirs.in_progress, theirs.flagged) == (0, 0, 0)
    assert theirs.status is ExamStatus.DRAFT


def test_status_follows_the_window_once_the_exam_can_be_taken(factory: Factory) -> None:
    exam = factory.exam(opens_in=timedelta(hours=1))
    now = utcnow()
    assert status_of(exam, candidates=0, now=now) is ExamStatus.DRAFT
    assert status_of(exam, candidates=3, now=now) is ExamStatus.SCHEDULED
    assert status_of(exam, candidates=3, now=now + timedelta(hours=2)) is ExamStatus.OPEN
    assert status_of(exam, candidates=3, now=now + timedelta(hours=5)) is ExamStatus.CLOSED
