"""The exams list's view of each exam: where it stands (draft, scheduled, open, closed) and how
its candidates' latest attempts are going, counted in a few grouped queries for all exams."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.violations.models import ReviewStatus, Violation

# A candidate between opening the link and submitting: checking, enrolled, running or paused.
IN_PROGRESS = frozenset(
    {SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING, SessionState.PAUSED}
)


class ExamStatus(StrEnum):
    DRAFT = "draft"  # nobody can take it yet: no candidate is on its roster
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


def status_of(exam: Exam, *, candidates: int, now: datetime) -> ExamStatus:
    if candidates == 0:
        return ExamStatus.DRAFT
    if now < exam.opens_at:
        return ExamStatus.SCHEDULED
    return ExamStatus.OPEN if now < exam.closes_at else ExamStatus.CLOSED


@dataclass(frozen=True)
class ExamOverview:
    exam: Exam
    status: ExamStatus
    candidates: int
    in_progress: int
    submitted: int
    flagged: int  # latest attempts with at least one flag
    to_review: int  # of those, attempts with a flag nobody has confirmed or dismissed yet


def overviews(*, db: Session, exams: Sequence[Exam], now: datetime) -> list[ExamOverview]:
    """One overview per exam, in the given order; counts look at each candidate's latest
    attempt only, so a retake is not counted twice."""
    exam_ids = [exam.id for exam in exams]
    roster = Counter[uuid.UUID](
        dict(
            db.execute(
                select(Candidate.exam_id, func.count())
                .where(Candidate.exam_id.in_(exam_ids))
                .group_by(Candidate.exam_id)
            ).all()
        )
    )
    last_attempt = (
        select(ExamSession.candidate_id, func.max(ExamSession.attempt).label("attempt"))
        .where(ExamSession.exam_id.in_(exam_ids))
        .group_by(ExamSession.candidate_id)
        .subquery()
    )
    latest = (
        select(ExamSession)
        .join(
            last_attempt,
            (ExamSession.candidate_id == last_attempt.c.candidate_id)
            & (ExamSession.attempt == last_attempt.c.attempt),
        )
        .subquery()
    )
    states: dict[uuid.UUID, Counter[SessionState]] = {}
    for exam_id, state, count in db.execute(
        select(latest.c.exam_id, latest.c.state, func.count()).group_by(
            latest.c.exam_id, latest.c.state
        )
    ).all():
        states.setdefault(exam_id, Counter())[state] = count
    flagged, to_review = Counter[uuid.UUID](), Counter[uuid.UUID]()
    for exam_id, sessions, pending in db.execute(
        select(
            latest.c.exam_id,
            func.count(distinct(latest.c.id)),
            func.count(distinct(latest.c.id)).filter(
                Violation.review_status == ReviewStatus.PENDING
            ),
        )
        .join(Violation, Violation.session_id == latest.c.id)
        .group_by(latest.c.exam_id)
    ).all():
        flagged[exam_id], to_review[exam_id] = sessions, pending
    result = []
    for exam in exams:
        by_state = states.get(exam.id, Counter())
        result.append(
            ExamOverview(
                exam=exam,
                status=status_of(exam, candidates=roster[exam.id], now=now),
                candidates=roster[exam.id],
                in_progress=sum(by_state[state] for state in IN_PROGRESS),
                submitted=by_state[SessionState.SUBMITTED],
                flagged=flagged[exam.id],
                to_review=to_review[exam.id],
            )
        )
    return result
