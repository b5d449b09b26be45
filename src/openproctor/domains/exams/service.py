"""Creating, changing and finding exams."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam, ExamWrite
from openproctor.domains.users.models import Role, User
from openproctor.pagination import Page, PageRequest, scalars_page


def get(*, db: Session, exam_id: uuid.UUID) -> Exam | None:
    return db.get(Exam, exam_id)


def list_visible(*, db: Session, user: User) -> Sequence[Exam]:
    """Admins and reviewers see every exam; a proctor sees those with candidates of theirs."""
    return db.scalars(_visible(user).order_by(Exam.opens_at.desc())).all()


def page_visible(*, db: Session, user: User, page: PageRequest) -> Page[Exam]:
    """list_visible, newest made first, a page at a time."""
    order = (Exam.created_at, Exam.id)
    return scalars_page(db, _visible(user), order, page, descending=True)


def _visible(user: User) -> Select[Exam]:
    query = select(Exam)
    if user.role is Role.PROCTOR:
        mine = select(Candidate.exam_id).where(Candidate.proctor_id == user.id)
        query = query.where(Exam.id.in_(mine))
    return query


def _columns(exam_in: ExamWrite) -> dict[str, object]:
    return {
        "title": exam_in.title,
        "instructions": exam_in.instructions,
        "opens_at": exam_in.opens_at,
        "closes_at": exam_in.closes_at,
        "duration_minutes": exam_in.duration_minutes,
        "policy": exam_in.policy.model_dump(mode="json"),
        "questions": [question.model_dump(mode="json") for question in exam_in.questions],
        "external_url": str(exam_in.external_url) if exam_in.external_url else None,
        "shuffle_questions": exam_in.shuffle_questions,
        "shuffle_choices": exam_in.shuffle_choices,
        "timezone": exam_in.timezone,
    }


def create(*, db: Session, exam_in: ExamWrite, creator: User | None) -> Exam:
    exam = Exam(**_columns(exam_in), created_by_id=creator.id if creator else None)
    db.add(exam)
    db.flush()
    return exam


def update(*, db: Session, exam: Exam, exam_in: ExamWrite) -> Exam:
    for name, value in _columns(exam_in).items():
        setattr(exam, name, value)
    db.flush()
    return exam


def to_write(exam: Exam) -> ExamWrite:
    """The exam as an editable document, e.g. to prefill the edit form."""
    return ExamWrite.model_validate(
        {
            "title": exam.title,
            "instructions": exam.instructions,
            "opens_at": exam.opens_at,
            "closes_at": exam.closes_at,
            "duration_minutes": exam.duration_minutes,
            "policy": exam.policy,
            "questions": exam.questions,
            "external_url": exam.external_url,
            "shuffle_questions": exam.shuffle_questions,
            "shuffle_choices": exam.shuffle_choices,
            "timezone": exam.timezone,
        }
    )
