"""The background deliverer: a thread that writes emitted events to the outbox and POSTs
due deliveries, retrying with exponential back-off and jitter for a day (schedule.py).

A webhook whose receiver fails every attempt of that day, or answers 410 Gone, is turned
off and the admins are told (flows.turn_off).

Other outboxes ride along in the same thread (e.g. LTI grade passback): each is told of a
session's committed change and sends what it has due (the Outbox protocol).

Every event is a row before it is sent, so a restart loses nothing: pending rows are picked
up by whichever deliverer runs next. Several web nodes can run one each: a node claims a
delivery by moving its next_attempt_at forward in one conditional UPDATE, so two nodes never
send the same attempt.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from openproctor import __version__, outbound, smtp
from openproctor.db import transaction, utcnow
from openproctor.domains.integrations.models import ExamIntegration
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.webhooks import events, flows, schedule, service
from openproctor.domains.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.domains.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    sign,
    standard_headers,
)
from openproctor.outbound import OutboundPolicy, OutboundRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Emitted:
    event_type: str
    exam_id: uuid.UUID | None
    data: dict[str, Any]
    key: str | None


@dataclass(frozen=True, slots=True)
class _SessionChanged:
    session_id: uuid.UUID


class Outbox(Protocol):
    """Another outbox the deliverer's thread runs (its rows, its sending)."""

    def enqueue_session_change(self, db: Session, session: ExamSession) -> None:
        """A session's change was committed: queue what it raises (the caller commits)."""

    def deliver_due(self, client: httpx.Client) -> float:
        """Sends what is due; returns seconds until the next thing is."""
        ...


