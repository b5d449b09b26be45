"""Sweeps the hub's ticker starts: recordings of ended sessions assembled, retention applied,
and live sessions past their time submitted. Each sweep runs off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from openproctor import retention
from openproctor.db import transaction, utcnow
from openproctor.domains.recordings import service as recordings
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.clock import Clock
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession, SessionState
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.storage import ObjectStore, StorageError

log = logging.getLogger(__name__)

ASSEMBLY_SWEEP_S = 30.0  # how often recordings of ended sessions are looked at


class Sweeps:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        store: ObjectStore,
        webhooks: WebhookDeliverer | None,
    ) -> None:
        self.session_factory = session_factory
        self.store = store
        self.webhooks = webhooks
        # Assembling recordings is long and CPU-bound: one at a time, off the loop. Retention
        # runs on the same thread, so it never deletes a recording being assembled.
        self._assembler = ThreadPoolExecutor(1, thread_name_prefix="recordings")
        self._assembly_requested = False
        self._last_assembly = 0.0
        self._last_retention = 0.0

    def assemble_soon(self) -> None:
        """Asks for an assembly sweep at the next tick; safe from request threads."""
        self._assembly_requested = True

    async def run_due(self, now: float) -> None:
        """Runs the sweeps due at `now`; a failed one is logged and tried again later."""
        loop = asyncio.get_running_loop()
        started = []
        if now - self._last_retention >= retention.RETENTION_SWEEP_S:
            self._last_retention = now
            started.append(loop.run_in_executor(self._assembler, self._retain))
        if self._assembly_requested or now - self._last_assembly >= ASSEMBLY_SWEEP_S:
            self._assembly_requested = False
            self._last_assembly = now
            started.append(loop.run_in_executor(self._assembler, self._assemble))
        for result in await asyncio.gather(*started, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("a background sweep failed", exc_info=result)

    def close(self) -> None:
        self._assembler.shutdown(wait=True, cancel_futures=True)

    def _retain(self) -> None:
        report = retention.run_retention(
            session_factory=self.session_factory, store=self.store, now=utcnow()
        )
        if report.failed:
            log.warning("retention could not delete everything: %s", report.failed)
        if report.more:
            self._last_retention = 0.0  # more sessions are due: go on at the next tick

    def _assemble(self) -> None:
        with self.session_factory() as db:
            due = recordings.due_for_assembly(db=db, now=utcnow())
        for recording_id in due:
            try:
                with transaction(self.session_factory) as db:
                    recording = recordings.assemble_recording(
                        db=db, store=self.store, recording_id=recording_id
                    )
                    session = db.get(ExamSession, recording.session_id)
                    if not recording.ready or session is None:
                        continue
                    exam_id = session.exam_id
                    payload = {"session_id": str(session.id), "kind": recording.kind.value}
            except StorageError as error:
                # Still due: the next sweep tries again (once space is back, say).
                log.warning("recording %s not assembled: %s", recording_id, error)
                continue
            if self.webhooks is not None:
                self.webhooks.emit("recording.ready", exam_id, payload)


def time_is_up(*, state: SessionState, clock: Clock | None, now: float) -> bool:
    """A running attempt whose time, and the grace to submit, ran out (a paused one's clock
    stands still)."""
    return (
        state is SessionState.RUNNING
        and clock is not None
        and clock.is_up(datetime.fromtimestamp(now, UTC))
    )


def end_session_row(
    session_factory: sessionmaker[Session], session_id: uuid.UUID, state: SessionState, reason: str
) -> tuple[SessionState, float | None] | None:
    """Ends a session from the live layer (auto-termination, time-out); its final state and
    score, or None when it had ended already (or its time was not up after all)."""
    with transaction(session_factory) as db:
        session = db.get(ExamSession, session_id)
        if session is None or session.state in FINAL_STATES:
            return None
        if state is SessionState.SUBMITTED:
            # Only the clock submits from here: the attempt's time (and grace) ran out.
            if not sessions.expire_if_over(db=db, session=session, now=utcnow()):
                return None
        else:
            sessions.move(session, state, reason=reason)
        return session.state, session.score
