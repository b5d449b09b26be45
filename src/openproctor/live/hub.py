"""The live hub: every live session's runtime, the analysis loop, the rule engine's events,
and what reaches proctors and candidates.

It runs on the server's event loop. The per-frame path only touches memory; the database is
written when a violation opens or closes, when the risk score changes, and on state changes,
always from one writer thread so that writes stay in order and never block the loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openproctor import retention
from openproctor.bus.base import EventBus
from openproctor.bus.local import exam_topic, session_topic
from openproctor.db import transaction, utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import ExamPolicy, ViolationKind
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.recordings import service as recordings
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession, SessionState
from openproctor.domains.violations.models import EVIDENCE_ERROR_LENGTH, Violation
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.live.evidence import annotate
from openproctor.live.protocol import MediaKind, MediaMessage, Signal
from openproctor.live.runtime import Evidence, Frame, SessionRuntime
from openproctor.metrics import Metrics
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import Analysis, FrameJob, FrameOutcome
from openproctor.rules.engine import Condition, EventType, Outcome, RuleEvent, SessionRules
from openproctor.storage import ObjectStore, StorageError, StoredBlob

log = logging.getLogger(__name__)
K = ViolationKind
T = TypeVar("T")

FACE_KINDS = frozenset(
    {K.NO_FACE, K.MULTIPLE_FACES, K.LOOKING_AWAY, K.EYES_CLOSED, K.CAMERA_COVERED, K.FROZEN_VIDEO}
)
FLAG_KINDS = {
    "no_face": K.NO_FACE,
    "multiple_faces": K.MULTIPLE_FACES,
    "looking_away": K.LOOKING_AWAY,
    "eyes_closed": K.EYES_CLOSED,
    "identity_mismatch": K.IDENTITY_MISMATCH,
}
# Kinds whose conditions come from browser signals and the connection, not from frames.
SIGNAL_KINDS = frozenset(
    {
        K.TAB_SWITCH,
        K.FULLSCREEN_EXIT,
        K.MULTIPLE_SCREENS,
        K.CAMERA_OFF,
        K.CONNECTION_LOST,
        K.SCREEN_SHARE_STOPPED,
    }
)
PULSES = {Signal.COPY: "copy", Signal.CUT: "cut", Signal.PASTE: "paste"}
TICK_S = 1.0
THUMBNAIL_EVERY_S = 2.0
# Without a frame for this long (and at least three frame intervals) the camera counts as off.
CAMERA_STALL_S = 5.0
SPEECH_RMS_FLOOR = 0.01  # below this an audio chunk is silence; VAD is not asked
CONFIRM_FPS = 2.0  # frames asked for while a condition waits for its debounce
# Load shedding: every LOAD_CHECK_S, the share of frames skipped since the last check.
LOAD_CHECK_S = 5.0
LOAD_MIN_FRAMES = 20
LOAD_SKIP_HIGH = 0.10
LOAD_SKIP_LOW = 0.02
LOAD_FACTOR_MIN = 0.2
ASSEMBLY_SWEEP_S = 30.0
# Hub-to-hub messages: state changes made anywhere, and which node holds a live session.
HUB_TOPIC = "hub"
HUB_FIELDS = frozenset(
    {"event", "session_id", "state", "node"}
)  # how often recordings of ended sessions are looked at
EARLY_OBJECTS_S = 2.0  # a changed scene gets its object pass no sooner than this after the last
# A frame that waited this long for a worker gets only the face pass: a due object or identity
# pass moves to a later frame, by at most DEFER_LIMIT of its interval (more while the load
# factor is below 1), so bursts of costly passes never make frames skipped while the face pass
# alone keeps up.
DEFER_AFTER_S = 0.25
DEFER_LIMIT = 1.0
DEFER_SHOWN_SHARE = 0.05  # the wall says so once this share of frames puts a pass off


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def roster_row(
    candidate: Candidate, session: ExamSession | None, policy: ExamPolicy
) -> dict[str, Any]:
    """A candidate as the proctor wall shows one not connected to this node (the CANDIDATE
    of live/protocol.py); a live session's summary() replaces it."""
    auto_terminate = session.auto_terminate if session is not None else None
    return {
        "candidate_id": str(candidate.id),
        "session_id": str(session.id) if session else None,
        "name": candidate.name,
        "email": candidate.email,
        "state": session.state.value if session else SessionState.INVITED.value,
        "risk_score": session.risk_score if session else 0.0,
        "open_violations": [],
        "connected": False,
        "frames": {"received": 0, "analysed": 0, "skipped": 0, "rejected": 0},
        "auto_terminate": policy.auto_terminate if auto_terminate is None else auto_terminate,
    }


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
    ) -> None:
        self.session_factory = session_factory
        self.store = store
        self.bus = bus
        self.pool = pool
        self.min_speech = min_speech
        self.metrics = metrics
        self.webhooks = webhooks
        self.analysis_ready = False
        self.load_factor = 1.0
        self.deferring = False  # object and identity passes are being put off
        self._deferred = 0
        # Frames received and skipped, and passes deferred, at the last adjustment.
        self._load_window = (0, 0, 0)
        self._last_load_check = 0.0
        if pool is not None:
            metrics.watch_queue(lambda: pool.waiting)
        self.runtimes: dict[uuid.UUID, SessionRuntime] = {}
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="live-writer")
        # Assembling recordings is long and CPU-bound: one at a time, off the loop.
        self._assembler = ThreadPoolExecutor(1, thread_name_prefix="recordings")
        self._assembly_requested = False
        self._last_assembly_sweep = 0.0
        self._last_retention = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        # Identifies this web node on the bus (several run behind a load balancer with Redis).
        self.node_id = uuid.uuid4().hex
        self._loading: dict[uuid.UUID, asyncio.Future[SessionRuntime]] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.bus.bind(self._loop)
        if self.pool is not None:
            await self.pool.start()
            self.analysis_ready = True
        listening = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(listening))
        await listening.wait()
        self._ticker = asyncio.create_task(self._tick_forever())

    async def stop(self) -> None:
        tasks = [runtime.task for runtime in self.runtimes.values() if runtime.task]
        tasks += [task for task in (self._ticker, self._listener) if task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._background, return_exceptions=True)
        await self.bus.close()
        if self.pool is not None:
            await self.pool.close()
        self._writer.shutdown(wait=True)
        self._assembler.shutdown(wait=True, cancel_futures=True)

    def _spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _write(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, function, *args)

    # --- runtimes --------------------------------------------------------------------------

    async def runtime_for(self, session_id: uuid.UUID) -> SessionRuntime:
        runtime = self.runtimes.get(session_id)
        if runtime is not None:
            return runtime
        pending = self._loading.get(session_id)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._loading[session_id] = pending
            try:
                runtime = await asyncio.to_thread(self._load, session_id)
                self.runtimes[session_id] = runtime
                runtime.task = asyncio.create_task(self._analysis_loop(runtime))
                pending.set_result(runtime)
            except BaseException as error:
                pending.set_exception(error)
                raise
            finally:
                del self._loading[session_id]
        return await asyncio.shield(pending)

    def _load(self, session_id: uuid.UUID) -> SessionRuntime:
        with self.session_factory() as db:
            session = db.get(ExamSession, session_id)
            if session is None:
                raise LookupError(f"no session {session_id}")
            candidate = db.get(Candidate, session.candidate_id)
            exam = db.get(Exam, session.exam_id)
            assert candidate is not None
            assert exam is not None
            policy = exam.parsed_policy
            enrollment = session.enrollment or {}
            ends_at = sessions.ends_at(session=session, exam=exam)
            runtime = SessionRuntime(
                session_id=session.id,
                candidate_id=candidate.id,
                exam_id=exam.id,
                proctor_id=candidate.proctor_id,
                name=candidate.name,
                email=candidate.email,
                policy=policy,
                state=session.state,
                rules=SessionRules(policy, auto_terminate=session.auto_terminate),
                reference=tuple(enrollment["embedding"]) if "embedding" in enrollment else None,
                baseline=tuple(enrollment["baseline"]) if "baseline" in enrollment else None,
            )
            # Violations left open by a node that stopped (or the candidate's earlier socket
            # elsewhere) end now: this runtime's rules start from a clean slate.
            for stale in db.scalars(
                select(Violation).where(
                    Violation.session_id == session.id, Violation.ended_at.is_(None)
                )
            ):
                stale.ended_at = utcnow()
            db.commit()
            runtime.rules.risk_score = session.risk_score
            # Sessions that start together must not all want their costly passes on the same
            # frames: each starts at its own point of the interval. The face was just checked
            # at enrolment, so the first identity check comes no sooner than half an interval.
            now = time.time()
            runtime.next_identity_at = now + random.uniform(0.5, 1) * policy.identity_interval_s
            runtime.next_objects_at = now + random.uniform(0, policy.object_interval_s)
            runtime.counters.metric = self.metrics.frames
            runtime.load_factor = self.load_factor
            runtime.ends_at = ends_at.timestamp() if ends_at else None
            return runtime

    # --- candidate socket ------------------------------------------------------------------

    def connect(self, runtime: SessionRuntime) -> int:
        """A candidate socket opened; an older one of the same session, here or on another
        node, is told to close, and other nodes drop their copy of the session."""
        self._replace_socket(runtime)
        runtime.socket_id += 1
        runtime.connected = True
        runtime.disconnected_at = None
        runtime.last_seq.clear()
        self.bus.publish(
            HUB_TOPIC,
            {"event": "claim", "session_id": str(runtime.session_id), "node": self.node_id},
        )
        self._publish_candidate(runtime)
        return runtime.socket_id

    def _replace_socket(self, runtime: SessionRuntime) -> None:
        if runtime.connected:
            self.bus.publish(
                session_topic(runtime.session_id),
                {"type": "_replaced", "socket": runtime.socket_id, "node": self.node_id},
            )

    def disconnect(self, runtime: SessionRuntime, socket_id: int) -> None:
        if runtime.socket_id != socket_id:
            return  # a newer socket took over
        runtime.connected = False
        runtime.disconnected_at = time.time()
        self._publish_candidate(runtime)

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
        runtime.signals[signal.value] = value if value is not None else True
        now = time.time()
        if signal in PULSES:
            self._apply_later(
                runtime, runtime.rules.pulse(now, Condition(K.COPY_PASTE, PULSES[signal]))
            )
            return
        flags = runtime.signals
        if signal in (Signal.TAB_VISIBLE, Signal.TAB_HIDDEN):
            flags["tab_hidden"] = signal is Signal.TAB_HIDDEN
        if signal in (Signal.WINDOW_BLUR, Signal.WINDOW_FOCUS):
            flags["window_blur"] = signal is Signal.WINDOW_BLUR
        if signal in (Signal.FULLSCREEN_EXIT, Signal.FULLSCREEN_ENTER):
            flags["fullscreen_exit"] = signal is Signal.FULLSCREEN_EXIT
        if signal in (Signal.CAMERA_ENDED, Signal.CAMERA_RESTORED):
            flags["camera_ended"] = signal is Signal.CAMERA_ENDED
        if signal in (Signal.SCREEN_SHARE_STOPPED, Signal.SCREEN_SHARE_STARTED):
            flags["screen_share_stopped"] = signal is Signal.SCREEN_SHARE_STOPPED
        self._observe_signals(runtime, now)

    def _signal_conditions(self, runtime: SessionRuntime, now: float) -> list[Condition]:
        flags = runtime.signals
        conditions = []
        if flags.get("tab_hidden"):
            conditions.append(Condition(K.TAB_SWITCH, "tab"))
        if flags.get("window_blur"):
            conditions.append(Condition(K.TAB_SWITCH, "window"))
        if flags.get("fullscreen_exit") and runtime.policy.require_fullscreen:
            conditions.append(Condition(K.FULLSCREEN_EXIT))
        screens = flags.get(Signal.SCREENS.value)
        if isinstance(screens, int) and screens > 1:
            conditions.append(Condition(K.MULTIPLE_SCREENS, details={"screens": screens}))
        stall = max(CAMERA_STALL_S, 3 / runtime.fps)
        stalled = runtime.connected and now - (runtime.last_frame_at or now) > stall
        if flags.get("camera_ended") or stalled:
            conditions.append(Condition(K.CAMERA_OFF, "camera"))
        if flags.get(Signal.MICROPHONE_ENDED.value):
            conditions.append(Condition(K.CAMERA_OFF, "microphone"))
        if flags.get("screen_share_stopped") and runtime.policy.record_screen:
            conditions.append(Condition(K.SCREEN_SHARE_STOPPED))
        if not runtime.connected:
            conditions.append(Condition(K.CONNECTION_LOST))
        return conditions

    def _observe_signals(self, runtime: SessionRuntime, now: float) -> None:
        if runtime.state is not SessionState.RUNNING:
            return
        outcome = runtime.rules.observe(
            now, self._signal_conditions(runtime, now), set(SIGNAL_KINDS), quiet_s=0
        )
        self._apply_later(runtime, outcome)

    async def _speech(self, runtime: SessionRuntime, pcm: bytes) -> None:
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768.0
        rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
        probability = 0.0
        if rms >= SPEECH_RMS_FLOOR and self.pool is not None:
            probability = await self.pool.speech(str(runtime.session_id), pcm) or 0.0
        conditions = [Condition(K.SPEECH)] if probability >= self.min_speech else []
        await self._apply(runtime, runtime.rules.observe(time.time(), conditions, {K.SPEECH}))

    # --- analysis --------------------------------------------------------------------------

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
            urgent = runtime.rules.has_pending() or runtime.watched_by > 0
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

    def _job(self, runtime: SessionRuntime, frame: Frame, *, waited: float = 0.0) -> FrameJob:
        policy = runtime.policy
        now = frame.received_at
        early = EARLY_OBJECTS_S / runtime.load_factor
        objects = now >= runtime.next_objects_at or (
            runtime.scene_changed and now - runtime.last_objects_at >= early
        )
        identity = runtime.reference is not None and now >= runtime.next_identity_at
        if waited > DEFER_AFTER_S:
            # While frames are also being skipped, the limit stretches as the intervals do.
            limit = DEFER_LIMIT / runtime.load_factor
            if objects and now < runtime.next_objects_at + policy.object_interval_s * limit:
                objects = self._defer("objects")
            if identity and now < runtime.next_identity_at + policy.identity_interval_s * limit:
                identity = self._defer("identity")
        return FrameJob(
            session_id=str(runtime.session_id),
            seq=frame.seq,
            ts_ms=frame.ts_ms,
            jpeg=frame.jpeg,
            objects=objects,
            identity=identity,
            reference=runtime.reference if identity else None,
            baseline=runtime.baseline,
            thumbnail=now - runtime.last_thumbnail_at >= THUMBNAIL_EVERY_S,
        )

    def _defer(self, stage: str) -> bool:
        """Counts a due pass put off to a later frame; False, the pass does not run now."""
        self._deferred += 1
        self.metrics.deferred.labels(stage).inc()
        return False

    def _frame_conditions(
        self, runtime: SessionRuntime, outcome: FrameOutcome
    ) -> tuple[list[Condition], set[ViolationKind]]:
        if outcome.gate is Gate.COVERED:
            return [Condition(K.CAMERA_COVERED)], {K.CAMERA_COVERED, K.FROZEN_VIDEO}
        evaluated = set(FACE_KINDS)
        conditions = [Condition(K.FROZEN_VIDEO)] if outcome.frozen else []
        for flag in outcome.flags:
            kind = FLAG_KINDS.get(flag)
            if kind is None:
                continue
            details: dict[str, Any] = {"faces": outcome.faces}
            if kind is K.IDENTITY_MISMATCH:
                details["distance"] = outcome.identity_distance
            conditions.append(Condition(kind, details=details))
        if outcome.identity_ran:
            evaluated.add(K.IDENTITY_MISMATCH)
        if outcome.objects_ran:
            evaluated |= {K.PROHIBITED_OBJECT, K.EXTRA_PERSON}
            prohibited = set(runtime.policy.prohibited_objects)
            best: dict[str, float] = {}
            for found in outcome.objects:
                if found.label in prohibited:
                    best[found.label] = max(best.get(found.label, 0.0), found.score)
            conditions += [
                Condition(K.PROHIBITED_OBJECT, label, {"score": round(score, 3)})
                for label, score in best.items()
            ]
            persons = sum(1 for found in outcome.objects if found.label == "person")
            if persons >= 2:
                conditions.append(Condition(K.EXTRA_PERSON, details={"persons": persons}))
        return conditions, evaluated

    async def _handle_outcome(
        self, runtime: SessionRuntime, frame: Frame, outcome: FrameOutcome
    ) -> None:
        if outcome.gate is Gate.UNDECODABLE:
            runtime.counters.add("rejected")
            return
        runtime.counters.add("analysed")
        for stage, ms in outcome.timings_ms.items():
            self.metrics.inference_ms.labels(stage).observe(ms)
        # Under load the costly passes space out like the frames do (load_factor < 1). Each
        # session's next pass is fixed when its last one ran, so a change of the load factor
        # never makes many sessions due at once.
        stretch = 1 / runtime.load_factor
        if outcome.objects_ran:
            runtime.last_objects_at = frame.received_at
            runtime.next_objects_at = frame.received_at + runtime.policy.object_interval_s * stretch
            runtime.scene_changed = False
        if outcome.identity_ran:
            runtime.next_identity_at = (
                frame.received_at + runtime.policy.identity_interval_s * stretch
            )
        # A big change (someone walked in, something was picked up) asks for an early object
        # pass; EARLY_OBJECTS_S limits how early, so constant motion cannot run it every frame.
        runtime.scene_changed = runtime.scene_changed or outcome.changed_a_lot
        runtime.last_analysed = frame
        runtime.last_boxes = {"faces": outcome.face_boxes, "objects": outcome.objects}
        if runtime.state is not SessionState.RUNNING:
            return
        conditions, evaluated = self._frame_conditions(runtime, outcome)
        result = runtime.rules.observe(frame.received_at, conditions, evaluated)
        await self._apply(runtime, result)
        self._adjust_rate(runtime)
        self._publish_frame(runtime, frame, outcome)

    def _adjust_rate(self, runtime: SessionRuntime) -> None:
        """Asks for frames faster while a condition waits for its debounce, or a proctor
        watches closely; back to the policy's rate otherwise."""
        # Not while shedding load: asking for more frames then would only add to it.
        busy = self.load_factor < 1.0
        wanted = (
            0.0
            if busy
            else CONFIRM_FPS
            if runtime.rules.has_pending() or runtime.watched_by
            else 0.0
        )
        if wanted != runtime.requested_fps:
            runtime.requested_fps = wanted
            self.bus.publish(
                session_topic(runtime.session_id), {"type": "rate", "fps": runtime.fps}
            )

    def _publish_frame(self, runtime: SessionRuntime, frame: Frame, outcome: FrameOutcome) -> None:
        topic = exam_topic(runtime.exam_id)
        if runtime.watched_by:
            self.bus.publish(
                topic,
                {
                    "type": "frame",
                    "session_id": str(runtime.session_id),
                    "proctor_id": _str(runtime.proctor_id),
                    "jpeg": frame.jpeg,
                },
            )
        if outcome.thumbnail and frame.received_at - runtime.last_thumbnail_at >= THUMBNAIL_EVERY_S:
            runtime.last_thumbnail_at = frame.received_at
            runtime.thumbnail = outcome.thumbnail
            self.bus.publish(
                topic,
                {
                    "type": "thumbnail",
                    "session_id": str(runtime.session_id),
                    "proctor_id": _str(runtime.proctor_id),
                    "jpeg": outcome.thumbnail,
                },
            )
            self._publish_candidate(runtime)

    # --- violations ------------------------------------------------------------------------

    def _apply_later(self, runtime: SessionRuntime, outcome: Outcome) -> None:
        if outcome.events or outcome.terminate:
            self._spawn(self._apply(runtime, outcome))

    async def _apply(self, runtime: SessionRuntime, outcome: Outcome) -> None:
        # One session's events are written in the order they happened: a violation's close
        # never overtakes its open.
        async with runtime.apply_lock:
            await self._apply_in_order(runtime, outcome)

    async def _apply_in_order(self, runtime: SessionRuntime, outcome: Outcome) -> None:
        changed = False
        for event in outcome.events:
            if event.type is EventType.OPENED:
                await self._opened(runtime, event, outcome.risk_score)
            else:
                await self._closed(runtime, event)
            changed = True
        if outcome.terminate and runtime.state not in FINAL_STATES:
            reason = (
                f"ended automatically: risk score {outcome.risk_score:.0f} reached "
                f"{runtime.policy.auto_terminate_risk:.0f}"
            )
            await self.end_session(runtime, SessionState.TERMINATED, reason)
        elif changed:
            self._publish_candidate(runtime)

    async def _opened(self, runtime: SessionRuntime, event: RuleEvent, risk: float) -> None:
        violation_id = uuid.uuid4()
        frame = runtime.last_analysed
        runtime.open_violations[(event.kind, event.label)] = violation_id
        self.metrics.violations.labels(event.kind.value).inc()
        # The row first, so that no storage trouble can lose a violation; proctors hear of it
        # once it exists. Its evidence image follows, best effort, off this path: drawing and
        # storing it never delays the alert.
        await self._write(self._persist_opened, runtime.session_id, violation_id, event, risk)
        self._publish_violation(
            runtime,
            "opened",
            violation_id,
            event,
            frame_ts_ms=frame.ts_ms if frame else None,
            webhook=frame is None,
        )
        if frame is not None:
            runtime.evidence[violation_id] = self._spawn(
                self._attach_evidence(runtime, violation_id, event, frame, dict(runtime.last_boxes))
            )

    async def _attach_evidence(
        self,
        runtime: SessionRuntime,
        violation_id: uuid.UUID,
        event: RuleEvent,
        frame: Frame,
        boxes: dict[str, Any],
    ) -> Evidence:
        """Stores the frame that opened the violation and attaches it, or keeps on the
        violation why it could not; proctors get the update either way."""
        evidence_id = uuid.uuid4()
        stored, error = await asyncio.to_thread(
            self._store_evidence, runtime.session_id, violation_id, evidence_id, frame.jpeg, boxes
        )
        if error is not None:
            log.warning("evidence of violation %s not stored: %s", violation_id, error)
            self.metrics.evidence_failed.inc()
        if not await self._write(self._persist_evidence, violation_id, stored, error):
            # The session was erased meanwhile: its pictures must not outlive it.
            keys = [blob.key for _, _, blob in stored]
            try:
                await asyncio.to_thread(self.store.delete_many, keys)
            except StorageError as failed:
                log.warning("evidence of erased violation %s left: %s", violation_id, failed)
            return Evidence()
        drawn = any(object_id == evidence_id for object_id, _, _ in stored)
        evidence = Evidence(evidence_id if drawn else None, error)
        self._publish_violation(
            runtime, "evidence", violation_id, event, evidence=evidence, frame_ts_ms=frame.ts_ms
        )
        return evidence

    async def _closed(self, runtime: SessionRuntime, event: RuleEvent) -> None:
        violation_id = runtime.open_violations.pop((event.kind, event.label), None)
        if violation_id is None:
            return
        storing = runtime.evidence.pop(violation_id, None)
        evidence = await storing if storing is not None else None
        await self._write(self._persist_closed, violation_id, event)
        self._publish_violation(runtime, "closed", violation_id, event, evidence=evidence)

    def _store_evidence(
        self,
        session_id: uuid.UUID,
        violation_id: uuid.UUID,
        evidence_id: uuid.UUID,
        jpeg: bytes,
        boxes: dict[str, Any],
    ) -> tuple[list[tuple[uuid.UUID, ObjectPurpose, StoredBlob]], str | None]:
        """The drawn and the raw frame; what was stored, and why the rest was not."""
        base = f"sessions/{session_id}/evidence/{violation_id}"
        drawn = annotate(jpeg, boxes.get("faces", ()), boxes.get("objects", ()))
        stored: list[tuple[uuid.UUID, ObjectPurpose, StoredBlob]] = []
        try:
            blob = self.store.put(f"{base}.jpg", drawn, "image/jpeg")
            stored.append((evidence_id, ObjectPurpose.EVIDENCE, blob))
            blob = self.store.put(f"{base}-raw.jpg", jpeg, "image/jpeg")
            stored.append((uuid.uuid4(), ObjectPurpose.EVIDENCE_RAW, blob))
        except StorageError as error:
            return stored, str(error)[:EVIDENCE_ERROR_LENGTH]
        return stored, None

    def _persist_opened(
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

    def _persist_evidence(
        self,
        violation_id: uuid.UUID,
        stored: list[tuple[uuid.UUID, ObjectPurpose, StoredBlob]],
        error: str | None,
    ) -> bool:
        """Attaches the stored pictures, or the reason there are none; False when the
        violation is gone."""
        with transaction(self.session_factory) as db:
            violation = db.get(Violation, violation_id)
            if violation is None:
                return False
            violation.evidence_error = error
            for object_id, purpose, blob in stored:
                db.add(
                    StoredObject(
                        id=object_id,
                        purpose=purpose,
                        storage_key=blob.key,
                        content_type=blob.content_type,
                        size_bytes=blob.size_bytes,
                        sha256=blob.sha256,
                        session_id=violation.session_id,
                        violation_id=violation_id,
                    )
                )
            return True

    def _persist_closed(self, violation_id: uuid.UUID, event: RuleEvent) -> None:
        with transaction(self.session_factory) as db:
            violation = db.get(Violation, violation_id)
            if violation is not None and event.ended_at is not None:
                violation.ended_at = _at(event.ended_at)

    def _publish_violation(
        self,
        runtime: SessionRuntime,
        change: str,
        violation_id: uuid.UUID,
        event: RuleEvent,
        *,
        evidence: Evidence | None = None,
        frame_ts_ms: float | None = None,
        webhook: bool = True,
    ) -> None:
        """Tells proctors (and webhooks) of a violation that "opened", got its "evidence"
        stored (or not), or "closed". Webhooks hear of an opened violation once its evidence
        is settled ("evidence" goes out to them as violation.opened)."""
        evidence = evidence or Evidence()
        violation = {
            "id": str(violation_id),
            "session_id": str(runtime.session_id),
            "candidate_id": str(runtime.candidate_id),
            "candidate_name": runtime.name,
            "kind": event.kind.value,
            "label": event.label,
            "severity": event.severity.value,
            "started_at": _at(event.started_at).isoformat(),
            "ended_at": _at(event.ended_at).isoformat() if event.ended_at is not None else None,
            "score": event.weight,
            "review_status": "pending",
            "review_note": None,
            "evidence_url": (
                f"/api/v1/evidence/{evidence.object_id}" if evidence.object_id else None
            ),
            "evidence_error": evidence.error,
            # The browser's capture time of the frame that opened it: frame -> alert latency.
            "frame_ts_ms": frame_ts_ms,
        }
        if self.webhooks is not None and webhook:
            hook = "violation.closed" if change == "closed" else "violation.opened"
            self.webhooks.emit(hook, runtime.exam_id, violation, key=str(violation_id))
        self.bus.publish(
            exam_topic(runtime.exam_id),
            {
                "type": "violation",
                "event": change,
                "violation": violation,
                "proctor_id": _str(runtime.proctor_id),
            },
        )

    def _publish_candidate(self, runtime: SessionRuntime) -> None:
        self.bus.publish(
            exam_topic(runtime.exam_id),
            {
                "type": "candidate",
                "candidate": runtime.summary(),
                "proctor_id": _str(runtime.proctor_id),
            },
        )

    # --- state changes ---------------------------------------------------------------------

    def session_changed(self, session_id: uuid.UUID, state: SessionState, **extra: Any) -> None:
        """A state change was committed (by a request, or this hub): every node hears it, and
        the one holding the session applies it. Safe from request threads."""
        self.bus.publish(
            HUB_TOPIC,
            {"event": "state", "session_id": str(session_id), "state": state.value, **extra},
        )
        if self.webhooks is not None:
            self.webhooks.session_changed(session_id, state)

    def candidate_assigned(
        self, candidate_id: uuid.UUID, before: uuid.UUID | None, after: uuid.UUID | None
    ) -> None:
        """An admin gave a candidate to another proctor (or none), committed: the tile leaves
        the old proctor's wall and joins the new one's at once, and the node holding the live
        session sends its events to the new proctor from now on. Safe from request threads."""
        with self.session_factory() as db:
            candidate = db.get(Candidate, candidate_id)
            if candidate is None:
                return
            exam = db.get(Exam, candidate.exam_id)
            assert exam is not None
            session = sessions.latest_for_candidate(db=db, candidate_id=candidate_id)
            row = roster_row(candidate, session, exam.parsed_policy)
        topic = exam_topic(candidate.exam_id)
        if before is not None and before != after:
            self.bus.publish(
                topic,
                {
                    "type": "unassigned",
                    "candidate_id": str(candidate_id),
                    "proctor_id": str(before),
                },
            )
        # The wall adds the tile unless it has it; the node holding the session follows with
        # its live summary.
        self.bus.publish(topic, {"type": "assigned", "candidate": row, "proctor_id": _str(after)})
        self.bus.publish(
            HUB_TOPIC,
            {"event": "assigned", "candidate_id": str(candidate_id), "proctor_id": _str(after)},
        )

    def _on_assigned(self, candidate_id: uuid.UUID, proctor_id: uuid.UUID | None) -> None:
        for runtime in list(self.runtimes.values()):
            if runtime.candidate_id == candidate_id:
                runtime.proctor_id = proctor_id
                self._publish_candidate(runtime)

    async def _listen(self, listening: asyncio.Event) -> None:
        async with self.bus.subscribe(HUB_TOPIC) as subscription:
            listening.set()
            while True:
                message = await subscription.get()
                if not isinstance(message, dict):
                    continue
                if message["event"] == "assigned":
                    proctor_id = message["proctor_id"]
                    self._on_assigned(
                        uuid.UUID(message["candidate_id"]),
                        uuid.UUID(proctor_id) if proctor_id else None,
                    )
                    continue
                session_id = uuid.UUID(message["session_id"])
                if message["event"] == "state":
                    extra = {k: v for k, v in message.items() if k not in HUB_FIELDS}
                    self._spawn(self._on_state(session_id, SessionState(message["state"]), extra))
                elif message["event"] == "claim" and message["node"] != self.node_id:
                    held = self.runtimes.get(session_id)
                    if held is not None:
                        # The candidate is on another node now: that node's copy rules.
                        self._replace_socket(held)
                        self._forget(held)

    async def _on_state(
        self, session_id: uuid.UUID, state: SessionState, extra: dict[str, Any]
    ) -> None:
        """Open violations end with the session, and are written, before anyone is told."""
        runtime = self.runtimes.get(session_id)
        if runtime is None:
            return  # the candidate is not connected here (nor, then, told by this node)
        runtime.state = state
        if "auto_terminate" in extra:
            runtime.rules.auto_terminate = bool(extra["auto_terminate"])
        if "ends_at" in extra:
            runtime.ends_at = extra["ends_at"]
        if state in FINAL_STATES:
            await self._apply(runtime, runtime.rules.close_all(time.time()))
        self._publish_candidate(runtime)
        message = {
            "type": "state",
            "state": state.value,
            "reason": extra.get("reason"),
            "score": extra.get("score"),
        }
        self.bus.publish(session_topic(session_id), message)

    async def end_session(self, runtime: SessionRuntime, state: SessionState, reason: str) -> None:
        """Ends a live session from the hub itself (auto-termination, time-out)."""
        final = await self._write(self._persist_end, runtime.session_id, state, reason)
        if final is not None:
            self.session_changed(runtime.session_id, final[0], reason=reason, score=final[1])

    def _persist_end(
        self, session_id: uuid.UUID, state: SessionState, reason: str
    ) -> tuple[SessionState, float | None] | None:
        with transaction(self.session_factory) as db:
            session = db.get(ExamSession, session_id)
            if session is None or session.state in FINAL_STATES:
                return None
            if state is SessionState.SUBMITTED:
                # Only the clock submits from here: the attempt's time (and grace) ran out.
                exam = db.get(Exam, session.exam_id)
                assert exam is not None
                if not sessions.expire_if_over(session=session, exam=exam, now=utcnow()):
                    return None
            else:
                sessions.move(session, state, reason=reason)
            return session.state, session.score

    # --- ticker ----------------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self._tick()
            except Exception:
                log.exception("live tick failed")

    def assemble_recordings(self) -> None:
        """Asks for an assembly sweep soon; safe from request threads."""
        self._assembly_requested = True

    async def _assemble_due(self) -> None:
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(self._assembler, self._assemble_all)
        for exam_id, session_id, kind in ready:
            if self.webhooks is not None:
                payload = {"session_id": str(session_id), "kind": kind}
                self.webhooks.emit("recording.ready", exam_id, payload)
            self.bus.publish(
                exam_topic(exam_id),
                {"type": "recording", "session_id": str(session_id), "kind": kind, "ready": True},
            )

    def _assemble_all(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        with self.session_factory() as db:
            due = recordings.due_for_assembly(db=db, now=utcnow())
        ready = []
        for recording_id in due:
            try:
                with transaction(self.session_factory) as db:
                    recording = recordings.assemble_recording(
                        db=db, store=self.store, recording_id=recording_id
                    )
                    session = db.get(ExamSession, recording.session_id)
                    if recording.ready and session is not None:
                        ready.append((session.exam_id, session.id, recording.kind.value))
            except StorageError as error:
                # Still due: the next sweep tries again (once space is back, say).
                log.warning("recording %s not assembled: %s", recording_id, error)
        return ready

    def _adapt_to_load(self, now: float) -> None:
        """Asks every candidate for fewer frames while the workers skip many, and for more
        again once they keep up; proctors see it on their wall, operators in the metrics.
        The wall also says when object and identity passes are being put off."""
        received = sum(r.counters.received for r in self.runtimes.values())
        skipped = sum(r.counters.skipped for r in self.runtimes.values())
        last_received, last_skipped, last_deferred = self._load_window
        self._load_window = (received, skipped, self._deferred)
        new_frames = received - last_received
        if new_frames < LOAD_MIN_FRAMES:
            return
        share = (skipped - last_skipped) / new_frames
        deferring = (self._deferred - last_deferred) / new_frames > DEFER_SHOWN_SHARE
        factor = self.load_factor
        if share > LOAD_SKIP_HIGH:
            factor = max(LOAD_FACTOR_MIN, factor * 0.7)
        elif share < LOAD_SKIP_LOW:
            factor = min(1.0, factor * 1.25)
        if factor == self.load_factor and deferring == self.deferring:
            return
        self.load_factor = factor
        self.deferring = deferring
        for runtime in self.runtimes.values():
            before = runtime.fps
            runtime.load_factor = factor
            if runtime.fps != before:
                message = {"type": "rate", "fps": runtime.fps}
                self.bus.publish(session_topic(runtime.session_id), message)
        for exam_id in {runtime.exam_id for runtime in self.runtimes.values()}:
            self.bus.publish(exam_topic(exam_id), self.load_message(exam_id))
        self.metrics.rate_factor.set(factor)

    def load_message(self, exam_id: uuid.UUID) -> dict[str, Any]:
        """How far analysis keeps up, for the proctor walls of an exam."""
        fps = next(
            (
                runtime.policy.frames_per_second * self.load_factor
                for runtime in self.runtimes.values()
                if runtime.exam_id == exam_id
            ),
            None,
        )
        return {
            "type": "load",
            "degraded": self.load_factor < 1.0,
            "factor": round(self.load_factor, 2),
            "fps": fps,
            "deferring": self.deferring,
        }

    async def _run_retention(self) -> None:
        # On the assembler's thread, so it never deletes a recording being assembled.
        report = await asyncio.get_running_loop().run_in_executor(
            self._assembler,
            lambda: retention.run_retention(
                session_factory=self.session_factory, store=self.store, now=utcnow()
            ),
        )
        if report.failed:
            log.warning("retention could not delete everything: %s", report.failed)
        if report.more:
            self._last_retention = 0.0  # more sessions are due: go on at the next tick

    async def _tick(self) -> None:
        now = time.time()
        if now - self._last_retention >= retention.RETENTION_SWEEP_S:
            self._last_retention = now
            self._spawn(self._run_retention())
        if now - self._last_load_check >= LOAD_CHECK_S:
            self._last_load_check = now
            self._adapt_to_load(now)
        if self._assembly_requested or now - self._last_assembly_sweep >= ASSEMBLY_SWEEP_S:
            self._assembly_requested = False
            self._last_assembly_sweep = now
            self._spawn(self._assemble_due())
        for runtime in list(self.runtimes.values()):
            if runtime.state in FINAL_STATES:
                if not runtime.connected and now - (runtime.disconnected_at or now) > 60:
                    self._forget(runtime)
                continue
            self._observe_signals(runtime, now)
            ends_at = runtime.ends_at
            grace = sessions.SUBMIT_GRACE.total_seconds()
            if (
                ends_at is not None
                and now >= ends_at + grace
                and runtime.state in (SessionState.RUNNING, SessionState.PAUSED)
            ):
                await self.end_session(runtime, SessionState.SUBMITTED, "time is up")

    def _forget(self, runtime: SessionRuntime) -> None:
        if runtime.task:
            runtime.task.cancel()
        if self.pool is not None:
            self.pool.release(str(runtime.session_id))
        self.runtimes.pop(runtime.session_id, None)


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {key: (float(v) if isinstance(v, np.floating) else v) for key, v in details.items()}
