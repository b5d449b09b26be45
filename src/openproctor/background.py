"""The cluster's background sweeps: recordings of ended sessions assembled and retention
applied, run by one node at a time, the holder of the background lease (domains/leases).
Each sweep runs off the event loop. Also what the hub's ticker uses to submit live sessions
past their time (each node for the sessions it holds).

E-mails and webhook deliveries are not sweeps: every node's mailer and deliverer claims its
rows with one conditional UPDATE, so they share the work rather than wait for a leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from prometheus_client import Counter
from sqlalchemy.orm import Session, sessionmaker

from openproctor import retention
from openproctor.db import transaction, utcnow
from openproctor.domains.leases.leader import Leadership
from openproctor.domains.lti import control as lti_control
from openproctor.domains.lti.proctoring_models import ControlAction
from openproctor.domains.recordings import service as recordings
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.clock import Clock
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession, SessionState
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.storage import ObjectStore, StorageError

log = logging.getLogger(__name__)

ASSEMBLY_SWEEP_S = 30.0  # how often recordings of ended sessions are looked at
SWEEP_TICK_S = 1.0  # how often the loop looks at what is due (and at the lease)


class Sweeps:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        store: ObjectStore,
        webhooks: WebhookDeliverer | None,
        leadership: Leadership,
        runs: Counter,
    ) -> None:
        self.session_factory = session_factory
        self.store = store
        self.webhooks = webhooks
        self.leadership = leadership
        self.runs = runs
        # Assembling recordings is long and CPU-bound: one at a time, off the loop. Retention
        # runs on the same thread, so it never deletes a recording being assembled.
        self._assembler = ThreadPoolExecutor(1, thread_name_prefix="recordings")
        self._assembly_requested = False
        self._last_assembly = float("-inf")  # monotonic
        self._last_retention = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def assemble_soon(self) -> None:
        """Asks for an assembly sweep at the next tick; safe from request threads. On a node
        that does not lead, the leader's next periodic sweep assembles it."""
        self._assembly_requested = True

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run_forever())

    async def stop(self) -> None:
        """Stops after the tick and the sweep under way, then gives the lease up. The tick is
        not cancelled: a lease renewal on its thread would go on with a database connection
        after the engine is disposed."""
        if self._task is not None:
            self._stopping.set()
            await self._task
        await asyncio.to_thread(self._assembler.shutdown, wait=True, cancel_futures=True)
        await asyncio.to_thread(self.leadership.release)

    async def _run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                if self.leadership.try_due():
                    # Not on the assembler's thread: a long assembly must not delay renewal.
                    await loop.run_in_executor(None, self.leadership.try_to_lead)
                if self.leadership.leading:
                    self.start_due(time.monotonic())
            except Exception:
                log.exception("background sweeps: tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), SWEEP_TICK_S)
            if self._stopping.is_set():
                return

    def start_due(self, now: float) -> None:
        """Queues the sweeps due at `now` (monotonic); a failed one is logged and tried again
        at its next period."""
        if now - self._last_retention >= retention.RETENTION_SWEEP_S:
            self._last_retention = now
            _log_failure(self._assembler.submit(self._retain))
        if self._assembly_requested or now - self._last_assembly >= ASSEMBLY_SWEEP_S:
            self._assembly_requested = False
            self._last_assembly = now
            _log_failure(self._assembler.submit(self._assemble))

    def _retain(self) -> None:
        if not self.leadership.leading:
            return  # the lease went while this waited: the new leader sweeps
        self.runs.labels("retention").inc()
        report = retention.run_retention(
            session_factory=self.session_factory, store=self.store, now=utcnow()
        )
        if report.failed:
            log.warning("retention could not delete everything: %s", report.failed)
        if report.more:
            self._last_retention = float("-inf")  # more are due: go on at the next tick

    def _assemble(self) -> None:
        if not self.leadership.leading:
            return
        self.runs.labels("assembly").inc()
        with self.session_factory() as db:
            due = recordings.due_for_assembly(db=db, now=utcnow())
        for recording_id in due:
            if not self.leadership.leading:
                return  # lost the lease midway: the new leader assembles the rest
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


def _log_failure(future: Future[None]) -> None:
    def check(done: Future[None]) -> None:
        if not done.cancelled() and (error := done.exception()) is not None:
            log.error("a background sweep failed", exc_info=error)

    future.add_done_callback(check)


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
            if state is SessionState.TERMINATED:  # a platform's assessment stops with it
                lti_control.request(
                    db=db,
                    session=session,
                    action=ControlAction.TERMINATE,
                    reason_code="auto_terminated",
                    reason_msg=reason,
                )
        return session.state, session.score
