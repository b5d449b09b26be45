"""Queuing e-mails and changing an exam's wording: audited, committed, and the mailer woken.
The pages and the API call these; nothing here waits for the mail server."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from openproctor.domains.audit.service import Auditor
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.invitations import letters, service
from openproctor.domains.invitations.mailer import Mailer
from openproctor.domains.invitations.models import EmailKind, Queued, TemplateWrite


class MailRefused(Exception):
    """Nothing can be sent or saved; the message says why."""


NOT_CONFIGURED = (
    "no mail server is configured, so nothing can be sent: set OPENPROCTOR_SMTP__HOST and "
    "OPENPROCTOR_SMTP__FROM (README, Administrator) and restart"
)


def save_wording(*, db: Session, audit: Auditor, exam: Exam, template: TemplateWrite) -> None:
    """Saves the exam's wording, or raises MailRefused listing its problems (nothing saved)."""
    problems = letters.problems(template)
    if problems:
        raise MailRefused("; ".join(problems))
    service.save_wording(db=db, exam_id=exam.id, template=template)
    audit("exam.mail_template", "exam", exam.id, reminder_minutes=template.reminder_lead_minutes)
    db.commit()


def invite(
    *,
    db: Session,
    audit: Auditor,
    mailer: Mailer,
    exam: Exam,
    candidates: Sequence[Candidate],
) -> Queued:
    """Queues an invitation to each of the candidates (withdrawn links left out), audited
    and committed; the mailer sends them in the background."""
    if not mailer.configured:
        raise MailRefused(NOT_CONFIGURED)
    queued, skipped = service.queue(
        db=db, candidates=candidates, kind=EmailKind.INVITATION, requested_by=audit.actor.email
    )
    audit("exam.invitations", "exam", exam.id, queued=len(queued), skipped=skipped)
    db.commit()
    mailer.wake()
    return Queued(queued=len(queued), skipped=skipped)
