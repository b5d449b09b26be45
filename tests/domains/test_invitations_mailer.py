"""The background mailer against a real SMTP server: a queued invitation arrives with the
candidate's link and is marked sent; a refusal is marked failed with the server's words; a
reminder is queued once, only within the exam's lead time; a withdrawn link is not sent; an
e-mail a stopped node left half-sent is marked failed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openproctor.db import utcnow
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.invitations import letters, service
from openproctor.domains.invitations.mailer import Mailer
from openproctor.domains.invitations.models import CandidateEmail, EmailKind, EmailStatus
from tests.conftest import Factory
from tests.mailbox import Mailbox, body_of

PUBLIC = "https://exams.example.org"


def mailer_for(session_factory: sessionmaker[Session], mailbox: Mailbox) -> Mailer:
    return Mailer(session_factory, settings=mailbox.settings, public_url=PUBLIC)


def queued(factory: Factory, candidate: Candidate, kind: EmailKind) -> CandidateEmail:
    [email], _ = service.queue(
        db=factory.db, candidates=[candidate], kind=kind, requested_by="admin@example.com"
    )
    factory.db.commit()
    return email


def status_of(factory: Factory, email: CandidateEmail) -> CandidateEmail:
    factory.db.expire_all()
    row = factory.db.get(CandidateEmail, email.id)
    assert row is not None
    return row


def test_an_invitation_arrives_with_the_link_and_is_marked_sent(
    factory: Factory, session_factory: sessionmaker[Session], mailbox: Mailbox
) -> None:
    exam = factory.exam()
    ada = factory.candidate(exam, name="Ada")
    email = queued(factory, ada, EmailKind.INVITATION)
    assert mailer_for(session_factory, mailbox).send_waiting() == 1
    [received] = mailbox.messages
    assert received["To"] == ada.email
    assert received["Subject"] == f"Your invitation: {exam.title}"
    assert f"\n{PUBLIC}/take/{ada.invite_token}\n" in body_of(received)
    row = status_of(factory, email)
    assert (row.status, row.error, row.to_address) == (EmailStatus.SENT, None, ada.email)
    assert row.subject == received["Subject"]
    assert row.finished_at is not None


def test_an_address_with_accents_arrives(
    factory: Factory, session_factory: sessionmaker[Session], mailbox: Mailbox
) -> None:
    chloe = factory.candidate(factory.exam(), name="Chloé")
    assert not chloe.email.isascii()
    email = queued(factory, chloe, EmailKind.INVITATION)
    mailer_for(session_factory, mailbox).send_waiting()
    assert status_of(factory, email).status is EmailStatus.SENT
    assert mailbox.messages[0]["To"] == chloe.email


def test_a_refusal_is_marked_failed_with_the_reason(
    factory: Factory, session_factory: sessionmaker[Session], mailbox: Mailbox
) -> None:
    email = queued(factory, factory.candidate(factory.exam()), EmailKind.INVITATION)
    mailbox.refuse = "554 5.7.1 Relay access denied"
    mailer_for(session_factory, mailbox).send_waiting()
    row = status_of(factory, email)
    assert row.status is EmailStatus.FAILED
    assert row.error == "the mail server said 554 5.7.1 Relay access denied"
    assert mailbox.messages == []


def test_a_withdrawn_link_is_not_sent(
    factory: Factory, session_factory: sessionmaker[Session], mailbox: Mailbox
) -> None:
    ada = factory.candidate(factory.exam())
    email = queued(factory, ada, EmailKind.INVITATION)
    ada.invite_withdrawn_at = utcnow()
    factory.db.commit()
    mailer_for(session_factory, mailbox).send_waiting()
    row = status_of(factory, email)
    assert (row.status, mailbox.messages) == (EmailStatus.FAILED, [])
    assert row.error == "the candidate's link was withdrawn before the e-mail went"


def with_reminder(factory: Factory, exam: Exam, minutes: int) -> None:
    wording = letters.DEFAULT_TEMPLATE.model_copy(update={"reminder_lead_minutes": minutes})
    service.save_wording(db=factory.db, exam_id=exam.id, template=wording)
    factory.db.commit()


def test_a_reminder_is_sent_once_within_the_lead_time(
    factory: Factory, session_factory: sessionmaker[Session], mailbox: Mailbox
) -> None:
    soon = factory.exam(opens_in=timedelta(minutes=50))
    later = factory.exam(opens_in=timedelta(minutes=70))
    silent = factory.exam(opens_in=timedelta(minutes=10))  # no reminder set
    for exam in (soon, later):
        with_reminder(factory, exam, 60)
    ada, _, _ = (factory.candidate(exam) for exam in (soon, later, silent))
    mailer = mailer_for(session_factory, mailbox)
    now = utcnow()
    assert mailer.sweep(now) == 1
    mailer.send_waiting()
    [received] = mailbox.messages
    assert received["To"] == ada.email
    assert received["Subject"].startswith(f"Reminder: {soon.title} opens at ")
    assert candidates.invite_url(public_url=PUBLIC, candidate=ada) in body_of(received)
    assert mailer.sweep(now + timedelta(minutes=1)) == 0  # once
    assert mailer.sweep(now + timedelta(minutes=11)) == 1  # the later exam's turn
    mailer.send_waiting()
    assert len(mailbox.messages) == 2
    assert mailer.sweep(now + timedelta(minutes=80)) == 0  # opened: too late to remind


def test_an_email_left_half_sent_is_marked_failed(
    factory: Factory, session_factory: sessionmaker[Session], mailbox: Mailbox
) -> None:
    email = queued(factory, factory.candidate(factory.exam()), EmailKind.INVITATION)
    mailer = mailer_for(session_factory, mailbox)
    assert service.claim(db=factory.db, email_id=email.id, now=utcnow())
    factory.db.commit()
    mailer.sweep(utcnow())  # within the lease: still being sent, for all we know
    assert status_of(factory, email).status is EmailStatus.SENDING
    mailer.sweep(utcnow() + mailer.lease + timedelta(seconds=1))
    row = status_of(factory, email)
    assert row.status is EmailStatus.FAILED
    assert row.error is not None
    assert row.error.startswith("interrupted while sending")
    assert factory.db.scalars(select(CandidateEmail)).all() == [row]
