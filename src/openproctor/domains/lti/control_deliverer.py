"""The Assessment Control outbox: POSTs queued control requests (control.py) to the platforms
with an access token, retrying with the webhooks' back-off schedule for a day, and makes our
session follow the status the platform answers. It runs in the webhook deliverer's thread
(an Outbox beside the webhooks' and the grade passback's).

Requests of one attempt go out in the order they were made (a resume never overtakes the
pause before it); a node claims a request by moving its next_attempt_at forward in one
conditional UPDATE, as the webhook deliverer does, so several nodes never send it twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, sessionmaker

from openproctor.db import transaction, utcnow
from openproctor.domains.audit import service as audit_log
from openproctor.domains.lti import access, calls, control
from openproctor.domains.lti.keys import tool_key
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey
from openproctor.domains.lti.proctoring_models import (
    ControlStatus,
    LtiControlRequest,
    LtiProctoredAttempt,
)
from openproctor.domains.sessions.models import (
    FINAL_STATES,
    ExamSession,
    IllegalTransition,
    SessionState,
)
from openproctor.domains.webhooks import schedule
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.outbound import OutboundPolicy

log = logging.getLogger(__name__)

# Answers that a retry of the same request cannot change: the platform refuses it for good.
REFUSED_FOR_GOOD = frozenset({400, 403, 404, 409, 410, 422})
FOLLOWED_REASON = "the course site's assessment is {status}"

# Told after a session followed the platform's answer (committed): the live hub's
# session_changed, so that the candidate's page and the walls show it.
SessionChanged = Callable[[uuid.UUID, SessionState], None]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result: the HTTP status (None: none came), an error, the answer."""

    status_code: int | None
    error: str | None
    answer: str | None = None


