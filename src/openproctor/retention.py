"""Retention: a session's media (recordings, evidence, enrolment photo, recording chunks) is
deleted `policy.retention_days` after the session ended; the rows that describe it go too.
ID document images go sooner, `policy.id_retention_days` after the session ended.

What stays: the session, its violations (without evidence) and the reviewers' decisions.
The enrolment embedding (biometric) is cleared with the photo. Every deletion is audited
(actor "retention"). A run is idempotent: sessions with nothing left are not looked at again,
and files already missing from storage are not an error. `purge_media` is shared with the
erasure of one candidate (domains/candidates/flows.py).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, null, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from openproctor.db import transaction
from openproctor.domains.audit import service as audit
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.objects.models import ObjectPurpose, Recording, StoredObject
from openproctor.domains.sessions.models import ExamSession
from openproctor.storage import ObjectStore, StorageError

log = logging.getLogger(__name__)

# How often the server should run retention; deletions are due by the day, so hourly is plenty.
RETENTION_SWEEP_S = 3600
# Sessions handled per run, to keep one run short; the next run takes the rest.
DEFAULT_LIMIT = 200
# The policy's smallest retention_days (ge=1): nothing that ended more recently can be due.
MIN_RETENTION = timedelta(days=1)


@dataclass
class Purged:
    """What purge_media deleted."""

    recordings: int = 0
    objects: Counter[str] = field(default_factory=Counter)
    files: int = 0
    bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "recordings": self.recordings,
            "objects": dict(sorted(self.objects.items())),
            "files": self.files,
            "bytes": self.bytes,
        }

    @property
    def anything(self) -> bool:
        return bool(self.recordings or self.objects or self.files)


def purge_media(*, db: Session, store: ObjectStore, session_ids: Sequence[uuid.UUID]) -> Purged:
    """Deletes the sessions' stored files, then their StoredObject and Recording rows (in the
    caller's transaction). Files go first: if the rows then fail to go, the next try deletes
    the files again, which is harmless, while the other order would leave files no row names.
    Raises StorageError when the store refuses; the caller rolls back."""
    purged = Purged()
    if not session_ids:
        return purged
    recording_ids = select(Recording.id).where(Recording.session_id.in_(session_ids))
    belongs = or_(
        StoredObject.session_id.in_(session_ids), StoredObject.recording_id.in_(recording_ids)
    )
    objects = db.execute(
        select(StoredObject.purpose, StoredObject.storage_key, StoredObject.size_bytes).where(
            belongs
        )
    ).all()
    recordings = db.execute(
        select(Recording.storage_key, Recording.size_bytes).where(
            Recording.session_id.in_(session_ids)
        )
    ).all()
    keys = {key for _, key, _ in objects} | {key for key, _ in recordings if key}
    purged.files = store.delete_many(sorted(keys))
    purged.objects.update(purpose.value for purpose, _, _ in objects)
    purged.recordings = len(recordings)
    purged.bytes = sum(size for _, _, size in objects) + sum(size or 0 for _, size in recordings)
    db.execute(
        delete(StoredObject).where(belongs), execution_options={"synchronize_session": False}
    )
    db.execute(
        delete(Recording).where(Recording.session_id.in_(session_ids)),
        execution_options={"synchronize_session": False},
    )
    return purged


@dataclass
class RetentionReport:
    purged: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    more: bool = False
    id_documents: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id_documents": self.id_documents,
            "sessions": len(self.purged),
            "recordings": sum(item["recordings"] for item in self.purged),
            "files": sum(item["files"] for item in self.purged),
            "bytes": sum(item["bytes"] for item in self.purged),
            "purged": self.purged,
            "failed": self.failed,
            "more": self.more,
        }


def due_sessions(*, db: Session, now: datetime) -> list[uuid.UUID]:
    """Sessions past their exam's retention that still have media, oldest first."""
    has_media = or_(
        exists().where(StoredObject.session_id == ExamSession.id),
        exists().where(Recording.session_id == ExamSession.id),
        ExamSession.enrollment.is_not(None),
    )
    rows = db.execute(
        select(ExamSession.id, ExamSession.ended_at, Exam.id, Exam.policy)
        .join(Exam, ExamSession.exam_id == Exam.id)
        .where(ExamSession.ended_at.is_not(None), ExamSession.ended_at <= now - MIN_RETENTION)
        .where(has_media)
        .order_by(ExamSession.ended_at)
    ).all()
    days: dict[uuid.UUID, int] = {}
    due = []
    for session_id, ended_at, exam_id, policy in rows:
        if exam_id not in days:
            days[exam_id] = ExamPolicy.model_validate(policy).retention_days
        if ended_at + timedelta(days=days[exam_id]) <= now:
            due.append(session_id)
    return due


