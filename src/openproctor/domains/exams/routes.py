"""/api/v1/exams"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from openproctor.access import visible_exam
from openproctor.deps import AdminUser, Audit, DbSession, StaffUser
from openproctor.domains.exams import service
from openproctor.domains.exams.models import ExamRead, ExamWrite
from openproctor.domains.exams.policy import ExamPolicy

router = APIRouter(prefix="/exams", tags=["exams"])


@router.get("", response_model=list[ExamRead])
def list_exams(db: DbSession, user: StaffUser) -> list[ExamRead]:
    return [ExamRead.model_validate(exam) for exam in service.list_visible(db=db, user=user)]


@router.get("/policy-defaults", response_model=ExamPolicy)
def policy_defaults(_: StaffUser) -> ExamPolicy:
    return ExamPolicy()


@router.post("", response_model=ExamRead, status_code=status.HTTP_201_CREATED)
def create_exam(exam_in: ExamWrite, db: DbSession, user: AdminUser, audit: Audit) -> ExamRead:
    exam = service.create(db=db, exam_in=exam_in, creator=user)
    audit("exam.create", "exam", exam.id, title=exam.title)
    db.commit()
    return ExamRead.model_validate(exam)


@router.get("/{exam_id}", response_model=ExamRead)
def get_exam(exam_id: uuid.UUID, db: DbSession, user: StaffUser) -> ExamRead:
    return ExamRead.model_validate(visible_exam(db=db, user=user, exam_id=exam_id))


@router.put("/{exam_id}", response_model=ExamRead)
def replace_exam(
    exam_id: uuid.UUID, exam_in: ExamWrite, db: DbSession, user: AdminUser, audit: Audit
) -> ExamRead:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    service.update(db=db, exam=exam, exam_in=exam_in)
    audit("exam.update", "exam", exam.id, title=exam.title)
    db.commit()
    return ExamRead.model_validate(exam)
