"""The live hub: a frame's way from the candidate's socket to the proctor's wall, on the
server's event loop.

    on_media -> runtime.offer (newest frame waits, the one it replaces is skipped)
    _analysis_loop -> schedule.plan (which passes) -> pool.analyse (a worker process)
    _handle_outcome -> conditions.frame_conditions -> rules (and prompts) observe -> _apply
    _apply -> violations flow (row, wall, evidence, webhooks) -> candidate summary to the wall

Browser signals and audio take the same way from on_signal and on_media. The per-frame path
only touches memory; rows are written when a violation opens or closes and on state changes.
SessionRuntime is written here, and by the registry (live/registry.py) for what the sockets
and the other nodes change: connection, claims, assignment, message budgets. The sockets
only read it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from openproctor.background import end_session_row, time_is_up
from openproctor.bus.base import EventBus
from openproctor.bus.local import exam_topic, session_topic
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.sessions.models import FINAL_STATES, SessionState
from openproctor.domains.violations.flows import Seen, ViolationFlow
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.live import identity, messages
from openproctor.live.attention import AttentionFlow
from openproctor.live.load import LoadControl
from openproctor.live.prompts import PromptFlow
from openproctor.live.protocol import MediaKind, MediaMessage, Signal
from openproctor.live.registry import WATCH_RENEW_S, Registry
from openproctor.live.runtime import Frame, SessionRuntime
from openproctor.live.schedule import LOAD_CHECK_S, confirm_fps
from openproctor.live.shutdown import bounded, settle
from openproctor.metrics import Metrics
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import Analysis, FrameJob, FrameOutcome
from openproctor.rules import conditions
from openproctor.rules.engine import Condition, Outcome
from openproctor.storage import ObjectStore

log = logging.getLogger(__name__)
T = TypeVar("T")
TICK_S = 1.0
FORGET_ENDED_S = 60.0  # an ended session's runtime stays this long after its socket closed


class LiveHub:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        store: ObjectStore,
        bus: EventBus,
        pool: Analysis | None,
        min_speech: float,
        metrics: Metrics,
        webhooks: WebhookDeliverer | None = None,
        embedder: str,
        reconnect_grace_s: float,
    ) -> None:
        self.bus = bus
        self.store = store
        self.pool = pool
        self.embedder = embedder  # what the workers' identity embeddings are made by
        self.min_speech = min_speech
        # How long a page may be gone (reloading, reconnecting) before it counts as away.
        self.reconnect_grace_s = reconnect_grace_s
        self.metrics = metrics
        self.webhooks = webhooks
        self.analysis_ready = False
        self.registry = Registry(session_factory=session_factory, bus=bus)
        self.load = LoadControl(registry=self.registry, bus=bus, metrics=metrics)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="live-writer")
        self.violations = ViolationFlow(
            session_factory=session_factory,
            store=store,
            bus=bus,
            metrics=metrics,
            webhooks=webhooks,
            writer=self._writer,
            spawn=self._spawn,
        )
        self.attention = AttentionFlow(
            session_factory=session_factory,
            bus=bus,
            registry=self.registry,
            writer=self._writer,
            spawn=self._spawn,
        )
        self.prompts = PromptFlow(
            session_factory=session_factory, bus=bus, writer=self._writer, spawn=self._spawn
        )
        if pool is not None:
            metrics.watch_queue(lambda: pool.waiting)
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.bus.bind(asyncio.get_running_loop())
        if self.pool is not None:
            await self.pool.start()
            self.analysis_ready = True
        listening = asyncio.Event()
        listener = self.registry.listen(
            listening,
            on_state=self._state_heard,
            on_claimed=self._forget,
        )
        self._tasks.append(asyncio.create_task(listener))
        await listening.wait()
        self._tasks.append(asyncio.create_task(self._tick_forever()))

    async def stop(self) -> None:
        tasks = [r.task for r in self.registry.runtimes.values() if r.task] + self._tasks
        for task in tasks:
            task.cancel()
        # Violation writes in flight may finish, but nothing holds the shutdown up
        # for long: what still runs then is named in the log and cancelled.
        await settle({*tasks, *self._background})
        await bounded("the attention samples", self.attention.flush_all())
        await bounded("the event bus", self.bus.close())
        if self.pool is not None:
            await bounded("the analysis", self.pool.close())
        self._writer.shutdown(wait=True)

    def _spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # --- what requests and sockets call ----------------------------------------------------

    async def runtime_for(self, session_id: uuid.UUID) -> SessionRuntime:
        return await self.registry.load(session_id, self._prepare)

    def _prepare(self, runtime: SessionRuntime) -> None:
        runtime.counters.metric = self.metrics.frames
        runtime.load_factor = self.load.factor
        runtime.analysis_off = self.pool is None
        runtime.task = asyncio.create_task(self._analysis_loop(runtime))
        if identity.needs_new_embedding(runtime, self.embedder):
            identity.set_aside(runtime)
            self._spawn(
                identity.re_embed(
                    runtime,
                    embedder=self.embedder,
                    analysis=self.pool,
                    store=self.store,
                    session_factory=self.registry.session_factory,
                )
            )

    def session_changed(self, session_id: uuid.UUID, state: SessionState, **extra: Any) -> None:
        """A state change was committed (by a request, or this hub): every node hears it, and
        the one holding the session applies it. Safe from request threads."""
        self.registry.state_changed(session_id, state, **extra)
        if self.webhooks is not None:
            self.webhooks.session_changed(session_id, state)

    def candidate_assigned(
        self, candidate_id: uuid.UUID, before: uuid.UUID | None, after: uuid.UUID | None
    ) -> None:
        """An admin gave a candidate to another proctor (or none), committed. Safe from
        request threads."""
        self.registry.candidate_assigned(candidate_id, before, after)

    def candidate_changed(self, candidate_id: uuid.UUID) -> None:
        """A candidate with no attempt under way changed, committed: their tile is redrawn.
        Safe from request threads."""
        self.registry.candidate_changed(candidate_id)

    # --- what the candidate sends ----------------------------------------------------------

    def on_media(self, runtime: SessionRuntime, message: MediaMessage) -> None:
        if message.kind is MediaKind.FRAME:
            runtime.counters.add("received")
            if runtime.state is not SessionState.RUNNING:
                runtime.counters.add("skipped")
                return
            now = time.time()
            runtime.last_frame_at = now
            runtime.offer(Frame(message.seq, message.ts_ms, now, message.payload))
        elif runtime.state is SessionState.RUNNING:
            self._spawn(self._speech(runtime, message.payload))

    def on_signal(self, runtime: SessionRuntime, signal: Signal, value: Any) -> None:
        pulse = runtime.signals.heard(signal, value)
        if pulse is not None:
            self._apply_later(runtime, runtime.rules.pulse(time.time(), pulse))
        else:
            self._observe_signals(runtime, time.time())

    def _observe_signals(self, runtime: SessionRuntime, now: float) -> None:
        if runtime.state is not SessionState.RUNNING:
            return
        held = conditions.signal_conditions(
            runtime.signals,
            runtime.policy,
            runtime.link(),
            now=now,
            fps=runtime.fps,
            grace_s=self.reconnect_grace_s,
        )
        kinds = set(conditions.SIGNAL_KINDS)
        self._apply_later(runtime, self._observe(runtime, now, held, kinds, quiet_s=0))

    async def _speech(self, runtime: SessionRuntime, pcm: bytes) -> None:
        probability = 0.0
        if conditions.loudness(pcm) >= conditions.SPEECH_RMS_FLOOR and self.pool is not None:
            probability = await self.pool.speech(str(runtime.session_id), pcm) or 0.0
        held = conditions.speech_conditions(probability, self.min_speech)
        kinds = {ViolationKind.SPEECH}
        await self._apply(runtime, self._observe(runtime, time.time(), held, kinds))

    # --- frames ----------------------------------------------------------------------------

    async def _analysis_loop(self, runtime: SessionRuntime) -> None:
        key = str(runtime.session_id)
        while True:
            await runtime.frame_ready.wait()
            if self.pool is None:
                runtime.take()
                runtime.counters.add("skipped")
                continue
            asked = time.monotonic()
            # Frames that decide a violation, or that a proctor watches, go first.
            urgent = runtime.rules.has_pending() or self.registry.watched(runtime.session_id)
            async with self.pool.slot(key, urgent=urgent):
                frame = runtime.take()
                if frame is None:
                    continue
                job = self._job(runtime, frame, waited=time.monotonic() - asked)
                try:
                    outcome = await self.pool.analyse(job)
                except Exception:
                    log.exception("analysis failed for session %s", key)
                    runtime.counters.add("skipped")
                    continue
            try:
                await self._handle_outcome(runtime, frame, outcome)
            except Exception:
                log.exception("handling a frame of session %s failed", key)

    def _job(self, runtime: SessionRuntime, frame: Frame, *, waited: float) -> FrameJob:
        plan = runtime.schedule.plan(
            frame.received_at,
            runtime.policy,
            load_factor=runtime.load_factor,
            has_reference=runtime.reference is not None,
            waited=waited,
        )
        for stage in plan.deferred:
            self.load.deferred(stage)
        return FrameJob(
            session_id=str(runtime.session_id),
            seq=frame.seq,
            ts_ms=frame.ts_ms,
            jpeg=frame.jpeg,
            objects=plan.objects,
            identity=plan.identity,
            reference=runtime.reference if plan.identity else None,
            reference_embedder=runtime.reference_embedder,
            baseline=runtime.baseline,
            thumbnail=runtime.schedule.thumbnail_due(frame.received_at),
        )

    async def _handle_outcome(
        self, runtime: SessionRuntime, frame: Frame, outcome: FrameOutcome
    ) -> None:
        if outcome.gate is Gate.UNDECODABLE:
            runtime.counters.add("rejected")
            return
        runtime.counters.add("analysed")
        for stage, ms in outcome.timings_ms.items():
            self.metrics.inference_ms.labels(stage).observe(ms)
        held, kinds = conditions.frame_conditions(
            outcome,
            runtime.policy.prohibited_objects,
            open_kinds={kind for kind, _ in runtime.rules.open_kinds()},
        )
        runtime.schedule.ran(
            frame.received_at,
            runtime.policy,
            load_factor=runtime.load_factor,
            objects=outcome.objects_ran,
            identity=outcome.identity_ran,
            changed_a_lot=outcome.changed_a_lot,
            found=conditions.prohibited_in_view(held),
        )
        runtime.last_analysed = frame
        runtime.last_boxes = {"faces": outcome.face_boxes, "objects": outcome.objects}
        if runtime.state is not SessionState.RUNNING:
            return
        await self._apply(runtime, self._observe(runtime, frame.received_at, held, kinds))
        watched = self.registry.watched(runtime.session_id)
        wanted = confirm_fps(
            pending=runtime.rules.has_pending(), watched=watched, load_factor=self.load.factor
        )
        if wanted != runtime.requested_fps:
            runtime.requested_fps = wanted
            self.bus.publish(session_topic(runtime.session_id), messages.rate(runtime.fps))
        self.attention.on_frame(runtime, frame, outcome, watched=watched)
        topic = exam_topic(runtime.exam_id)
        if watched:
            picture = messages.picture(
                "frame", runtime.session_id, runtime.proctor_id, frame.jpeg, frame.ts_ms
            )
            self.bus.publish(topic, picture)
        if outcome.thumbnail and runtime.schedule.thumbnail_due(frame.received_at):
            runtime.schedule.last_thumbnail_at = frame.received_at
            runtime.thumbnail = outcome.thumbnail
            thumb = outcome.thumbnail
            self.bus.publish(
                topic, messages.picture("thumbnail", runtime.session_id, runtime.proctor_id, thumb)
            )
            self.registry.publish_candidate(runtime)

    # --- violations ------------------------------------------------------------------------

    def _observe(
        self,
        runtime: SessionRuntime,
        at: float,
        held: list[Condition],
        kinds: set[ViolationKind],
        **q: float,
    ) -> Outcome:
        """One observation: the candidate's prompts change now, the caller applies the rules'."""
        self.prompts.observe(runtime, at, held, kinds)
        return runtime.rules.observe(at, held, kinds, **q)

    def _apply_later(self, runtime: SessionRuntime, outcome: Outcome) -> None:
        if outcome.events or outcome.terminate:
            self._spawn(self._apply(runtime, outcome))

    async def _apply(self, runtime: SessionRuntime, outcome: Outcome) -> None:
        # One session's events are written in the order they happened: a violation's close
        # never overtakes its open.
        async with runtime.apply_lock:
            frame = runtime.last_analysed
            seen = Seen(frame, dict(runtime.last_boxes)) if frame else None
            await self.violations.apply(runtime, outcome.events, outcome.risk_score, seen)
            if outcome.terminate and runtime.state not in FINAL_STATES:
                reason = (
                    f"ended automatically: risk score {outcome.risk_score:.0f} reached "
                    f"{runtime.policy.auto_terminate_risk:.0f}"
                )
                await self.end_session(runtime, SessionState.TERMINATED, reason)
            elif outcome.events:
                self.registry.publish_candidate(runtime)

    # --- state changes ---------------------------------------------------------------------

    def _state_heard(
        self, session_id: uuid.UUID, state: SessionState, extra: dict[str, Any]
    ) -> None:
        self._spawn(self._on_state(session_id, state, extra))

    async def _on_state(
        self, session_id: uuid.UUID, state: SessionState, extra: dict[str, Any]
    ) -> None:
        """Open violations end with the session, and are written, before anyone is told."""
        runtime = self.registry.get(session_id)
        if runtime is None:
            return  # the candidate is not connected here (nor, then, told by this node)
        runtime.state = state
        runtime.hear(extra)
        if state is not SessionState.RUNNING:
            self.prompts.clear(runtime, time.time())
        if state in FINAL_STATES:
            await self._apply(runtime, runtime.rules.close_all(time.time()))
            await self.attention.flush(session_id)
        self.registry.publish_candidate(runtime)
        told = messages.state(state, extra.get("reason"), extra.get("score"), runtime.clock)
        self.bus.publish(session_topic(session_id), told)

    async def end_session(self, runtime: SessionRuntime, state: SessionState, reason: str) -> None:
        """Ends a live session from the hub itself (auto-termination, time-out)."""
        factory = self.registry.session_factory
        final = await self.violations.write(
            end_session_row, factory, runtime.session_id, state, reason
        )
        if final is not None:
            self.session_changed(runtime.session_id, final[0], reason=reason, score=final[1])

    def _forget(self, runtime: SessionRuntime) -> None:
        if runtime.task:
            runtime.task.cancel()
        if self.pool is not None:
            self.pool.release(str(runtime.session_id))
        self.violations.forget(runtime.session_id)
        self.attention.forget(runtime.session_id)
        self.registry.forget(runtime)

    # --- every second ----------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        last_load_check = last_renewal = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.time()
            try:
                if now - last_load_check >= LOAD_CHECK_S:
                    last_load_check = now
                    self.load.adapt()
                if now - last_renewal >= WATCH_RENEW_S:
                    last_renewal = now
                    self.registry.renew()
                await self._tick_sessions(now)
            except Exception:
                log.exception("live tick failed")

    async def _tick_sessions(self, now: float) -> None:
        for runtime in list(self.registry.runtimes.values()):
            if runtime.state in FINAL_STATES:
                gone_for = now - (runtime.link_since or now)
                if not runtime.connected and gone_for > FORGET_ENDED_S:
                    self._forget(runtime)
                continue
            self._observe_signals(runtime, now)
            self.attention.tick(runtime, now)
            self.registry.refresh_tile(runtime, now)
            if time_is_up(state=runtime.state, clock=runtime.clock, now=now):
                await self.end_session(runtime, SessionState.SUBMITTED, "time is up")
