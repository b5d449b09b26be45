"""Exam changes, audited and committed: the API and the admin pages both make them here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openproctor.domains.audit.service import Auditor
from openproctor.domains.exams import service
from openproctor.domains.exams.models import Exam, ExamWrite
from openproctor.domains.users.models import User


def create(*, db: Session, audit: Auditor, exam_in: ExamWrite, creator: User) -> Exam:
    exam = service.create(db=db, exam_in=exam_in, creator=creator)
    audit("exam.create", "exam", exam.id, title=exam.title)
    db.commit()
    return exam


def update(*, db: Session, audit: Auditor, exam: Exam, exam_in: ExamWrite) -> Exam:
    service.update(db=db, exam=exam, exam_in=exam_in)
    audit("exam.update", "exam", exam.id, title=exam.title)
    db.commit()
    return exam
