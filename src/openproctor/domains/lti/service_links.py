"""Which resource link opens which exam, with the services its launches announced, which
candidates are LTI learners (their platform user id, for grades and the roster), and who may
see the exam's course page."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti.advantage_models import LtiLearner, LtiServiceLink
from openproctor.domains.lti.launch import Launch
from openproctor.domains.lti.models import LtiExamInstructor, LtiPlatform
from openproctor.domains.users.models import Role, User


def remember(
    *,
    db: Session,
    platform: LtiPlatform,
    launch: Launch,
    exam: Exam,
    candidate: Candidate | None,
) -> LtiServiceLink | None:
    """Keeps the services this launch announced for its resource link, and a learner's
    platform user id (caller commits). None when the launch announced no service."""
    found = launch.services
    if found is None:
        return None
    link = db.scalar(
        select(LtiServiceLink).where(
            LtiServiceLink.platform_id == platform.id,
            LtiServiceLink.deployment_id == launch.deployment_id,
            LtiServiceLink.resource_link_id == launch.resource_link_id,
        )
    )
    if link is None:
        link = LtiServiceLink(
            platform_id=platform.id,
            deployment_id=launch.deployment_id,
            context_id=launch.context_id,
            resource_link_id=launch.resource_link_id,
        )
        db.add(link)
    if link.exam_id != exam.id:
        link.lineitem_url = None  # a line item found or made for another exam
    link.exam_id = exam.id
    link.context_id = launch.context_id
    link.context_title = launch.context_title
    link.lineitems_url = found.lineitems_url
    # The launch's own line item wins; else the one found or made earlier stays.
    link.lineitem_url = found.lineitem_url or link.lineitem_url
    link.ags_scopes = list(found.ags_scopes)
    link.memberships_url = found.memberships_url
    db.flush()
    if candidate is not None:
        learner = db.get(LtiLearner, candidate.id)
        if learner is None:
            db.add(LtiLearner(candidate_id=candidate.id, link_id=link.id, subject=launch.subject))
        else:
            learner.link_id, learner.subject = link.id, launch.subject
        db.flush()
    return link


def for_exam(*, db: Session, exam_id: uuid.UUID) -> Sequence[LtiServiceLink]:
    """The exam's links, the most recently launched first."""
    return db.scalars(
        select(LtiServiceLink)
        .where(LtiServiceLink.exam_id == exam_id)
        .order_by(LtiServiceLink.updated_at.desc(), LtiServiceLink.id)
    ).all()


def roster_link(*, db: Session, exam_id: uuid.UUID) -> LtiServiceLink | None:
    """The link whose course roster the exam syncs: the latest launched with one."""
    return next((link for link in for_exam(db=db, exam_id=exam_id) if link.memberships_url), None)


def learner(*, db: Session, candidate_id: uuid.UUID) -> LtiLearner | None:
    return db.get(LtiLearner, candidate_id)


def get_exam(*, db: Session, exam_id: uuid.UUID) -> Exam | None:
    return db.get(Exam, exam_id)


def course_page_for(*, db: Session, exam: Exam, user: User) -> bool:
    """Whether the user has the exam's course page: a platform's launch linked the exam to a
    course, and the user is an admin or one of its LTI instructors."""
    if not for_exam(db=db, exam_id=exam.id):
        return False
    return user.role is Role.ADMIN or is_instructor(db=db, exam=exam, user=user)


def is_instructor(*, db: Session, exam: Exam, user: User) -> bool:
    """Whether the user launched the exam from a platform as an instructor."""
    query = select(LtiExamInstructor.user_id).where(
        LtiExamInstructor.exam_id == exam.id, LtiExamInstructor.user_id == user.id
    )
    return db.scalar(query.limit(1)) is not None
