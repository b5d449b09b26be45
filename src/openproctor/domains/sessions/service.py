"""Finding, opening and moving exam sessions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams import questions as exam_questions
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.questions import Answer
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.clock import Clock
from openproctor.domains.sessions.consent import Consent
from openproctor.domains.sessions.models import (
    Decision,
    ExamSession,
    SessionPrompt,
    SessionState,
)
from openproctor.domains.users.models import User
from openproctor.pagination import Page, PageRequest, scalars_page


def get(*, db: Session, session_id: uuid.UUID) -> ExamSession | None:
    return db.get(ExamSession, session_id)


def latest_for_candidate(*, db: Session, candidate_id: uuid.UUID) -> ExamSession | None:
    query = (
        select(ExamSession)
        .where(ExamSession.candidate_id == candidate_id)
        .order_by(ExamSession.attempt.desc())
        .limit(1)
    )
    return db.scalar(query)


def current_for_candidate(*, db: Session, candidate: Candidate) -> ExamSession:
    """The candidate's latest attempt, opened on first use of the invite link."""
    session = latest_for_candidate(db=db, candidate_id=candidate.id)
    if session is None:
        session = ExamSession(candidate_id=candidate.id, exam_id=candidate.exam_id, attempt=1)
        db.add(session)
        db.flush()
    return session


@dataclass(frozen=True)
class SessionFilter:
    """What an API client narrows an exam's sessions to; None means any."""

    state: SessionState | None = None
    since: AwareDatetime | None = None  # created at or after
    proctor: uuid.UUID | None = None  # the candidate's proctor


def page_for_exam(
    *,
    db: Session,
    exam_id: uuid.UUID,
    page: PageRequest,
    wanted: SessionFilter,
    proctor_id: uuid.UUID | None = None,
) -> Page[ExamSession]:
    """Oldest first: the risk order of the pages changes as the exam runs, so cannot be paged."""
    query = select(ExamSession).where(ExamSession.exam_id == exam_id)
    for proctor in (proctor_id, wanted.proctor):
        if proctor is not None:
            mine = select(Candidate.id).where(Candidate.proctor_id == proctor)
            query = query.where(ExamSession.candidate_id.in_(mine))
    if wanted.state is not None:
        query = query.where(ExamSession.state == wanted.state)
    if wanted.since is not None:
        query = query.where(ExamSession.created_at >= wanted.since)
    order = (ExamSession.created_at, ExamSession.id)
    return scalars_page(db, query, order, page)


def list_for_exam(
    *, db: Session, exam_id: uuid.UUID, proctor_id: uuid.UUID | None = None
) -> Sequence[ExamSession]:
    query = select(ExamSession).where(ExamSession.exam_id == exam_id)
    if proctor_id is not None:
        mine = select(Candidate.id).where(Candidate.proctor_id == proctor_id)
        query = query.where(ExamSession.candidate_id.in_(mine))
    return db.scalars(query.order_by(ExamSession.risk_score.desc())).all()


def move(session: ExamSession, wanted: SessionState, *, reason: str | None = None) -> None:
    """Moves a session along an allowed transition; raises IllegalTransition otherwise."""
    session.transition(wanted, at=utcnow(), reason=reason)


def record_consent(session: ExamSession, consent: Consent, *, at: datetime) -> None:
    """Keeps the consent the candidate agreed to, word for word."""
    session.consent_text = consent.text
    session.consent_sha256 = consent.sha256
    session.consent_version = consent.version
    session.consented_at = at


def prompts_of(*, db: Session, session_id: uuid.UUID) -> Sequence[SessionPrompt]:
    """The self-correction prompts the candidate was shown, in order."""
    return db.scalars(
        select(SessionPrompt)
        .where(SessionPrompt.session_id == session_id)
        .order_by(SessionPrompt.shown_at)
    ).all()


class AnswersRefused(Exception):
    """Answers that cannot be saved; the message says why."""


def exam_of(*, db: Session, session: ExamSession) -> Exam:
    exam = db.get(Exam, session.exam_id)
    assert exam is not None, "a session belongs to an exam"
    return exam


def clock(*, db: Session, session: ExamSession) -> Clock:
    """The attempt's clock, from the session, its exam and its candidate's accommodations."""
    candidate = db.get(Candidate, session.candidate_id)
    assert candidate is not None, "a session belongs to a candidate"
    return Clock.of(session, exam_of(db=db, session=session), candidate)


