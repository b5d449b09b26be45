"""The background mailer: a thread that sends queued e-mails over SMTP and queues reminders
as they fall due. A sent invitation raises the invitation.sent webhook event (in the same
transaction as its status).

Every e-mail is a row before it is sent, and its status is written after every attempt, so a
web request only queues (and returns at once) and a restart loses nothing: queued rows are
sent by whichever mailer runs next. Several web nodes can run one each: an e-mail is claimed
with one conditional UPDATE, and a reminder's unique once_key lets only one node queue it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from openproctor import smtp
from openproctor.db import transaction, utcnow
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.invitations import letters, service
from openproctor.domains.invitations.models import CandidateEmail, EmailKind, EmailStatus
from openproctor.domains.webhooks import events as webhook_events

log = logging.getLogger(__name__)


class Mailer:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        settings: smtp.SmtpSettings,
        public_url: str,
        poll_s: float = 5.0,
        reminder_sweep_s: float = 60.0,
        batch: int = 50,
        lease_s: float = 600.0,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.public_url = public_url
        self.poll_s = poll_s
        self.reminder_sweep_s = reminder_sweep_s
        self.batch = batch
        # Longer than any one exchange with the server can last: a row SENDING longer than
        # this was left by a node that stopped.
        self.lease = timedelta(seconds=max(lease_s, settings.timeout_s * 10))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    @property
    def configured(self) -> bool:
        return self.settings.configured

    def wake(self) -> None:
        """Send what is queued now; safe from request threads."""
        self._wake.set()

    # --- lifecycle (nothing runs while no mail server is configured) ------------------------

    def start(self) -> None:
        if self._thread is not None or not self.configured:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mailer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stops after the e-mail being sent; what is still queued stays queued."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        last_sweep = float("-inf")
        while not self._stopping.is_set():
            try:
                if time.monotonic() - last_sweep >= self.reminder_sweep_s:
                    last_sweep = time.monotonic()
                    self.sweep(utcnow())
                self.send_waiting()
            except SQLAlchemyError:
                log.exception("mailer: database error; trying again soon")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    # --- the work, one step at a time (tests call these directly) --------------------------

    def sweep(self, now: datetime) -> int:
        """Queues the reminders due at `now` and fails what a stopped node left SENDING;
        returns how many reminders were queued."""
        with transaction(self.session_factory) as db:
            service.fail_interrupted(db=db, before=now - self.lease, now=now)
        with self.session_factory() as db:
            due = [candidate.id for candidate in service.due_reminders(db=db, now=now)]
        queued = 0
        for candidate_id in due:
            try:
                with transaction(self.session_factory) as db:
                    candidate = db.get(Candidate, candidate_id)
                    if candidate is not None:
                        rows, _ = service.queue(
                            db=db,
                            candidates=[candidate],
                            kind=EmailKind.REMINDER,
                            requested_by=service.SYSTEM,
                            once=True,
                        )
                        queued += len(rows)
            except IntegrityError:
                pass  # another node queued this reminder first
        return queued

    def send_waiting(self) -> int:
        """Sends the queued e-mails (a batch at a time); returns how many were attempted."""
        attempted = 0
        while not self._stopping.is_set():
            with self.session_factory() as db:
                waiting = service.waiting(db=db, limit=self.batch)
            if not waiting:
                return attempted
            for email_id in waiting:
                if self._stopping.is_set():
                    break
                with transaction(self.session_factory) as db:
                    claimed = service.claim(db=db, email_id=email_id, now=utcnow())
                if claimed:
                    self._send(email_id)
                    attempted += 1
        return attempted

    def _send(self, email_id: uuid.UUID) -> None:
        error: str | None = None
        try:
            with transaction(self.session_factory) as db:
                mail = self._compose(db, email_id)
            if mail is not None:
                smtp.send(self.settings, mail)
        except smtp.MailError as failure:
            error = str(failure)
        except Exception as failure:
            # Whatever went wrong, the row must not stay SENDING with no word of why.
            log.exception("mailer: e-mail %s not sent", email_id)
            error = f"not sent: {failure.__class__.__name__}: {failure}"[: smtp.MAX_ERROR_CHARS]
        else:
            if mail is None:
                error = "the candidate's link was withdrawn before the e-mail went"
        with transaction(self.session_factory) as db:
            email = db.get(CandidateEmail, email_id)
            if email is None:
                return  # the candidate was removed meanwhile
            email.status = EmailStatus.FAILED if error else EmailStatus.SENT
            email.error = error
            email.finished_at = utcnow()
            candidate = db.get(Candidate, email.candidate_id)
            if not error and email.kind is EmailKind.INVITATION and candidate is not None:
                link = candidates.invite_url(public_url=self.public_url, candidate=candidate)
                webhook_events.enqueue_invitation_sent(
                    db=db, candidate=candidate, link=link, email_id=email.id
                )
        if error:
            self.failed += 1
            log.info("e-mail %s not sent: %s", email_id, error)
        else:
            self.sent += 1

    def _compose(self, db: Session, email_id: uuid.UUID) -> EmailMessage | None:
        """The message, its subject and address written on the row; None when the
        candidate's link no longer works."""
        email = db.get(CandidateEmail, email_id)
        candidate = db.get(Candidate, email.candidate_id) if email else None
        exam = db.get(Exam, candidate.exam_id) if candidate else None
        if email is None or candidate is None or exam is None:
            return None
        if candidate.invite_withdrawn_at is not None:
            return None
        link = candidates.invite_url(public_url=self.public_url, candidate=candidate)
        words = letters.letter(
            service.wording(db=db, exam_id=exam.id),
            email.kind,
            candidate=candidate,
            exam=exam,
            link=link,
        )
        email.to_address = candidate.email
        email.subject = words.subject
        return letters.message(words, to=candidate.email, sender=self.settings.sender)
