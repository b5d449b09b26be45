"""Reading and writing an exam's integration settings."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.exams.models import Exam
from openproctor.domains.integrations.models import ExamIntegration, IntegrationWrite
from openproctor.domains.webhooks.signing import new_secret
from openproctor.outbound import OutboundPolicy


class MeetingIdTaken(Exception):
    """Another exam already has this meeting id."""


def get(*, db: Session, exam_id: uuid.UUID) -> ExamIntegration | None:
    return db.get(ExamIntegration, exam_id)


def read(*, db: Session, exam_id: uuid.UUID) -> ExamIntegration:
    """The settings, or empty ones (not stored) for an exam that has none."""
    return get(db=db, exam_id=exam_id) or ExamIntegration(exam_id=exam_id)


def exam_for_meeting(*, db: Session, meeting_id: str) -> Exam | None:
    """The exam another system calls `meeting_id`: by its meeting id, or by our exam id."""
    found = db.scalar(
        select(ExamIntegration.exam_id).where(ExamIntegration.meeting_id == meeting_id)
    )
    if found is not None:
        return db.get(Exam, found)
    try:
        return db.get(Exam, uuid.UUID(meeting_id))
    except ValueError:
        return None


def write(
    *, db: Session, exam: Exam, settings: IntegrationWrite, outbound_policy: OutboundPolicy
) -> ExamIntegration:
    """Raises OutboundRefused for a callback URL the server may not send to."""
    if settings.callback_url is not None:
        outbound_policy.vet(str(settings.callback_url), field="callback_url")
    row = get(db=db, exam_id=exam.id)
    if row is None:
        row = ExamIntegration(exam_id=exam.id)
        db.add(row)
    if settings.meeting_id is not None:
        other = db.scalar(
            select(ExamIntegration.exam_id).where(
                ExamIntegration.meeting_id == settings.meeting_id,
                ExamIntegration.exam_id != exam.id,
            )
        )
        if other is not None:
            raise MeetingIdTaken(f"meeting id {settings.meeting_id!r} belongs to another exam")
    row.meeting_id = settings.meeting_id
    row.callback_url = str(settings.callback_url) if settings.callback_url else None
    row.return_url = str(settings.return_url) if settings.return_url else None
    if row.callback_url and (row.callback_secret is None or settings.rotate_secret):
        row.callback_secret = new_secret()
    db.flush()
    return row


def return_url_for(*, db: Session, exam_id: uuid.UUID) -> str | None:
    """Where a candidate of this exam goes back to when the attempt ended (None: nowhere)."""
    row = get(db=db, exam_id=exam_id)
    return row.return_url if row else None
