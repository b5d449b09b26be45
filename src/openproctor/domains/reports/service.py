"""What goes into reports: one row per candidate of an exam, and one session in detail."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openproctor.domains.attention import service as attention
from openproctor.domains.attention.models import AttentionSample
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.messages.models import Message, MessageKind, Sender
from openproctor.domains.notes import service as notes
from openproctor.domains.notes.models import NoteRead
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions import identity_gaps
from openproctor.domains.sessions.models import ExamSession, SessionPrompt
from openproctor.domains.sessions.service import prompts_of
from openproctor.domains.violations.models import ReviewStatus, Violation
from openproctor.storage import ObjectStore, StorageError

KINDS = tuple(ViolationKind)
REVIEW_STATUSES = tuple(ReviewStatus)
CSV_COLUMNS = (
    "candidate_id",
    "name",
    "email",
    "external_id",
    "session_id",
    "state",
    "score",
    "risk_score",
    "violations",
    *(f"violations_{kind.value}" for kind in KINDS),
    *(f"review_{status.value}" for status in REVIEW_STATUSES),
    "messages_from_candidate",
    "messages_from_proctors",
    "hands_raised",
    "prompts_shown",
    "decision",
    "decided_at",
    "started_at",
    "ended_at",
    "attention_mean",
    *(f"attention_{label}" for label in attention.LABELS),
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Evidence images shown in a PDF, at most; the timeline lists every violation.
MAX_THUMBNAILS = 30


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def latest_sessions(*, db: Session, exam_id: uuid.UUID) -> dict[uuid.UUID, ExamSession]:
    """Each candidate's latest attempt."""
    latest: dict[uuid.UUID, ExamSession] = {}
    for session in db.scalars(select(ExamSession).where(ExamSession.exam_id == exam_id)):
        current = latest.get(session.candidate_id)
        if current is None or session.attempt > current.attempt:
            latest[session.candidate_id] = session
    return latest


def violation_counts(
    *, db: Session, session_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[Counter[str], Counter[str]]]:
    """Per session: counts by kind and by review status."""
    counts: dict[uuid.UUID, tuple[Counter[str], Counter[str]]] = {}
    if not session_ids:
        return counts
    rows = db.execute(
        select(Violation.session_id, Violation.kind, Violation.review_status, func.count())
        .where(Violation.session_id.in_(session_ids))
        .group_by(Violation.session_id, Violation.kind, Violation.review_status)
    )
    for session_id, kind, status, count in rows:
        by_kind, by_status = counts.setdefault(session_id, (Counter(), Counter()))
        by_kind[kind.value] += count
        by_status[status.value] += count
    return counts