class ControlDeliverer:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        outbound_policy: OutboundPolicy,
        session_changed: SessionChanged | None = None,
        retry: RetryPolicy | None = None,
        lease_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.outbound_policy = outbound_policy
        self.session_changed = session_changed
        self.retry = retry or RetryPolicy()
        self.lease = timedelta(seconds=lease_s)
        self.clock = clock
        self.sent = 0
        self.failed_attempts = 0

    def enqueue_session_change(self, db: Session, session: ExamSession) -> None:
        """Nothing to add: the actions that drive the platform queue their own requests, in
        their own transaction (control.request)."""

    def deliver_due(self, client: httpx.Client) -> float:
        """Sends what is due, the oldest of each attempt first; returns seconds until the
        next pending request is due."""
        now = self.clock()
        earlier = aliased(LtiControlRequest)
        older_pending = (
            select(earlier.id)
            .where(
                earlier.attempt_id == LtiControlRequest.attempt_id,
                earlier.status == ControlStatus.PENDING,
                earlier.created_at < LtiControlRequest.created_at,
            )
            .exists()
        )
        with self.session_factory() as db:
            due = db.execute(
                select(LtiControlRequest.id, LtiControlRequest.next_attempt_at)
                .where(
                    LtiControlRequest.status == ControlStatus.PENDING,
                    LtiControlRequest.next_attempt_at <= now,
                    ~older_pending,
                )
                .order_by(LtiControlRequest.created_at)
                .limit(20)
            ).all()
        for request_id, due_at in due:
            if self._claim(request_id, due_at):
                self._attempt(client, request_id)
        upcoming = schedule.next_due(
            self.session_factory, LtiControlRequest, pending=ControlStatus.PENDING
        )
        # Nothing pending: the deliverer's own poll looks again (a new request is a new row).
        if upcoming is None:
            return 3600.0
        return max(0.0, (upcoming - self.clock()).total_seconds())

    def _claim(self, request_id: uuid.UUID, due_at: datetime) -> bool:
        return schedule.claim(
            self.session_factory,
            LtiControlRequest,
            row_id=request_id,
            pending=ControlStatus.PENDING,
            due_at=due_at,
            until=self.clock() + self.lease,
        )

    def _attempt(self, client: httpx.Client, request_id: uuid.UUID) -> None:
        with self.session_factory() as db:
            row = db.get(LtiControlRequest, request_id)
            attempt = db.get(LtiProctoredAttempt, row.attempt_id) if row is not None else None
            platform = db.get(LtiPlatform, attempt.platform_id) if attempt is not None else None
            if row is None or attempt is None or platform is None or not attempt.control_url:
                return
            signing_key = tool_key(db=db)
            db.commit()  # the first service call makes the tool's key
            db.expunge_all()
        outcome = self.send(client, platform, attempt.control_url, row.body, signing_key)
        followed: tuple[uuid.UUID, SessionState] | None = None
        with transaction(self.session_factory) as db:
            row = db.get(LtiControlRequest, request_id)
            if row is None:
                return
            self._record(row, outcome, self.clock())
            if row.status is ControlStatus.FAILED:  # admins see it in the audit log
                audit_log.record(
                    db=db,
                    actor=None,
                    actor_label="LTI platform",
                    action="lti.control.failed",
                    target_type="session",
                    target_id=attempt.session_id,
                    details={
                        "request_id": str(row.id),
                        "action": row.action.value,
                        "platform": platform.name,
                        "error": row.last_error,
                        "attempts": row.attempts,
                    },
                )
            if row.status is ControlStatus.SENT and outcome.answer:
                followed = self._follow(db, attempt.session_id, outcome.answer, row)
        if outcome.error is None:
            self.sent += 1
        else:
            self.failed_attempts += 1
            log.info(
                "assessment control %s to %s failed: %s", request_id, platform.name, outcome.error
            )
        if followed is not None and self.session_changed is not None:
            self.session_changed(*followed)

    def send(
        self,
        client: httpx.Client,
        platform: LtiPlatform,
        url: str,
        body: dict[str, object],
        signing_key: LtiToolKey,
    ) -> Outcome:
        """One POST with a bearer token (asked for again once when the platform answers 401)."""
        for retry_token in (False, True):
            try:
                token = access.access_token(
                    platform,
                    [control.SCOPE],
                    signing_key=signing_key,
                    client=client,
                    outbound_policy=self.outbound_policy,
                )
            except access.PlatformServiceError as error:
                return Outcome(None, str(error))
            try:
                answer = calls.call(
                    client,
                    self.outbound_policy,
                    "POST",
                    url,
                    token=token,
                    accept=f"{control.RESULT_MEDIA_TYPE}, application/json",
                    what="assessment control URL",
                    content_type=control.MEDIA_TYPE,
                    body=body,
                )
            except access.PlatformServiceError as error:
                return Outcome(None, str(error))
            status_code = answer.status_code
            if status_code == 401 and not retry_token:
                access.forget_token(platform, [control.SCOPE])
                continue
            if not 200 <= status_code < 300:
                return Outcome(status_code, f"HTTP {status_code}")
            return Outcome(status_code, None, _answered_status(answer.content))
        return Outcome(401, "HTTP 401")

    def _record(self, row: LtiControlRequest, outcome: Outcome, at: datetime) -> None:
        """Sent on 2xx; failed for good on a refusal a retry cannot change, or when the
        schedule (from the first failure) is over; otherwise pending until its next try."""
        row.attempts += 1
        row.last_status_code = outcome.status_code
        row.last_error = outcome.error[:500] if outcome.error else None
        if outcome.error is None:
            row.status = ControlStatus.SENT
            row.sent_at = at
            row.answer = outcome.answer
            return
        if row.retry_until is None:
            row.retry_until = self.retry.deadline(at)
        next_at = self.retry.next_attempt(
            attempts_made=row.attempts, now=at, retry_until=row.retry_until
        )
        if next_at is None or outcome.status_code in REFUSED_FOR_GOOD:
            row.status = ControlStatus.FAILED
            log.warning(
                "assessment control %s (%s) failed for good: %s", row.id, row.action, outcome.error
            )
        else:
            row.next_attempt_at = next_at

    def _follow(
        self, db: Session, session_id: uuid.UUID, answer: str, row: LtiControlRequest
    ) -> tuple[uuid.UUID, SessionState] | None:
        """Our session follows the platform's answer to our latest request where it can (a
        platform that pauses its assessment on a flag pauses ours too); audited."""
        newer = db.scalar(
            select(LtiControlRequest.id)
            .where(
                LtiControlRequest.attempt_id == row.attempt_id,
                LtiControlRequest.created_at > row.created_at,
            )
            .limit(1)
        )
        if newer is not None:  # a later action of ours overtook this answer: it is stale
            return None
        wanted = control.ANSWERED_STATES.get(answer)
        session = db.get(ExamSession, session_id)
        if wanted is None or session is None or session.state is wanted:
            return None
        if session.state in FINAL_STATES:
            return None
        path = [wanted]
        if session.state is SessionState.PAUSED and wanted is SessionState.SUBMITTED:
            path = [SessionState.RUNNING, SessionState.SUBMITTED]
        reason = FOLLOWED_REASON.format(status=answer)
        try:
            for state in path:
                session.transition(state, at=self.clock(), reason=reason)
        except IllegalTransition:
            return None
        audit_log.record(
            db=db,
            actor=None,
            actor_label="LTI platform",
            action="lti.control.answer",
            target_type="session",
            target_id=session.id,
            details={"request_id": str(row.id), "action": row.action.value, "status": answer},
        )
        return session.id, session.state


def _answered_status(content: bytes) -> str | None:
    try:
        document = json.loads(content)
    except ValueError:
        return None
    status = document.get("status") if isinstance(document, dict) else None
    return status if isinstance(status, str) and len(status) <= 20 else None
