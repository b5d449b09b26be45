"""Grade passback: sends the queued Scores (grades.py) to the platforms' line items, retrying
on the webhooks' schedule (webhooks/schedule.py) until the platform takes them.

It runs inside the webhook deliverer's thread (an outbox beside the webhooks'): every score
is a row before it is sent, so an outage or a restart loses nothing, and several nodes
share the work by claiming a row (moving its next_attempt_at forward in one conditional
UPDATE). A line item is found or made for the exam on the first score of a link whose
launch named none.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openproctor.db import transaction, utcnow
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import grades, keys
from openproctor.domains.lti.access import PlatformServiceError, access_token, forget_token
from openproctor.domains.lti.advantage_models import (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_SCORE,
    GradePostStatus,
    LtiGradePost,
    LtiServiceLink,
)
from openproctor.domains.lti.calls import call
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.webhooks import schedule
from openproctor.domains.webhooks.schedule import RetryPolicy
from openproctor.outbound import OutboundPolicy

log = logging.getLogger(__name__)

LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
TAG = "openproctor"
# A line item's maximum for an exam without questions of its own (an external exam):
# only progress and comments are posted to it.
NO_QUESTIONS_MAXIMUM = 100.0


@dataclass(frozen=True)
class _Job:
    """What one attempt needs, read before any request (no connection held meanwhile)."""

    score: dict[str, object]
    platform: LtiPlatform
    signing_key: LtiToolKey
    link_id: uuid.UUID
    lineitem_url: str | None
    lineitems_url: str | None
    scopes: list[str]
    resource_link_id: str
    label: str
    maximum: float


class GradePassback:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        outbound_policy: OutboundPolicy,
        retry: RetryPolicy | None = None,
        batch: int = 20,
        lease_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.outbound_policy = outbound_policy
        self.retry = retry or RetryPolicy()
        self.batch = batch
        self.lease = timedelta(seconds=lease_s)
        # The schedule's clock (tests move it forward).
        self.clock = clock
        self.sent = 0
        self.failed_attempts = 0

    def enqueue_session_change(self, db: Session, session: ExamSession) -> None:
        """An attempt's state change was committed: queue its Score if it ended."""
        grades.enqueue(db=db, session=session, at=session.ended_at or self.clock())

    def deliver_due(self, client: httpx.Client) -> float:
        """Sends the scores that are due; returns seconds until the next one is."""
        with self.session_factory() as db:
            due = db.execute(
                select(LtiGradePost.id, LtiGradePost.next_attempt_at)
                .where(
                    LtiGradePost.status == GradePostStatus.PENDING,
                    LtiGradePost.next_attempt_at <= self.clock(),
                )
                .order_by(LtiGradePost.next_attempt_at)
                .limit(self.batch)
            ).all()
        for post_id, due_at in due:
            if self._claim(post_id, due_at):
                self._attempt(client, post_id)
        upcoming = schedule.next_due(
            self.session_factory, LtiGradePost, pending=GradePostStatus.PENDING
        )
        return 3600.0 if upcoming is None else max(0.0, (upcoming - self.clock()).total_seconds())

    def _claim(self, post_id: uuid.UUID, due_at: datetime) -> bool:
        return schedule.claim(
            self.session_factory,
            LtiGradePost,
            row_id=post_id,
            pending=GradePostStatus.PENDING,
            due_at=due_at,
            until=self.clock() + self.lease,
        )

    def _job(self, post_id: uuid.UUID) -> _Job | None:
        with transaction(self.session_factory) as db:
            post = db.get(LtiGradePost, post_id)
            link = db.get(LtiServiceLink, post.link_id) if post is not None else None
            platform = db.get(LtiPlatform, link.platform_id) if link is not None else None
            exam = db.get(Exam, link.exam_id) if link is not None else None
            if post is None or link is None or platform is None or exam is None:
                return None
            signing_key = keys.tool_key(db=db)  # made now if the tool has none yet
            job = _Job(
                score=dict(post.score),
                platform=platform,
                signing_key=signing_key,
                link_id=link.id,
                lineitem_url=link.lineitem_url,
                lineitems_url=link.lineitems_url,
                scopes=list(link.ags_scopes),
                resource_link_id=link.resource_link_id,
                label=exam.title,
                maximum=exam.max_score or NO_QUESTIONS_MAXIMUM,
            )
            db.expunge_all()  # the job's rows are read after the session closes
        return job

    def _attempt(self, client: httpx.Client, post_id: uuid.UUID) -> None:
        job = self._job(post_id)
        if job is None:
            return
        status_code: int | None = None
        error: str | None = None
        lineitem = job.lineitem_url
        try:
            lineitem = lineitem or self._lineitem(client, job)
            token = self._token(client, job, [SCOPE_SCORE])
            answer = call(
                client,
                self.outbound_policy,
                "POST",
                scores_url(lineitem),
                token=token,
                accept="application/json",
                what="score service",
                content_type=SCORE_TYPE,
                body=job.score,
            )
            status_code = answer.status_code
            if answer.status_code == 401:
                forget_token(job.platform, [SCOPE_SCORE])  # revoked early: a new one next time
            if not answer.ok:
                error = f"the platform's score service answered HTTP {answer.status_code}"
        except PlatformServiceError as failure:
            error = str(failure)
        except httpx.InvalidURL:
            error = f"the platform's line item URL {lineitem!r} is not a valid URL"
        with transaction(self.session_factory) as db:
            post = db.get(LtiGradePost, post_id)
            link = db.get(LtiServiceLink, job.link_id)
            if post is None:
                return
            if link is not None and lineitem and link.lineitem_url is None:
                link.lineitem_url = lineitem
            record_attempt(
                post=post, at=self.clock(), status_code=status_code, error=error, retry=self.retry
            )
        if error is None:
            self.sent += 1
        else:
            self.failed_attempts += 1
            log.info("grade passback %s failed: %s", post_id, error)

    def _token(self, client: httpx.Client, job: _Job, scopes: list[str]) -> str:
        return access_token(
            job.platform,
            scopes,
            signing_key=job.signing_key,
            client=client,
            outbound_policy=self.outbound_policy,
        )

    def _lineitem(self, client: httpx.Client, job: _Job) -> str:
        """The exam's line item on the link's course: this tool's one for the resource
        link if the platform has it, else a new one."""
        if not job.lineitems_url:
            raise PlatformServiceError("the launch named neither a line item nor line items")
        if not {SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY} & set(job.scopes):
            raise PlatformServiceError(
                "the platform lets this tool neither read nor make line items and the launch "
                "named none: give the activity a grade item on the platform"
            )
        read_scope = SCOPE_LINEITEM if SCOPE_LINEITEM in job.scopes else SCOPE_LINEITEM_READONLY
        token = self._token(client, job, [read_scope])
        query = httpx.URL(job.lineitems_url).copy_merge_params(
            {"resource_link_id": job.resource_link_id, "tag": TAG}
        )
        answer = call(
            client,
            self.outbound_policy,
            "GET",
            str(query),
            token=token,
            accept=LINEITEMS_TYPE,
            what="line items",
        )
        if not answer.ok:
            raise PlatformServiceError(
                f"the platform's line items answered HTTP {answer.status_code}"
            )
        items = answer.json("line items")
        for item in items if isinstance(items, list) else []:
            if (
                isinstance(item, dict)
                and item.get("resourceLinkId") == job.resource_link_id
                and item.get("tag") == TAG
                and isinstance(item.get("id"), str)
            ):
                return str(item["id"])
        if SCOPE_LINEITEM not in job.scopes:
            raise PlatformServiceError(
                "the platform lets this tool read line items but not make one, and it has "
                "none for this activity: give the activity a grade item on the platform"
            )
        made = call(
            client,
            self.outbound_policy,
            "POST",
            job.lineitems_url,
            token=token,
            accept=LINEITEM_TYPE,
            what="line items",
            content_type=LINEITEM_TYPE,
            body={
                "label": job.label,
                "scoreMaximum": job.maximum,
                "resourceLinkId": job.resource_link_id,
                "tag": TAG,
            },
        )
        created = made.json("new line item") if made.ok else None
        if not isinstance(created, dict) or not isinstance(created.get("id"), str):
            raise PlatformServiceError(
                f"the platform did not make the line item (HTTP {made.status_code})"
            )
        return str(created["id"])


def scores_url(lineitem_url: str) -> str:
    """The line item's scores endpoint: /scores appended to its path (query kept)."""
    url = httpx.URL(lineitem_url)
    return str(url.copy_with(path=url.path.rstrip("/") + "/scores"))


def record_attempt(
    *,
    post: LtiGradePost,
    at: datetime,
    status_code: int | None,
    error: str | None,
    retry: RetryPolicy,
) -> GradePostStatus:
    """Delivered on 2xx; otherwise pending until the schedule's next attempt, or failed
    once the schedule (started at the first failure) is over."""
    post.attempts += 1
    post.last_attempt_at = at
    post.last_status_code = status_code
    post.last_error = error[:500] if error else None
    if error is None:
        post.status = GradePostStatus.DELIVERED
        post.delivered_at = at
        return post.status
    if post.retry_until is None:
        post.retry_until = retry.deadline(at)
    next_at = retry.next_attempt(attempts_made=post.attempts, now=at, retry_until=post.retry_until)
    if next_at is None:
        post.status = GradePostStatus.FAILED
    else:
        post.next_attempt_at = next_at
    return post.status