class WebhookDeliverer:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        outbound_policy: OutboundPolicy,
        retry: RetryPolicy | None = None,
        poll_s: float = 2.0,
        timeout_s: float = 10.0,
        batch: int = 20,
        lease_s: float = 60.0,
        mail: smtp.SmtpSettings | None = None,
        public_url: str = "",
        clock: Callable[[], datetime] = utcnow,
        outboxes: Sequence[Outbox] = (),
    ) -> None:
        self.session_factory = session_factory
        self.outboxes = tuple(outboxes)
        # Where to tell the admins that a webhook was turned off (None or unconfigured: not
        # by e-mail).
        self.mail = mail
        self.public_url = public_url
        # The schedule's clock (tests move it forward); signatures carry the real time.
        self.clock = clock
        # Every attempt is vetted again: a receiver's name may resolve elsewhere by now.
        self.outbound_policy = outbound_policy
        self.retry = retry or RetryPolicy()
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.batch = batch
        self.lease = timedelta(seconds=max(lease_s, timeout_s * 2))
        self._queue: queue.SimpleQueue[_Emitted | _SessionChanged] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed_attempts = 0

    # --- what the rest of the server calls (from any thread) -------------------------------

    def emit(
        self,
        event_type: str,
        exam_id: uuid.UUID | None,
        payload: dict[str, Any],
        *,
        key: str | None = None,
    ) -> None:
        """Queues an event for every webhook that wants it; returns at once."""
        self._queue.put(_Emitted(event_type, exam_id, payload, key))
        self._wake.set()

    def session_changed(self, session_id: uuid.UUID, state: SessionState | None = None) -> None:
        """A session's state change was committed: raises session.started, session.ended
        and the exam's completion callback as they apply (each once per session)."""
        del state  # read back from the database, where it was committed
        self._queue.put(_SessionChanged(session_id))
        self._wake.set()

    def wake(self) -> None:
        """Look for due deliveries now (e.g. after a redelivery was asked for)."""
        self._wake.set()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stops after the current attempt; queued events are written to the outbox first."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.persist_queued()

    # --- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        with outbound.client(self.timeout_s) as client:
            while not self._stopping.is_set():
                wait = self.poll_s
                try:
                    self.persist_queued()
                    wait = min(wait, self.deliver_due(client))
                    for outbox in self.outboxes:
                        wait = min(wait, self._deliver_other(outbox, client))
                except SQLAlchemyError:
                    log.exception("webhook deliverer: database error; trying again soon")
                self._wake.wait(max(0.01, wait))
                self._wake.clear()

    def _deliver_other(self, outbox: Outbox, client: httpx.Client) -> float:
        """Another outbox's due rows; its failure must not stop the webhooks (its claimed
        row is tried again when the claim runs out)."""
        try:
            return outbox.deliver_due(client)
        except Exception:
            log.exception("outbox %s failed; trying again soon", type(outbox).__name__)
            return self.poll_s

    def persist_queued(self) -> None:
        """Writes the emitted events to the outbox."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            for attempt in range(2):
                try:
                    with transaction(self.session_factory) as db:
                        self._persist(db, item)
                    break
                except IntegrityError:
                    # Another node wrote the same once-only event meanwhile: check again.
                    if attempt:
                        log.warning("webhook event %s not stored: conflict", item)

    def _persist(self, db: Session, item: _Emitted | _SessionChanged) -> None:
        if isinstance(item, _Emitted):
            service.enqueue(
                db=db,
                event_type=item.event_type,
                exam_id=item.exam_id,
                data=item.data,
                key=item.key,
            )
            return
        session = db.get(ExamSession, item.session_id)
        if session is not None:
            events.enqueue_session_change(db=db, session=session)
            for outbox in self.outboxes:
                outbox.enqueue_session_change(db, session)

    def deliver_due(self, client: httpx.Client) -> float:
        """Sends what is due; returns seconds until the next pending delivery is due."""
        now = self.clock()
        with self.session_factory() as db:
            due = db.execute(
                select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
                .where(
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(self.batch)
            ).all()
        for delivery_id, due_at in due:
            if self._stopping.is_set():
                break
            if self._claim(delivery_id, due_at):
                self._attempt(client, delivery_id)
        upcoming = schedule.next_due(
            self.session_factory, WebhookDelivery, pending=DeliveryStatus.PENDING
        )
        if upcoming is None:
            return self.poll_s
        return max(0.0, (upcoming - self.clock()).total_seconds())

    def _claim(self, delivery_id: uuid.UUID, due_at: datetime) -> bool:
        return schedule.claim(
            self.session_factory,
            WebhookDelivery,
            row_id=delivery_id,
            pending=DeliveryStatus.PENDING,
            due_at=due_at,
            until=self.clock() + self.lease,
        )

    def _secrets(self, db: Session, delivery: WebhookDelivery) -> list[str]:
        """The secrets that sign it now (none: its webhook or callback settings are gone)."""
        if delivery.webhook_id is not None:
            webhook = db.get(Webhook, delivery.webhook_id)
            return service.valid_secrets(webhook, self.clock()) if webhook is not None else []
        if delivery.exam_id is not None:
            settings = db.get(ExamIntegration, delivery.exam_id)
            secret = settings.callback_secret if settings is not None else None
            return [secret] if secret else []
        return []

    def _attempt(self, client: httpx.Client, delivery_id: uuid.UUID) -> None:
        with self.session_factory() as db:
            delivery = db.get(WebhookDelivery, delivery_id)
            if delivery is None:
                return
            valid = self._secrets(db, delivery)
            url, body, event_type = delivery.url, delivery.body.encode(), delivery.event_type
            msg_id, webhook_id = str(delivery.event_id), delivery.webhook_id
        status_code: int | None = None
        error: str | None = None
        started = time.perf_counter()
        if not valid:
            error = "the webhook or the exam's callback settings were removed"
        else:
            signed_at = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"OpenProctor-Webhooks/{__version__}",
                **standard_headers(valid, msg_id, body, signed_at),
                EVENT_HEADER: event_type,
                DELIVERY_HEADER: str(delivery_id),
                SIGNATURE_HEADER: sign(valid, body, signed_at),  # deprecated, for one release
            }
            # The log keeps the status and a short error class, never what the receiver
            # said: the answer is not read at all.
            try:
                with self.outbound_policy.stream(
                    client, "POST", url, headers=headers, content=body
                ) as response:
                    status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except OutboundRefused as refusal:
                error = f"refused: {refusal.reason}"
            except httpx.HTTPError as failure:
                error = outbound.describe_failure(failure)
        ms = (time.perf_counter() - started) * 1000
        turned_off: str | None = None  # why the webhook was turned off
        with transaction(self.session_factory) as db:
            delivery = db.get(WebhookDelivery, delivery_id)
            if delivery is None:
                return
            now = self.clock()
            outcome = service.record_attempt(
                delivery=delivery,
                at=now,
                status_code=status_code,
                error=error,
                ms=ms,
                retry=self.retry,
                final=not valid,
            )
            if outcome is DeliveryStatus.FAILED and webhook_id is not None and valid:
                turned_off = flows.turn_off_if_failing(
                    db=db, delivery=delivery, status_code=status_code, retry=self.retry, now=now
                )
        if error is None:
            self.sent += 1
        else:
            self.failed_attempts += 1
            log.info("webhook delivery %s to %s failed: %s", delivery_id, url, error)
        if turned_off is not None and webhook_id is not None:
            log.warning("webhook %s to %s turned off: %s", webhook_id, url, turned_off)
            if self.mail is not None and self.mail.configured:
                flows.tell_admins(
                    self.session_factory,
                    self.mail,
                    webhook_id=webhook_id,
                    url=url,
                    reason=turned_off,
                    public_url=self.public_url,
                )