class ExtraTimeRefused(Exception):
    """Extra time that cannot be given; the message says why."""


def give_extra_time(*, session: ExamSession, clock: Clock, minutes: int, now: datetime) -> None:
    """Moves a running or paused attempt's deadline `minutes` later; raises ExtraTimeRefused
    for an attempt not under way, or when the candidate's window closes before the new
    deadline (`clock`: the attempt's now)."""
    if session.state not in (SessionState.RUNNING, SessionState.PAUSED):
        raise ExtraTimeRefused(f"extra time is for an exam under way, not one {session.state}")
    extra = timedelta(minutes=minutes)
    before = clock.deadline(now)
    assert before is not None, "an attempt under way has started"
    if before + extra > clock.closes_at:
        room = max(int((clock.closes_at - before).total_seconds() // 60), 0)
        raise ExtraTimeRefused(
            f"the exam window closes at {clock.closes_at:%Y-%m-%d %H:%M} UTC, when the invite "
            f"link stops working: at most {room} more minutes fit"
        )
    session.extra_seconds += extra.total_seconds()


def clean_answers(*, exam: Exam, answers: Mapping[str, Answer]) -> dict[str, Answer]:
    """Answers keyed by question index, each fitting its question (one choice, or a list of
    choices for a multiple-choice one, kept sorted); raises AnswersRefused otherwise."""
    questions = exam.parsed_questions
    cleaned: dict[str, Answer] = {}
    for key, given in answers.items():
        if not key.isdigit() or int(key) >= len(questions):
            raise AnswersRefused(f"there is no question {key}")
        problem = questions[int(key)].check(given)
        if problem:
            raise AnswersRefused(f"question {key} {problem}")
        cleaned[str(int(key))] = sorted(given) if isinstance(given, list) else given
    return cleaned


def save_answers(*, session: ExamSession, exam: Exam, answers: Mapping[str, Answer]) -> None:
    if session.state is not SessionState.RUNNING:
        raise AnswersRefused(f"answers can be saved only while the exam runs, not {session.state}")
    session.answers = {**session.answers, **clean_answers(exam=exam, answers=answers)}


def submit(*, session: ExamSession, exam: Exam, answers: Mapping[str, Answer]) -> None:
    """Saves the last answers, scores them and ends the attempt as submitted."""
    save_answers(session=session, exam=exam, answers=answers)
    session.score = exam_questions.score(exam.parsed_questions, session.answers)
    move(session, SessionState.SUBMITTED, reason="submitted by the candidate")


def expire_if_over(*, db: Session, session: ExamSession, now: datetime) -> bool:
    """Ends a running attempt whose time is up: it is submitted with its saved answers
    (auto-submit). A paused one never ends here: its clock stands still. Returns whether it
    ended it."""
    if session.state is not SessionState.RUNNING or not clock(db=db, session=session).is_up(now):
        return False
    exam = exam_of(db=db, session=session)
    session.score = exam_questions.score(exam.parsed_questions, session.answers)
    move(session, SessionState.SUBMITTED, reason="time is up: submitted automatically")
    return True


def decide(*, session: ExamSession, decision: Decision, note: str | None, reviewer: User) -> None:
    session.decision = decision
    session.decision_note = note
    session.decided_by_id = reviewer.id
    session.decided_at = utcnow()


# What a reviewer may open: evidence images, the enrolment photo and the ID documents shown.
EVIDENCE_PURPOSES = (
    ObjectPurpose.EVIDENCE,
    ObjectPurpose.EVIDENCE_RAW,
    ObjectPurpose.ENROLMENT,
    ObjectPurpose.ID_DOCUMENT,
)


def evidence(*, db: Session, session_id: uuid.UUID, page: PageRequest) -> Page[StoredObject]:
    """Oldest first."""
    query = select(StoredObject).where(
        StoredObject.session_id == session_id,
        StoredObject.purpose.in_(EVIDENCE_PURPOSES),
    )
    return scalars_page(db, query, (StoredObject.created_at, StoredObject.id), page)


def evidence_object(*, db: Session, object_id: uuid.UUID) -> StoredObject | None:
    """One of the images `evidence` lists, by its id; None for any other stored object."""
    query = select(StoredObject).where(
        StoredObject.id == object_id, StoredObject.purpose.in_(EVIDENCE_PURPOSES)
    )
    return db.scalar(query)
