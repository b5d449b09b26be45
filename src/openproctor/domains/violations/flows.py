"""A live violation opening and closing: its row, its evidence pictures, the proctor walls and
the webhooks, in that order.

The row comes first, so that no storage trouble can lose a violation; proctors hear of it
("opened") once it exists. Its evidence image follows, best effort, off the frame path:
drawing and storing it never delays the alert, and proctors hear again ("evidence") once it is
stored, or why it could not be. Webhooks hear of an opened violation once its evidence is
settled. A close waits for the evidence, so it never overtakes it.

Rows are written on the hub's one writer thread, so that one session's writes stay in order
and never block the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.base import EventBus
from openproctor.bus.local import exam_topic
from openproctor.db import transaction
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.violations.models import EVIDENCE_ERROR_LENGTH, ReviewStatus, Violation
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.live import messages
from openproctor.live.evidence import annotate
from openproctor.live.runtime import Frame
from openproctor.metrics import Metrics
from openproctor.rules.engine import DETECTIONS, EventType, RuleEvent
from openproctor.storage import ObjectStore, StorageError, StoredBlob

log = logging.getLogger(__name__)
T = TypeVar("T")
Stored = list[tuple[uuid.UUID, ObjectPurpose, StoredBlob]]
Spawn = Callable[[Coroutine[Any, Any, "Evidence"]], "asyncio.Task[Evidence]"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What became of a violation's evidence image: the stored picture's object id, and why
    (some of) it could not be stored."""

    object_id: uuid.UUID | None = None
    error: str | None = None


class Subject(Protocol):
    """Whose violation it is, and which proctor's wall hears of it (a live session)."""

    @property
    def session_id(self) -> uuid.UUID: ...
    @property
    def candidate_id(self) -> uuid.UUID: ...
    @property
    def exam_id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def proctor_id(self) -> uuid.UUID | None: ...


@dataclass(frozen=True, slots=True)
class Seen:
    """The frame that opened a violation, with what the analysis found on it."""

    frame: Frame
    boxes: dict[str, Any]