def prompt_counts(*, db: Session, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Per session: how many self-correction prompts the candidate was shown."""
    if not session_ids:
        return {}
    rows = db.execute(
        select(SessionPrompt.session_id, func.count())
        .where(SessionPrompt.session_id.in_(session_ids))
        .group_by(SessionPrompt.session_id)
    )
    return {session_id: int(count) for session_id, count in rows}


def _message_tally(message: Message) -> str | None:
    """Which count of the report a message adds to, if any (a lowered hand adds to none)."""
    if message.kind is MessageKind.HAND_RAISED:
        return "hands_raised"
    if message.kind is MessageKind.HAND_LOWERED:
        return None
    return "from_candidate" if message.sender is Sender.CANDIDATE else "from_proctors"


def conversations(*, db: Session, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Message]]:
    """Per session: every message both ways (broadcasts and the hand too), oldest first."""
    found: dict[uuid.UUID, list[Message]] = {}
    if not session_ids:
        return found
    query = select(Message).where(Message.session_id.in_(session_ids)).order_by(Message.created_at)
    for message in db.scalars(query):
        found.setdefault(message.session_id, []).append(message)
    return found


def _messages(messages: list[Message]) -> dict[str, Any]:
    tally = Counter(_message_tally(message) for message in messages)
    return {
        "from_candidate": tally["from_candidate"],
        "from_proctors": tally["from_proctors"],
        "hands_raised": tally["hands_raised"],
        "conversation": [
            {
                "at": message.created_at.isoformat(),
                "sender": message.sender.value,
                "kind": message.kind.value,
                "body": message.body,
            }
            for message in messages
        ],
    }


def exam_rows(
    *, db: Session, exam: Exam, proctor_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """One row per candidate (only a proctor's own when proctor_id is given), by name."""
    people = candidates.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_id)
    sessions = latest_sessions(db=db, exam_id=exam.id)
    session_ids = [s.id for s in sessions.values()]
    counts = violation_counts(db=db, session_ids=session_ids)
    looked = attention.summaries(db=db, session_ids=session_ids)
    talks = conversations(db=db, session_ids=session_ids)
    prompted = prompt_counts(db=db, session_ids=session_ids)
    return [
        _row(candidate, sessions.get(candidate.id), counts, looked, talks, prompted)
        for candidate in people
    ]


def _row(
    candidate: Candidate,
    session: ExamSession | None,
    counts: dict[uuid.UUID, tuple[Counter[str], Counter[str]]],
    looked: dict[uuid.UUID, attention.AttentionSummary],
    talks: dict[uuid.UUID, list[Message]],
    prompted: dict[uuid.UUID, int],
) -> dict[str, Any]:
    empty: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    by_kind, by_status = counts.get(session.id, empty) if session else empty
    return {
        "candidate_id": str(candidate.id),
        "name": candidate.name,
        "email": candidate.email,
        "external_id": candidate.external_id,
        "session_id": str(session.id) if session else None,
        "state": session.state.value if session else None,
        "score": session.score if session else None,
        "risk_score": session.risk_score if session else None,
        "violations": {
            "total": sum(by_kind.values()),
            "by_kind": {kind.value: by_kind.get(kind.value, 0) for kind in KINDS},
            "by_review_status": {s.value: by_status.get(s.value, 0) for s in REVIEW_STATUSES},
        },
        "messages": _messages(talks.get(session.id, []) if session else []),
        "prompts_shown": prompted.get(session.id, 0) if session else 0,
        "decision": session.decision.value if session and session.decision else None,
        "decided_at": _iso(session.decided_at) if session else None,
        "started_at": _iso(session.started_at) if session else None,
        "ended_at": _iso(session.ended_at) if session else None,
        # The attention score's samples summed up (None without any): see the README.
        "attention": looked[session.id].to_json() if session and session.id in looked else None,
    }


def exam_json(*, exam: Exam, rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    return {
        "exam": {"id": str(exam.id), "title": exam.title},
        "generated_at": now.isoformat(),
        "violation_kinds": [kind.value for kind in KINDS],
        "candidates": rows,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def exam_csv(rows: list[dict[str, Any]]) -> str:
    """CSV_COLUMNS, one line per row; text that a spreadsheet would run is quoted with '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        violations = row["violations"]
        looked = row["attention"] or {"mean": None, "shares": {}}
        writer.writerow(
            [
                _cell(value)
                for value in (
                    row["candidate_id"],
                    row["name"],
                    row["email"],
                    row["external_id"],
                    row["session_id"],
                    row["state"],
                    row["score"],
                    row["risk_score"],
                    violations["total"],
                    *(violations["by_kind"][kind.value] for kind in KINDS),
                    *(violations["by_review_status"][s.value] for s in REVIEW_STATUSES),
                    row["messages"]["from_candidate"],
                    row["messages"]["from_proctors"],
                    row["messages"]["hands_raised"],
                    row["prompts_shown"],
                    row["decision"],
                    row["decided_at"],
                    row["started_at"],
                    row["ended_at"],
                    looked["mean"],
                    *(looked["shares"].get(label) for label in attention.LABELS),
                )
            ]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class Thumbnail:
    violation_id: uuid.UUID
    caption: str
    jpeg: bytes


@dataclass
class SessionReport:
    """Everything the PDF shows, loaded before drawing starts."""

    session: ExamSession
    candidate: Candidate
    exam: Exam
    violations: list[Violation]
    messages: list[Message] = field(default_factory=list)
    thumbnails: list[Thumbnail] = field(default_factory=list)
    attention: list[AttentionSample] = field(default_factory=list)
    prompts: list[SessionPrompt] = field(default_factory=list)
    notes: list[NoteRead] = field(default_factory=list)
    identity_gaps: list[identity_gaps.IdentityGap] = field(default_factory=list)
    evidence_total: int = 0
    evidence_missing: int = 0


def session_report(*, db: Session, store: ObjectStore, session: ExamSession) -> SessionReport:
    candidate = db.get(Candidate, session.candidate_id)
    exam = db.get(Exam, session.exam_id)
    if candidate is None or exam is None:
        raise LookupError(f"session {session.id} has no candidate or exam")
    violations = list(
        db.scalars(
            select(Violation)
            .where(Violation.session_id == session.id)
            .order_by(Violation.started_at)
        )
    )
    evidence = db.execute(
        select(StoredObject.violation_id, StoredObject.storage_key)
        .join(Violation, StoredObject.violation_id == Violation.id)
        .where(
            StoredObject.session_id == session.id,
            StoredObject.purpose == ObjectPurpose.EVIDENCE,
        )
        .order_by(Violation.started_at)
    ).all()
    report = SessionReport(
        session,
        candidate,
        exam,
        violations,
        messages=conversations(db=db, session_ids=[session.id]).get(session.id, []),
        evidence_total=len(evidence),
        attention=list(attention.for_session(db=db, session_id=session.id)),
        prompts=list(prompts_of(db=db, session_id=session.id)),
        notes=notes.for_session(db=db, session_id=session.id),
        identity_gaps=identity_gaps.gaps(db=db, session=session),
    )
    by_id = {violation.id: violation for violation in violations}
    for violation_id, key in evidence[:MAX_THUMBNAILS]:
        violation = by_id.get(violation_id) if violation_id else None
        if violation is None:
            continue
        try:
            jpeg = store.get(key)
        except StorageError:
            report.evidence_missing += 1
            continue
        caption = f"{violation.kind.value}" + (f" ({violation.label})" if violation.label else "")
        caption += f" at {violation.started_at:%H:%M:%S} UTC"
        report.thumbnails.append(Thumbnail(violation.id, caption, jpeg))
    return report
