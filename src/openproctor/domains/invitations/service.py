"""E-mails to candidates: the exam's wording, the queue, the reminders that fall due, and the
status each candidate's last e-mail reached."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.invitations.letters import DEFAULT_TEMPLATE
from openproctor.domains.invitations.models import (
    CandidateEmail,
    EmailKind,
    EmailStatus,
    MailTemplate,
    TemplateWrite,
)
from openproctor.pagination import Page, PageRequest, scalars_page

SYSTEM = "system"
# The statuses that count as "invited" when sending to those not invited yet.
INVITED = (EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.SENT)


def wording(*, db: Session, exam_id: uuid.UUID) -> TemplateWrite:
    """The exam's wording, or the default one."""
    row = db.get(MailTemplate, exam_id)
    return (
        DEFAULT_TEMPLATE if row is None else TemplateWrite.model_validate(row, from_attributes=True)
    )


def save_wording(*, db: Session, exam_id: uuid.UUID, template: TemplateWrite) -> None:
    row = db.get(MailTemplate, exam_id)
    if row is None:
        row = MailTemplate(exam_id=exam_id)
        db.add(row)
    for name, value in template.model_dump().items():
        setattr(row, name, value)
    db.flush()


def recipients(*, db: Session, exam_id: uuid.UUID, only_unsent: bool) -> Sequence[Candidate]:
    """The exam's candidates (those not invited yet, with only_unsent), by name."""
    query = select(Candidate).where(Candidate.exam_id == exam_id).order_by(Candidate.name)
    if only_unsent:
        invited = select(CandidateEmail.candidate_id).where(
            CandidateEmail.exam_id == exam_id,
            CandidateEmail.kind == EmailKind.INVITATION,
            CandidateEmail.status.in_(INVITED),
        )
        query = query.where(Candidate.id.not_in(invited))
    return db.scalars(query).all()


def queue(
    *,
    db: Session,
    candidates: Iterable[Candidate],
    kind: EmailKind,
    requested_by: str,
    once: bool = False,
) -> tuple[list[CandidateEmail], int]:
    """Queues one e-mail to each candidate whose link works; returns them and how many
    candidates were left out (their link is withdrawn). With once, a candidate gets this kind
    once ever (the reminder)."""
    queued, skipped = [], 0
    for candidate in candidates:
        if candidate.invite_withdrawn_at is not None:
            skipped += 1
            continue
        email = CandidateEmail(
            candidate_id=candidate.id,
            exam_id=candidate.exam_id,
            kind=kind,
            status=EmailStatus.QUEUED,
            requested_by=requested_by,
            once_key=f"{kind.value}:{candidate.id}" if once else None,
        )
        db.add(email)
        queued.append(email)
    db.flush()
    return queued, skipped


def due_reminders(*, db: Session, now: datetime) -> list[Candidate]:
    """Candidates whose reminder is due: their window opens within their exam's lead time,
    and they have had none."""
    rows = db.execute(
        select(Exam, MailTemplate.reminder_lead_minutes)
        .join(MailTemplate, MailTemplate.exam_id == Exam.id)
        .where(MailTemplate.reminder_lead_minutes.is_not(None), Exam.closes_at > now)
    ).all()
    due = []
    for exam, lead in rows:
        if lead is None:
            continue
        reminded = select(CandidateEmail.candidate_id).where(
            CandidateEmail.exam_id == exam.id, CandidateEmail.kind == EmailKind.REMINDER
        )
        waiting = db.scalars(
            select(Candidate).where(
                Candidate.exam_id == exam.id,
                Candidate.invite_withdrawn_at.is_(None),
                Candidate.id.not_in(reminded),
            )
        )
        for candidate in waiting:
            opens_at = candidate.accommodated.window(exam).opens_at
            if opens_at - timedelta(minutes=lead) <= now < opens_at:
                due.append(candidate)
    return due


def latest_by_candidate(*, db: Session, exam_id: uuid.UUID) -> dict[uuid.UUID, CandidateEmail]:
    """Each candidate's most recent e-mail (what the roster shows)."""
    emails = db.scalars(
        select(CandidateEmail)
        .where(CandidateEmail.exam_id == exam_id)
        .order_by(CandidateEmail.created_at)
    )
    return {email.candidate_id: email for email in emails}


def page_for_exam(
    *, db: Session, exam_id: uuid.UUID, page: PageRequest, status: EmailStatus | None = None
) -> Page[CandidateEmail]:
    """Newest first."""
    query = select(CandidateEmail).where(CandidateEmail.exam_id == exam_id)
    if status is not None:
        query = query.where(CandidateEmail.status == status)
    order = (CandidateEmail.created_at, CandidateEmail.id)
    return scalars_page(db, query, order, page, descending=True)


def waiting(*, db: Session, limit: int) -> Sequence[uuid.UUID]:
    query = select(CandidateEmail.id).where(CandidateEmail.status == EmailStatus.QUEUED)
    return db.scalars(query.order_by(CandidateEmail.created_at).limit(limit)).all()


def claim(*, db: Session, email_id: uuid.UUID, now: datetime) -> bool:
    """Takes a queued e-mail for this mailer: one conditional UPDATE, so two nodes never send
    the same one."""
    claimed = db.execute(
        update(CandidateEmail)
        .where(CandidateEmail.id == email_id, CandidateEmail.status == EmailStatus.QUEUED)
        .values(status=EmailStatus.SENDING, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0) == 1)


def fail_interrupted(*, db: Session, before: datetime, now: datetime) -> int:
    """E-mails a mailer took before `before` and never finished (its node stopped midway):
    failed, since whether the server took them is unknown; the admin may send again."""
    failed = db.execute(
        update(CandidateEmail)
        .where(CandidateEmail.status == EmailStatus.SENDING, CandidateEmail.claimed_at < before)
        .values(
            status=EmailStatus.FAILED,
            finished_at=now,
            error="interrupted while sending (the server stopped); it may not have arrived",
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(failed, "rowcount", 0))
