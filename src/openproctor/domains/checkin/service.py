"""Check-in decisions, without side effects: how an enrolment compares with the reference
photo, whether the exam's admission policy lets the candidate in, and what a refused photo
adds to the record. flows.py writes and announces what these decide."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin.models import AUTO, Admission, CheckIn, ReferencePhoto
from openproctor.domains.exams.policy import Admission as AdmissionPolicy
from openproctor.domains.sessions.models import ExamSession, SessionState


def reference_key(candidate_id: uuid.UUID | str) -> str:
    """Where a candidate's reference photo is kept in the object store."""
    return f"candidates/{candidate_id}/reference"


def reference_of(candidate: Candidate) -> ReferencePhoto | None:
    return (
        ReferencePhoto.model_validate(candidate.reference_photo)
        if candidate.reference_photo
        else None
    )


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    """L2 distance of two embeddings, as the identity checks measure it."""
    return math.dist(a, b)


@dataclass(frozen=True, slots=True)
class Verdict:
    admit: bool
    reason: str


def decide(
    *,
    policy: AdmissionPolicy,
    reference: ReferencePhoto | None,
    embedding: Sequence[float],
    embedder: str,
    threshold: float,
) -> tuple[Verdict, float | None]:
    """The automatic decision on an accepted enrolment photo, with the reference distance
    (None without a comparable reference). `auto` admits when every check passes; without a
    reference the enrolment photo becomes the reference, as before check-in existed."""
    measured: float | None = None
    if reference is None:
        verdict = Verdict(True, "no reference photo: the enrolment photo is the reference")
    elif reference.embedder != embedder:
        verdict = Verdict(
            False,
            f"the reference photo was embedded by {reference.embedder}, the enrolment by "
            f"{embedder}: upload it again to compare",
        )
    else:
        measured = distance(embedding, reference.embedding)
        if measured <= threshold:
            verdict = Verdict(
                True,
                f"the live face matches the reference photo ({measured:.2f} ≤ {threshold:.2f})",
            )
        else:
            verdict = Verdict(
                False,
                f"the live face does not match the reference photo "
                f"({measured:.2f} > {threshold:.2f})",
            )
    if policy is AdmissionPolicy.PROCTOR:
        verdict = Verdict(False, f"this exam admits candidates by a proctor; {verdict.reason}")
    return verdict, measured


def after_refusal(
    checkin: CheckIn, *, guidance: str, limit: int, now: datetime, what: str = "enrolment photos"
) -> bool:
    """Counts a refused enrolment photo (or, with `what`, an ID photo that could not be
    judged); True when this one sends the candidate to the lobby (the `limit`-th refusal in a
    row: an accepted photo starts the count again)."""
    checkin.failed_attempts += 1
    checkin.last_refusal = guidance
    if checkin.failed_attempts < limit:
        return False
    checkin.admission = Admission.WAITING
    checkin.waiting_since, checkin.needs_help = now, True
    checkin.reason = f"{checkin.failed_attempts} {what} refused; the last: {guidance}"
    checkin.decided_by, checkin.decided_at = AUTO, now
    checkin.photo_admits = None
    return True


def with_id(photo: Verdict, *, id_passed: bool, id_reason: str) -> Verdict:
    """The admission once the ID is judged too: admitted only when the photo's verdict admits
    and the ID passed; the reason names both checks."""
    return Verdict(photo.admit and id_passed, f"{photo.reason}; {id_reason}")


def waiting(
    *, db: Session, exam_id: uuid.UUID, proctor_id: uuid.UUID | None
) -> list[tuple[ExamSession, Candidate]]:
    """The exam's sessions waiting in the lobby (of `proctor_id`'s candidates, or all), the
    longest waiting first."""
    query = (
        select(ExamSession, Candidate)
        .join(Candidate, Candidate.id == ExamSession.candidate_id)
        .where(ExamSession.exam_id == exam_id, ExamSession.state == SessionState.CHECKING)
    )
    if proctor_id is not None:
        query = query.where(Candidate.proctor_id == proctor_id)
    rows = [
        (session, candidate)
        for session, candidate in db.execute(query)
        if CheckIn.of(session.checkin).admission is Admission.WAITING
    ]
    rows.sort(key=lambda row: CheckIn.of(row[0].checkin).waiting_since or row[0].created_at)
    return rows
