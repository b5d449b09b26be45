"""What the gradebook is told about an attempt (an AGS Score), queued when the attempt ends
and again when a reviewer decides on it.

The score an LMS gradebook shows is final only when nobody has to look at the attempt any
more: a submitted attempt without flags is FullyGraded at once; one with flags, or one a
proctor ended, is PendingManual (the gradebook shows "needs grading") until a reviewer
decides. A reviewer's "cheating" withholds the score (the platform clears it) for the
instructor to decide on; "clear" and "suspicious" release it with a comment saying so.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import service_links
from openproctor.domains.lti.advantage_models import (
    SCOPE_SCORE,
    GradePostStatus,
    GradeSyncRead,
    LtiGradePost,
    LtiServiceLink,
)
from openproctor.domains.sessions.models import FINAL_STATES, Decision, ExamSession, SessionState
from openproctor.domains.violations.models import Violation

# AGS 2.0 Score vocabulary.
SUBMITTED, COMPLETED = "Submitted", "Completed"
FULLY_GRADED, PENDING_MANUAL = "FullyGraded", "PendingManual"

# The comment the gradebook shows beside the score, per reviewer decision.
DECISION_COMMENTS = {
    Decision.CLEAR: "Proctoring review: no issue found.",
    Decision.SUSPICIOUS: "Proctoring review: suspicious behaviour noted; the score stands. "
    "See the proctoring report.",
    Decision.CHEATING: "Proctoring review: cheating found. The score is withheld for the "
    "instructor to decide.",
}
AWAITING_REVIEW = "The proctoring review is pending: the score is not final yet."


def timestamp(at: datetime) -> str:
    """ISO 8601 with milliseconds and the UTC offset, as AGS asks."""
    return at.isoformat(timespec="milliseconds")


def score_document(
    *, session: ExamSession, exam: Exam, user_id: str, flagged: bool, at: datetime
) -> dict[str, Any]:
    """The Score for the attempt as it stands (it must have ended)."""
    # Terminated by a proctor (or expired unsubmitted): the platform hears why.
    ended_early = session.state is not SessionState.SUBMITTED
    decision = session.decision
    if decision is not None:
        grading = PENDING_MANUAL if decision is Decision.CHEATING else FULLY_GRADED
        comment = DECISION_COMMENTS[decision]
    elif flagged or session.state is SessionState.TERMINATED:
        grading, comment = PENDING_MANUAL, AWAITING_REVIEW
    else:
        grading, comment = FULLY_GRADED, ""
    if ended_early and session.end_reason:
        ended = f"Attempt {session.state.value}: {session.end_reason}."
        comment = f"{ended} {comment}".strip()
    document: dict[str, Any] = {
        "userId": user_id,
        "activityProgress": COMPLETED if ended_early else SUBMITTED,
        "gradingProgress": grading,
        "timestamp": timestamp(at),
    }
    maximum = exam.max_score
    if session.score is not None and maximum > 0 and decision is not Decision.CHEATING:
        document["scoreGiven"] = session.score
        document["scoreMaximum"] = maximum
    if comment:
        document["comment"] = comment
    return document


def enqueue(*, db: Session, session: ExamSession, at: datetime) -> LtiGradePost | None:
    """Queues the attempt's current Score for its learner's platform, if the learner came
    through LTI and the platform took grades for the link (caller commits). Older scores of
    the attempt not yet sent are superseded: the newest says everything."""
    if session.state not in FINAL_STATES:
        return None
    learner = service_links.learner(db=db, candidate_id=session.candidate_id)
    link = db.get(LtiServiceLink, learner.link_id) if learner is not None else None
    if learner is None or link is None or not _takes_scores(link):
        return None
    exam = db.get(Exam, session.exam_id)
    if exam is None:
        return None
    flagged = (
        db.scalar(select(Violation.id).where(Violation.session_id == session.id).limit(1))
        is not None
    )
    document = score_document(
        session=session, exam=exam, user_id=learner.subject, flagged=flagged, at=at
    )
    db.execute(
        update(LtiGradePost)
        .where(
            LtiGradePost.session_id == session.id,
            LtiGradePost.status == GradePostStatus.PENDING,
        )
        .values(status=GradePostStatus.SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    post = LtiGradePost(link_id=link.id, session_id=session.id, score=document, next_attempt_at=at)
    db.add(post)
    db.flush()
    return post


def _takes_scores(link: LtiServiceLink) -> bool:
    return bool(link.lineitem_url or link.lineitems_url) and SCOPE_SCORE in link.ags_scopes


def sync_status(*, db: Session, exam_id: uuid.UUID) -> GradeSyncRead:
    """The exam's grade passback at a glance: waiting, failed, the latest success and
    the latest failure (if nothing was delivered after it)."""
    link_ids = [link.id for link in service_links.for_exam(db=db, exam_id=exam_id)]
    query = select(LtiGradePost).where(LtiGradePost.link_id.in_(link_ids))
    counts = dict(
        db.execute(
            select(LtiGradePost.status, func.count())
            .where(LtiGradePost.link_id.in_(link_ids))
            .group_by(LtiGradePost.status)
        ).all()
    )
    delivered = db.scalar(
        select(func.max(LtiGradePost.delivered_at)).where(LtiGradePost.link_id.in_(link_ids))
    )
    failing = db.scalars(
        query.where(
            LtiGradePost.last_error.is_not(None),
            LtiGradePost.status.in_([GradePostStatus.PENDING, GradePostStatus.FAILED]),
        )
        .order_by(LtiGradePost.last_attempt_at.desc())
        .limit(1)
    ).first()
    failed_at = failing.last_attempt_at if failing is not None else None
    # A failure matters until a later score gets through.
    show_failure = failed_at is not None and (delivered is None or failed_at > delivered)
    return GradeSyncRead(
        linked=any(_takes_scores(link) for link in service_links.for_exam(db=db, exam_id=exam_id)),
        pending=counts.get(GradePostStatus.PENDING, 0),
        failed=counts.get(GradePostStatus.FAILED, 0),
        last_delivered_at=delivered,
        last_error=failing.last_error if show_failure and failing is not None else None,
        last_error_at=failed_at if show_failure else None,
    )


def retry_failed(*, db: Session, exam_id: uuid.UUID, now: datetime) -> int:
    """Sends the exam's scores the platform never took again, now, with a new day of
    retries (e.g. after its registration was fixed); returns how many (caller commits).
    A newer score of the same attempt wins: superseded ones stay as they are."""
    link_ids = select(LtiServiceLink.id).where(LtiServiceLink.exam_id == exam_id)
    result = db.execute(
        update(LtiGradePost)
        .where(LtiGradePost.link_id.in_(link_ids), LtiGradePost.status == GradePostStatus.FAILED)
        .values(status=GradePostStatus.PENDING, retry_until=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
