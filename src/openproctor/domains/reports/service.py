"""What goes into reports: one row per candidate of an exam, and one session in detail."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openproctor.domains.attention import service as attention
from openproctor.domains.attention.models import AttentionSample
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin.service import reference_of
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import KIND_LABELS, ViolationKind
from openproctor.domains.messages.models import Message, MessageKind, Sender
from openproctor.domains.notes import service as notes
from openproctor.domains.notes.models import NoteRead
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.reports.answers import AnswerSheet, answer_sheet
from openproctor.domains.reports.events import SessionEvent, session_events
from openproctor.domains.reports.times import review_zone, when
from openproctor.domains.sessions import identity_gaps
from openproctor.domains.sessions.models import ExamSession, SessionPrompt, SessionState
from openproctor.domains.sessions.service import prompts_of
from openproctor.domains.users.models import User
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
    "max_score",
    "risk_score",
    "violations",
    *(f"violations_{kind.value}" for kind in KINDS),
    *(f"review_{status.value}" for status in REVIEW_STATUSES),
    "messages_from_candidate",
    "messages_from_proctors",
    "hands_raised",
    "prompts_shown",
    "decision",
    "decision_note",
    "reviewer",
    "decided_at",
    "started_at",
    "ended_at",
    "termination_reason",
    "attention_mean",
    *(f"attention_{label}" for label in attention.LABELS),
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Evidence images shown in a PDF, at most; the timeline lists every violation.
MAX_THUMBNAILS = 30


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


def staff_labels(*, db: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """How reports name staff members: "Name <e-mail>"."""
    if not user_ids:
        return {}
    found = db.execute(select(User.id, User.name, User.email).where(User.id.in_(user_ids)))
    return {user_id: f"{name} <{email}>" for user_id, name, email in found}


def reviewer_of(*, db: Session, session: ExamSession) -> str | None:
    """Who decided the attempt, as reports name staff (None: not decided, or deleted)."""
    if session.decided_by_id is None:
        return None
    return staff_labels(db=db, user_ids={session.decided_by_id}).get(session.decided_by_id)


def exam_rows(
    *, db: Session, exam: Exam, proctor_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """One row per candidate (only a proctor's own when proctor_id is given), by name; times
    in the exam's zone."""
    people = candidates.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_id)
    sessions = latest_sessions(db=db, exam_id=exam.id)
    session_ids = [s.id for s in sessions.values()]
    reviewers = staff_labels(
        db=db, user_ids={s.decided_by_id for s in sessions.values() if s.decided_by_id}
    )
    exam_facts = _ExamFacts(zone=review_zone(exam), max_score=exam.max_score, staff=reviewers)
    counts = violation_counts(db=db, session_ids=session_ids)
    looked = attention.summaries(db=db, session_ids=session_ids)
    talks = conversations(db=db, session_ids=session_ids)
    prompted = prompt_counts(db=db, session_ids=session_ids)
    return [
        _row(exam_facts, candidate, sessions.get(candidate.id), counts, looked, talks, prompted)
        for candidate in people
    ]


@dataclass(frozen=True)
class _ExamFacts:
    """What every row of an exam's report shares."""

    zone: ZoneInfo
    max_score: float
    staff: dict[uuid.UUID, str]


def _row(
    facts: _ExamFacts,
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
        "max_score": facts.max_score,
        "risk_score": session.risk_score if session else None,
        "violations": {
            "total": sum(by_kind.values()),
            "by_kind": {kind.value: by_kind.get(kind.value, 0) for kind in KINDS},
            "by_review_status": {s.value: by_status.get(s.value, 0) for s in REVIEW_STATUSES},
        },
        "messages": _messages(talks.get(session.id, []) if session else []),
        "prompts_shown": prompted.get(session.id, 0) if session else 0,
        "decision": session.decision.value if session and session.decision else None,
        "decision_note": session.decision_note if session else None,
        "reviewer": facts.staff.get(session.decided_by_id)
        if session and session.decided_by_id
        else None,
        "decided_at": _iso(session.decided_at if session else None, facts.zone),
        "started_at": _iso(session.started_at if session else None, facts.zone),
        "ended_at": _iso(session.ended_at if session else None, facts.zone),
        "termination_reason": termination_reason(session) if session else None,
        # The attention score's samples summed up (None without any): see the README.
        "attention": looked[session.id].to_json() if session and session.id in looked else None,
    }


