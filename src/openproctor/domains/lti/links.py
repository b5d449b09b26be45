"""Which exam a launch opens. A resource link's first launch binds (platform, deployment,
resource link) to an exam: the exam its custom parameter exam_id names (set by deep linking,
or typed by hand as the manual fallback), else the platform's default exam. Later launches
of that link open the bound exam. An exam in use by one platform (deep-linked from it or
bound to its links) cannot be named by a launch from another."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openproctor.domains.exams.models import Exam
from openproctor.domains.lti.launch import Launch, LaunchError
from openproctor.domains.lti.models import (
    LtiExamInstructor,
    LtiExamPlatform,
    LtiLink,
    LtiPlatform,
)
from openproctor.domains.users.models import User

# The custom parameter naming the exam: what deep linking sets and what an admin may type.
EXAM_PARAMETER = "exam_id"


class ExamRefused(LaunchError):
    """A launch naming an exam it may not open (another platform's, or not the exam its link
    is bound to): shown as a 403 page and audited."""

    def __init__(self, message: str, *, exam_id: uuid.UUID, reason: str) -> None:
        super().__init__(message, status_code=403)
        self.exam_id = exam_id
        self.reason = reason


def exam_for(*, db: Session, platform: LtiPlatform, launch: Launch) -> Exam:
    """The exam a resource link launch opens, binding the link on its first launch (the
    caller commits). Raises LaunchError (ExamRefused for an exam it may not open)."""
    named = _named_exam(db=db, launch=launch)
    key = (platform.id, launch.deployment_id, launch.resource_link_id)
    link = db.get(LtiLink, key)
    if link is not None:
        if named is not None and named.id != link.exam_id:
            raise ExamRefused(
                "this activity is linked to another exam than the one its custom parameter "
                "exam_id names: put the parameter back, or add a new activity for that exam "
                "(an activity keeps the exam of its first launch)",
                exam_id=named.id,
                reason="link bound to another exam",
            )
        exam = db.get(Exam, link.exam_id)
        assert exam is not None  # the link goes with its exam (ON DELETE CASCADE)
        return exam
    if named is not None:
        _refuse_foreign(db=db, platform=platform, exam=named)
        exam = named
    elif platform.default_exam_id is not None and (
        default := db.get(Exam, platform.default_exam_id)
    ):
        exam = default
    else:
        raise LaunchError(
            "no exam is mapped to this activity: add it again through the course's "
            "activity chooser (deep linking), set its custom parameter exam_id=<exam id>, or "
            f"give the platform {platform.name!r} a default exam on /admin/lti",
            status_code=404,
        )
    db.add(
        LtiLink(
            platform_id=platform.id,
            deployment_id=launch.deployment_id,
            resource_link_id=launch.resource_link_id,
            exam_id=exam.id,
        )
    )
    claim(db=db, platform=platform, exam=exam)
    return exam


def _named_exam(*, db: Session, launch: Launch) -> Exam | None:
    named = launch.custom.get(EXAM_PARAMETER, "").strip()
    if not named:
        return None
    try:
        exam = db.get(Exam, uuid.UUID(named))
    except ValueError:
        exam = None
    if exam is None:
        raise LaunchError(
            f"the custom parameter exam_id={named!r} does not name an exam of this server",
            status_code=404,
        )
    return exam


def _refuse_foreign(*, db: Session, platform: LtiPlatform, exam: Exam) -> None:
    using = select(LtiExamPlatform.platform_id).where(LtiExamPlatform.exam_id == exam.id)
    platforms = set(db.scalars(using))
    if platforms and platform.id not in platforms:
        raise ExamRefused(
            "the exam this activity names belongs to another learning platform: this course "
            "cannot open it. Add the activity through the course's activity chooser to pick "
            "or create an exam of your own",
            exam_id=exam.id,
            reason="exam of another platform",
        )


def claim(*, db: Session, platform: LtiPlatform, exam: Exam) -> None:
    """Marks the exam as in use by the platform (the caller commits)."""
    if db.get(LtiExamPlatform, (exam.id, platform.id)) is None:
        db.add(LtiExamPlatform(exam_id=exam.id, platform_id=platform.id))
    db.flush()


def exams_to_pick(*, db: Session, platform: LtiPlatform, user: User) -> Sequence[Exam]:
    """The exams an instructor may link from this platform: those they created, those they
    launched from it as an instructor, and the platform's default exam; none that another
    platform uses and this one does not."""
    launched = select(LtiExamInstructor.exam_id).where(
        LtiExamInstructor.platform_id == platform.id, LtiExamInstructor.user_id == user.id
    )
    mine = [Exam.created_by_id == user.id, Exam.id.in_(launched)]
    if platform.default_exam_id is not None:
        mine.append(Exam.id == platform.default_exam_id)
    ours = select(LtiExamPlatform.exam_id).where(LtiExamPlatform.platform_id == platform.id)
    others = select(LtiExamPlatform.exam_id).where(LtiExamPlatform.platform_id != platform.id)
    query = (
        select(Exam)
        .where(or_(*mine))
        .where(or_(Exam.id.in_(ours), Exam.id.not_in(others)))
        .order_by(Exam.opens_at.desc(), Exam.title)
    )
    return db.scalars(query).all()