class ViolationFlow:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        store: ObjectStore,
        bus: EventBus,
        metrics: Metrics,
        webhooks: WebhookDeliverer | None,
        writer: ThreadPoolExecutor,
        spawn: Spawn,
    ) -> None:
        self.session_factory = session_factory
        self.store = store
        self.bus = bus
        self.metrics = metrics
        self.webhooks = webhooks
        self.writer = writer
        self.spawn = spawn
        # The open violations of the live sessions on this node, and their evidence being
        # stored (a close waits for it).
        self._open: dict[tuple[uuid.UUID, ViolationKind, str | None], uuid.UUID] = {}
        self._storing: dict[uuid.UUID, asyncio.Task[Evidence]] = {}

    async def apply(
        self, subject: Subject, events: Sequence[RuleEvent], risk: float, seen: Seen | None
    ) -> None:
        """The rule engine's events for one session, in order."""
        for event in events:
            key = (subject.session_id, event.kind, event.label)
            if event.type is EventType.OPENED:
                opened = self._open[key] = await self.open(subject, event, risk, seen)
                if seen is not None:
                    self._storing[opened] = self.spawn(
                        self.attach_evidence(subject, opened, event, seen)
                    )
            elif (closing := self._open.pop(key, None)) is not None:
                await self.close(subject, closing, event, self._storing.pop(closing, None))

    def forget(self, session_id: uuid.UUID) -> None:
        """The session is no longer live here: its open violations end on the node that holds
        it now (stale ones close when a node loads the session)."""
        for key in [key for key in self._open if key[0] == session_id]:
            violation_id = self._open.pop(key)
            self._storing.pop(violation_id, None)

    async def write(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.writer, function, *args)

    async def open(
        self, subject: Subject, event: RuleEvent, risk: float, seen: Seen | None
    ) -> uuid.UUID:
        """Writes the violation (and the session's new risk score) and tells the wall; then
        call attach_evidence with `seen`, off the frame path."""
        violation_id = uuid.uuid4()
        self.metrics.violations.labels(event.kind.value).inc()
        await self.write(self._write_opened, subject.session_id, violation_id, event, risk)
        frame_ts_ms = seen.frame.ts_ms if seen else None
        self._tell(
            subject, "opened", violation_id, event, frame_ts_ms=frame_ts_ms, hook=seen is None
        )
        return violation_id

    async def attach_evidence(
        self, subject: Subject, violation_id: uuid.UUID, event: RuleEvent, seen: Seen
    ) -> Evidence:
        """Stores the frame that opened the violation and attaches it, or keeps on the
        violation why it could not; proctors get the update either way."""
        evidence_id = uuid.uuid4()
        stored, error = await asyncio.to_thread(
            self._store, subject.session_id, violation_id, evidence_id, seen
        )
        if error is not None:
            log.warning("evidence of violation %s not stored: %s", violation_id, error)
            self.metrics.evidence_failed.inc()
        if not await self.write(self._write_evidence, violation_id, stored, error):
            # The session was erased meanwhile: its pictures must not outlive it.
            try:
                await asyncio.to_thread(self.store.delete_many, [blob.key for *_, blob in stored])
            except StorageError as failed:
                log.warning("evidence of erased violation %s left: %s", violation_id, failed)
            return Evidence()
        drawn = any(object_id == evidence_id for object_id, _, _ in stored)
        evidence = Evidence(evidence_id if drawn else None, error)
        self._tell(
            subject,
            "evidence",
            violation_id,
            event,
            evidence=evidence,
            frame_ts_ms=seen.frame.ts_ms,
        )
        return evidence

    async def close(
        self,
        subject: Subject,
        violation_id: uuid.UUID,
        event: RuleEvent,
        storing: asyncio.Task[Evidence] | None,
    ) -> None:
        evidence = await storing if storing is not None else None
        await self.write(self._write_closed, violation_id, event)
        self._tell(subject, "closed", violation_id, event, evidence=evidence)

    def _tell(
        self,
        subject: Subject,
        change: messages.ViolationChange,
        violation_id: uuid.UUID,
        event: RuleEvent,
        *,
        evidence: Evidence | None = None,
        frame_ts_ms: float | None = None,
        hook: bool = True,
    ) -> None:
        evidence = evidence or Evidence()
        read = messages.LiveViolation(
            id=violation_id,
            session_id=subject.session_id,
            candidate_id=subject.candidate_id,
            candidate_name=subject.name,
            kind=event.kind,
            label=event.label,
            severity=event.severity,
            started_at=_at(event.started_at),
            ended_at=_at(event.ended_at) if event.ended_at is not None else None,
            score=event.weight,
            review_status=ReviewStatus.PENDING,
            review_note=None,
            evidence_url=f"/api/v1/evidence/{evidence.object_id}" if evidence.object_id else None,
            evidence_error=evidence.error,
            detections=event.details.get(DETECTIONS, []),
            frame_ts_ms=frame_ts_ms,
        )
        message = messages.violation(change, read, subject.proctor_id)
        if self.webhooks is not None and hook:
            name = "violation.closed" if change == "closed" else "violation.opened"
            payload = message["violation"]
            self.webhooks.emit(name, subject.exam_id, payload, key=str(violation_id))
        self.bus.publish(exam_topic(subject.exam_id), message)

    def _store(
        self, session_id: uuid.UUID, violation_id: uuid.UUID, evidence_id: uuid.UUID, seen: Seen
    ) -> tuple[Stored, str | None]:
        """The drawn and the raw frame; what was stored, and why the rest was not."""
        base = f"sessions/{session_id}/evidence/{violation_id}"
        jpeg = seen.frame.jpeg
        drawn = annotate(jpeg, seen.boxes.get("faces", ()), seen.boxes.get("objects", ()))
        stored: Stored = []
        try:
            blob = self.store.put(f"{base}.jpg", drawn, "image/jpeg")
            stored.append((evidence_id, ObjectPurpose.EVIDENCE, blob))
            blob = self.store.put(f"{base}-raw.jpg", jpeg, "image/jpeg")
            stored.append((uuid.uuid4(), ObjectPurpose.EVIDENCE_RAW, blob))
        except StorageError as error:
            return stored, str(error)[:EVIDENCE_ERROR_LENGTH]
        return stored, None

    def _write_opened(
        self, session_id: uuid.UUID, violation_id: uuid.UUID, event: RuleEvent, risk: float
    ) -> None:
        with transaction(self.session_factory) as db:
            db.add(
                Violation(
                    id=violation_id,
                    session_id=session_id,
                    kind=event.kind,
                    label=event.label,
                    severity=event.severity,
                    started_at=_at(event.started_at),
                    score=event.weight,
                    details=_jsonable(event.details),
                )
            )
            session = db.get(ExamSession, session_id)
            if session is not None:
                session.risk_score = risk

    def _write_evidence(self, violation_id: uuid.UUID, stored: Stored, error: str | None) -> bool:
        """Attaches the stored pictures, or the reason there are none; False when the
        violation is gone."""
        with transaction(self.session_factory) as db:
            violation = db.get(Violation, violation_id)
            if violation is None:
                return False
            violation.evidence_error = error
            for object_id, purpose, blob in stored:
                db.add(
                    StoredObject.of(
                        blob,
                        purpose,
                        id=object_id,
                        session_id=violation.session_id,
                        violation_id=violation_id,
                    )
                )
            return True

    def _write_closed(self, violation_id: uuid.UUID, event: RuleEvent) -> None:
        with transaction(self.session_factory) as db:
            violation = db.get(Violation, violation_id)
            if violation is not None and event.ended_at is not None:
                violation.ended_at = _at(event.ended_at)
                # With every detection that saw it while it was open (rules/engine.py).
                violation.details = _jsonable(event.details)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {key: (float(v) if isinstance(v, np.floating) else v) for key, v in details.items()}
