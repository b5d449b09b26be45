"""The exam's course on its learning platform, for admins and the exam's LTI instructors:
how its scores reach the gradebook (AGS), and the course roster compared with the candidates
(NRPS), applied with one button. The page lists what a sync would do before it does it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openproctor.deps import Audit, Context, DbSession, ProctorUser
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import flows, grades
from openproctor.domains.lti.access import PlatformServiceError
from openproctor.domains.lti.advantage_models import RosterSyncRead
from openproctor.domains.lti.course_routes import course_exam, sync_course_roster
from openproctor.domains.users.models import User
from openproctor.storage import StorageError
from openproctor.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    db: DbSession,
    user: User,
    exam: Exam,
    *,
    roster: RosterSyncRead | None,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    return render(
        request,
        "lti/course.html",
        user=user,
        exam=exam,
        grades=grades.sync_status(db=db, exam_id=exam.id),
        roster=roster,
        error=error,
        notice=notice,
        status_code=502 if error else 200,
    )


@router.get("/proctor/exams/{exam_id}/course")
def course(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    context: Context,
) -> Response:
    """Grade passback status and what a roster sync would change (nothing is changed)."""
    exam = course_exam(db, user, exam_id)
    try:
        roster = sync_course_roster(db, audit, context, exam, dry_run=True)
    except PlatformServiceError as failure:
        db.rollback()
        return _page(request, db, user, exam, roster=None, error=str(failure))
    return _page(request, db, user, exam, roster=roster)


@router.post("/proctor/exams/{exam_id}/course/roster")
def apply_roster(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    context: Context,
) -> Response:
    """Syncs the roster as it is now (read again: the course may have changed since the
    page was shown) and shows what was done."""
    exam = course_exam(db, user, exam_id)
    try:
        roster = sync_course_roster(db, audit, context, exam, dry_run=False)
    except (PlatformServiceError, StorageError) as failure:
        db.rollback()
        why = (
            str(failure)
            if isinstance(failure, PlatformServiceError)
            else "the files of a candidate to remove could not be deleted; nothing changed, "
            "try again"
        )
        return _page(request, db, user, exam, roster=None, error=why)
    done = (
        f"Roster synced: {len(roster.added)} added, {len(roster.updated)} updated, "
        f"{len(roster.removed)} removed, {len(roster.kept)} kept."
    )
    return _page(request, db, user, exam, roster=roster, notice=done)


@router.post("/proctor/exams/{exam_id}/course/grades")
def retry_grades(
    exam_id: uuid.UUID, request: Request, db: DbSession, user: ProctorUser, audit: Audit
) -> Response:
    """Sends the scores the platform did not take again (the roster is not read)."""
    exam = course_exam(db, user, exam_id)
    count = flows.retry_grades(db=db, audit=audit, exam=exam)
    notice = f"{count} score{'' if count == 1 else 's'} will be sent again now."
    return _page(request, db, user, exam, roster=None, notice=notice)