def _reviewer(facts: _ExamFacts, session: ExamSession | None) -> str | None:
    return facts.staff.get(session.decided_by_id) if session and session.decided_by_id else None


def _iso(value: datetime | None, zone: ZoneInfo) -> str | None:
    return when(value, zone, "iso") if value else None


def termination_reason(session: ExamSession) -> str | None:
    """Why a terminated attempt was ended (None for any other)."""
    return session.end_reason if session.state is SessionState.TERMINATED else None


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


# Excel opens a CSV as UTF-8 only when it starts with a byte order mark ("Chloé", not "ChloÃ©").
BOM = "\ufeff"


def exam_csv(rows: list[dict[str, Any]]) -> str:
    """CSV_COLUMNS, one line per row, after a BOM; text that a spreadsheet would run is quoted
    with '."""
    buffer = io.StringIO()
    buffer.write(BOM)
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
                    row["max_score"],
                    row["risk_score"],
                    violations["total"],
                    *(violations["by_kind"][kind.value] for kind in KINDS),
                    *(violations["by_review_status"][s.value] for s in REVIEW_STATUSES),
                    row["messages"]["from_candidate"],
                    row["messages"]["from_proctors"],
                    row["messages"]["hands_raised"],
                    row["prompts_shown"],
                    row["decision"],
                    row["decision_note"],
                    row["reviewer"],
                    row["decided_at"],
                    row["started_at"],
                    row["ended_at"],
                    row["termination_reason"],
                    looked["mean"],
                    *(looked["shares"].get(label) for label in attention.LABELS),
                )
            ]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class Thumbnail:
    violation_id: uuid.UUID | None  # None: a photo of the candidate, not evidence
    caption: str
    jpeg: bytes


def flag_label(violation: Violation) -> str:
    """A flag as staff pages name it: "Prohibited object: cell phone"."""
    name = KIND_LABELS.get(violation.kind, violation.kind.value.replace("_", " "))
    return f"{name}: {violation.label}" if violation.label else name


@dataclass
class SessionReport:
    """Everything the PDF shows, loaded before drawing starts."""

    session: ExamSession
    candidate: Candidate
    exam: Exam
    violations: list[Violation]
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    reviewer: str | None = None
    events: list[SessionEvent] = field(default_factory=list)
    answers: AnswerSheet | None = None
    photos: list[Thumbnail] = field(default_factory=list)  # reference and enrolment photos
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
        zone=review_zone(exam),
        reviewer=reviewer_of(db=db, session=session),
        events=session_events(db=db, session=session),
        answers=answer_sheet(exam=exam, session=session),
        photos=_photos(db=db, store=store, candidate=candidate, session=session),
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
        caption = f"{flag_label(violation)} at {when(violation.started_at, report.zone)}"
        report.thumbnails.append(Thumbnail(violation.id, caption, jpeg))
    return report


def _photos(
    *, db: Session, store: ObjectStore, candidate: Candidate, session: ExamSession
) -> list[Thumbnail]:
    """The candidate's registered reference photo and the photo taken at enrolment, those that
    are stored and readable."""
    keys: list[tuple[str, str]] = []
    reference = reference_of(candidate)
    if reference is not None:
        keys.append(("Reference photo, registered before the exam", reference.key))
    enrolment = db.scalar(
        select(StoredObject.storage_key)
        .where(
            StoredObject.session_id == session.id,
            StoredObject.purpose == ObjectPurpose.ENROLMENT,
        )
        .order_by(StoredObject.created_at.desc())
        .limit(1)
    )
    if enrolment is not None:
        keys.append(("Enrolment photo, taken at check-in", enrolment))
    photos = []
    for caption, key in keys:
        try:
            photos.append(Thumbnail(None, caption, store.get(key)))
        except StorageError:
            photos.append(Thumbnail(None, caption, b""))  # the PDF says it is missing
    return photos
