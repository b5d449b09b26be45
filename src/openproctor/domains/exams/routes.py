"""/api/v1/exams"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from openproctor.access import proctor_scope, visible_exam
from openproctor.deps import AdminUser, Audit, DbSession, Hub, ProctorUser, StaffUser
from openproctor.domains.exams import flows, service
from openproctor.domains.exams.models import ExamRead, ExamWrite
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.sessions.flows import set_exam_auto_terminate, set_proctor_auto_terminate
from openproctor.domains.sessions.models import AutoTerminateChange, Toggle
from openproctor.pagination import PageParams, send_page

router = APIRouter(prefix="/exams", tags=["exams"])
# The automatic-termination switches act on the exam's sessions, as the proctor's other
# interventions do: tagged proctoring, they need the sessions scope, not the exams one.
proctoring_router = APIRouter(prefix="/exams", tags=["proctoring"])


@router.get("", response_model=list[ExamRead])
def list_exams(
    db: DbSession, user: StaffUser, paging: PageParams, request: Request, response: Response
) -> list[ExamRead]:
    """The exams you may see (a proctor: those with candidates of theirs), newest made first."""
    page = service.page_visible(db=db, user=user, page=paging)
    return send_page(request, response, page, [ExamRead.model_validate(e) for e in page.items])


@router.get("/policy-defaults", response_model=ExamPolicy)
def policy_defaults(_: StaffUser) -> ExamPolicy:
    return ExamPolicy()


@router.post("", response_model=ExamRead, status_code=status.HTTP_201_CREATED)
def create_exam(exam_in: ExamWrite, db: DbSession, user: AdminUser, audit: Audit) -> ExamRead:
    return ExamRead.model_validate(flows.create(db=db, audit=audit, exam_in=exam_in, creator=user))


@router.get("/{exam_id}", response_model=ExamRead)
def get_exam(exam_id: uuid.UUID, db: DbSession, user: StaffUser) -> ExamRead:
    return ExamRead.model_validate(visible_exam(db=db, user=user, exam_id=exam_id))


@router.put("/{exam_id}", response_model=ExamRead)
def replace_exam(
    exam_id: uuid.UUID, exam_in: ExamWrite, db: DbSession, user: AdminUser, audit: Audit
) -> ExamRead:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return ExamRead.model_validate(flows.update(db=db, audit=audit, exam=exam, exam_in=exam_in))


@proctoring_router.put("/{exam_id}/auto-terminate", response_model=AutoTerminateChange)
def exam_auto_terminate(
    exam_id: uuid.UUID, toggle: Toggle, db: DbSession, user: AdminUser, audit: Audit, hub: Hub
) -> AutoTerminateChange:
    """Turns automatic termination on or off in the exam's policy (admins only: it is an
    exam-wide setting). Every session drops its own setting and follows the exam's."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return set_exam_auto_terminate(db=db, audit=audit, hub=hub, exam=exam, enabled=toggle.enabled)


@proctoring_router.put("/{exam_id}/my-sessions/auto-terminate", response_model=AutoTerminateChange)
def my_sessions_auto_terminate(
    exam_id: uuid.UUID, toggle: Toggle, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> AutoTerminateChange:
    """Turns automatic termination on or off for every session of the caller's candidates in
    this exam (an admin's: every session), as each candidate's own toggle does; the exam's
    policy, and so other proctors' candidates, stay as they are. Candidates who open their
    invite later start with the exam's setting."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return set_proctor_auto_terminate(
        db=db,
        audit=audit,
        hub=hub,
        exam=exam,
        proctor_id=proctor_scope(user),
        enabled=toggle.enabled,
    )
