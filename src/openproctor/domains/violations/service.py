"""Reading violations for staff."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import AwareDatetime
from sqlalchemy import Row, Select, select, update
from sqlalchemy.orm import Session, aliased

from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import User
from openproctor.domains.violations.models import ReviewStatus, Violation, ViolationRead
from openproctor.pagination import Page, PageRequest, keyset, page_of
from openproctor.rules.engine import DETECTIONS


@dataclass(frozen=True)
class ViolationFilter:
    """What an API client narrows an exam's violations to; None means any."""

    kind: ViolationKind | None = None
    severity: Severity | None = None
    status: ReviewStatus | None = None
    since: AwareDatetime | None = None  # started at or after


# Never changes once written: the API's pages walk it.
PAGE_ORDER = (Violation.started_at, Violation.id)


def list_for_exam(
    *,
    db: Session,
    exam_id: uuid.UUID,
    proctor_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
) -> list[ViolationRead]:
    query = _query(exam_id, proctor_id, session_id).order_by(Violation.started_at)
    return _reads(db, db.execute(query).all())


def page_for_exam(
    *,
    db: Session,
    exam_id: uuid.UUID,
    page: PageRequest,
    wanted: ViolationFilter,
    proctor_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
) -> Page[ViolationRead]:
    query = _query(exam_id, proctor_id, session_id)
    if wanted.kind is not None:
        query = query.where(Violation.kind == wanted.kind)
    if wanted.severity is not None:
        query = query.where(Violation.severity == wanted.severity)
    if wanted.status is not None:
        query = query.where(Violation.review_status == wanted.status)
    if wanted.since is not None:
        query = query.where(Violation.started_at >= wanted.since)
    rows = db.execute(keyset(query, PAGE_ORDER, page)).all()
    found = page_of(rows, page, PAGE_ORDER, key=lambda row: row[0])
    return Page(items=_reads(db, found.items), next_cursor=found.next_cursor)


def _query(
    exam_id: uuid.UUID, proctor_id: uuid.UUID | None, session_id: uuid.UUID | None
) -> Select[Violation, uuid.UUID, str]:
    handler = aliased(User)
    query = (
        select(Violation, ExamSession.candidate_id, handler.name)
        .join(ExamSession, Violation.session_id == ExamSession.id)
        .outerjoin(handler, Violation.handled_by_id == handler.id)
        .where(ExamSession.exam_id == exam_id)
    )
    if proctor_id is not None:
        mine = select(Candidate.id).where(Candidate.proctor_id == proctor_id)
        query = query.where(ExamSession.candidate_id.in_(mine))
    if session_id is not None:
        query = query.where(Violation.session_id == session_id)
    return query


def _reads(db: Session, rows: Sequence[Row[Violation, uuid.UUID, str]]) -> list[ViolationRead]:
    evidence = _evidence_ids(db, [violation.id for violation, *_ in rows])
    return [
        ViolationRead(
            id=violation.id,
            session_id=violation.session_id,
            candidate_id=candidate_id,
            kind=violation.kind,
            label=violation.label,
            severity=violation.severity,
            started_at=violation.started_at,
            ended_at=violation.ended_at,
            score=violation.score,
            review_status=violation.review_status,
            review_note=violation.review_note,
            evidence_url=(
                f"/api/v1/evidence/{evidence[violation.id]}" if violation.id in evidence else None
            ),
            evidence_error=violation.evidence_error,
            detections=violation.details.get(DETECTIONS, []),
            handled_at=violation.handled_at,
            handled_by_name=handled_by_name,
        )
        for violation, candidate_id, handled_by_name in rows
    ]


def read_one(*, db: Session, violation: Violation, exam_id: uuid.UUID) -> ViolationRead:
    """One violation as list_for_exam reads it."""
    listed = list_for_exam(db=db, exam_id=exam_id, session_id=violation.session_id)
    return next(read for read in listed if read.id == violation.id)


def mark_handled(*, db: Session, violation: Violation, proctor: User) -> bool:
    """Marks the alert handled by this proctor, now; False (and unchanged) when someone
    already did. One conditional UPDATE, so that of two proctors marking it at once the
    first stays on record."""
    marked = db.execute(
        update(Violation)
        .where(Violation.id == violation.id, Violation.handled_at.is_(None))
        .values(handled_by_id=proctor.id, handled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.refresh(violation)
    return bool(getattr(marked, "rowcount", 0))


def _evidence_ids(db: Session, violation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    if not violation_ids:
        return {}
    query = select(StoredObject.violation_id, StoredObject.id).where(
        StoredObject.violation_id.in_(violation_ids),
        StoredObject.purpose == ObjectPurpose.EVIDENCE,
    )
    return {
        violation_id: object_id for violation_id, object_id in db.execute(query) if violation_id
    }


def review(*, violation: Violation, status: ReviewStatus, note: str | None, reviewer: User) -> None:
    violation.review_status = status
    violation.review_note = note
    violation.reviewed_by_id = reviewer.id
    violation.reviewed_at = utcnow()