def due_id_documents(*, db: Session, now: datetime) -> dict[uuid.UUID, list[uuid.UUID]]:
    """ID document images past their exam's id_retention_days, by session."""
    rows = db.execute(
        select(StoredObject.id, ExamSession.id, ExamSession.ended_at, Exam.policy)
        .join(ExamSession, StoredObject.session_id == ExamSession.id)
        .join(Exam, ExamSession.exam_id == Exam.id)
        .where(StoredObject.purpose == ObjectPurpose.ID_DOCUMENT)
        .where(ExamSession.ended_at.is_not(None), ExamSession.ended_at <= now - MIN_RETENTION)
    ).all()
    due: dict[uuid.UUID, list[uuid.UUID]] = {}
    for object_id, session_id, ended_at, policy in rows:
        days = ExamPolicy.model_validate(policy).id_documents_days
        if ended_at + timedelta(days=days) <= now:
            due.setdefault(session_id, []).append(object_id)
    return due


def _purge_id_documents(*, db: Session, store: ObjectStore, object_ids: list[uuid.UUID]) -> int:
    """Deletes the images (files first, as purge_media does), then their rows; audited."""
    objects = db.execute(
        select(StoredObject.storage_key, ExamSession.id)
        .join(ExamSession, StoredObject.session_id == ExamSession.id)
        .where(StoredObject.id.in_(object_ids))
    ).all()
    store.delete_many(sorted(key for key, _ in objects))
    db.execute(
        delete(StoredObject).where(StoredObject.id.in_(object_ids)),
        execution_options={"synchronize_session": False},
    )
    if objects:
        audit.record(
            db=db,
            actor=None,
            actor_label="retention",
            action="retention.delete_id_documents",
            target_type="session",
            target_id=objects[0][1],
            details={"id_documents": len(objects)},
        )
    return len(objects)


def run_retention(
    *,
    session_factory: sessionmaker[Session],
    store: ObjectStore,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
) -> RetentionReport:
    """Deletes the media of every session past retention (at most `limit` per run), one
    transaction per session, each audited. Blocking: run it in an executor from async code."""
    report = RetentionReport()
    with session_factory() as db:
        documents = due_id_documents(db=db, now=now)
    for session_id, object_ids in documents.items():
        try:
            with transaction(session_factory) as db:
                report.id_documents += _purge_id_documents(
                    db=db, store=store, object_ids=object_ids
                )
        except (StorageError, SQLAlchemyError) as error:
            log.warning("retention could not delete ID documents of %s: %s", session_id, error)
            report.failed.append({"session_id": str(session_id), "error": str(error)[:500]})
    with session_factory() as db:
        due = due_sessions(db=db, now=now)
    report.more = len(due) > limit
    for session_id in due[:limit]:
        try:
            with transaction(session_factory) as db:
                item = _purge_session(db=db, store=store, session_id=session_id)
        except (StorageError, SQLAlchemyError) as error:
            log.warning("retention could not purge session %s: %s", session_id, error)
            report.failed.append({"session_id": str(session_id), "error": str(error)[:500]})
            continue
        if item is not None:
            report.purged.append(item)
    return report


def _purge_session(
    *, db: Session, store: ObjectStore, session_id: uuid.UUID
) -> dict[str, Any] | None:
    session = db.get(ExamSession, session_id)
    exam = db.get(Exam, session.exam_id) if session else None
    if session is None or exam is None or session.ended_at is None:
        return None
    purged = purge_media(db=db, store=store, session_ids=[session.id])
    embedding = isinstance(session.enrollment, dict)
    if session.enrollment is not None:
        # SQL NULL, not JSON null, so the session is not picked again.
        db.execute(
            update(ExamSession).where(ExamSession.id == session.id).values(enrollment=null()),
            execution_options={"synchronize_session": False},
        )
    if not purged.anything and not embedding:
        return None
    details = {
        "exam_id": str(exam.id),
        "ended_at": session.ended_at.isoformat(),
        "retention_days": exam.parsed_policy.retention_days,
        **purged.to_dict(),
        "enrolment_embedding": embedding,
    }
    audit.record(
        db=db,
        actor=None,
        actor_label="retention",
        action="retention.delete",
        target_type="session",
        target_id=session.id,
        details=details,
    )
    return {"session_id": str(session.id), **details}
