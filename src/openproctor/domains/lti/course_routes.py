"""/api/v1/exams/{id}/roster-sync and /api/v1/exams/{id}/grade-sync: an exam's course on
its learning platform (roster sync and grade passback), for admins and the exam's LTI
instructors; API tokens need candidates:write (roster) or exams:read (grades)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from openproctor.access import visible_exam
from openproctor.deps import Audit, Context, DbSession, ProctorUser, StaffUser
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import flows, grades, service_links
from openproctor.domains.lti.access import PlatformServiceError
from openproctor.domains.lti.advantage_models import GradeSyncRead, RosterSyncRead
from openproctor.domains.users.models import Role, User
from openproctor.storage import StorageError

roster_router = APIRouter(tags=["candidates"])
grades_router = APIRouter(tags=["exams"])


def course_exam(db: DbSession, user: User, exam_id: uuid.UUID) -> Exam:
    """The exam, if the user may sync its course: an admin, or a proctor who launched it
    from the platform as an instructor (404 / 403 otherwise)."""
    exam = service_links.get_exam(db=db, exam_id=exam_id)
    if exam is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "exam not found")
    if user.role is not Role.ADMIN and not service_links.is_instructor(db=db, exam=exam, user=user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only admins and the exam's course instructors sync it"
        )
    return exam


def sync_course_roster(
    db: DbSession, audit: Audit, context: Context, exam: Exam, *, dry_run: bool
) -> RosterSyncRead:
    """The exam's roster sync with this server's storage, outbound policy and links (the API
    below and the course page both call it)."""
    return flows.sync_roster(
        db=db,
        audit=audit,
        exam=exam,
        store=context.store,
        outbound_policy=context.settings.outbound_policy,
        public_url=context.settings.public_url,
        dry_run=dry_run,
    )


@roster_router.post(
    "/exams/{exam_id}/roster-sync",
    response_model=RosterSyncRead,
    responses={
        502: {"description": "The platform's roster could not be read (the detail says why)."},
        503: {"description": "A removed candidate's files could not be deleted; try again."},
    },
)
def sync_roster(
    exam_id: uuid.UUID,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    context: Context,
    dry_run: Annotated[bool, Query(description="Only list what would change.")] = True,
) -> RosterSyncRead:
    """Syncs the course roster (LTI Names and Role Provisioning) into the exam's candidates:
    active learners added, changed names and e-mails updated, learners who left removed if
    this sync added them and they did not start. With dry_run (the default) nothing changes."""
    exam = course_exam(db, user, exam_id)
    try:
        return sync_course_roster(db, audit, context, exam, dry_run=dry_run)
    except PlatformServiceError as error:
        db.rollback()
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from None
    except StorageError:
        db.rollback()
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the files of a candidate to remove could not be deleted; nothing changed, try again",
        ) from None


@grades_router.get("/exams/{exam_id}/grade-sync", response_model=GradeSyncRead)
def grade_sync(exam_id: uuid.UUID, db: DbSession, user: StaffUser) -> GradeSyncRead:
    """How the exam's scores reach the learning platform's gradebook (LTI AGS)."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return grades.sync_status(db=db, exam_id=exam.id)


@grades_router.post("/exams/{exam_id}/grade-sync/retry", response_model=GradeSyncRead)
def retry_grades(
    exam_id: uuid.UUID, db: DbSession, user: ProctorUser, audit: Audit
) -> GradeSyncRead:
    """Sends the scores the platform did not take within a day again, with a new day of
    retries (admins and the exam's course instructors)."""
    exam = course_exam(db, user, exam_id)
    flows.retry_grades(db=db, audit=audit, exam=exam)
    return grades.sync_status(db=db, exam_id=exam.id)
