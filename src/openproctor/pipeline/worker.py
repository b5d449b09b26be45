"""What runs inside an analysis worker process: one Analyzer, and per-session gate state.

Each candidate session is pinned to one local worker (see pool.py), so the state kept here for
it (the face tracker, the phone evidence of its last object passes, the last frames for the
gates, the last answer for unchanged frames) is always at hand. Redis workers see any
session's frames, so there the state travels with each job, sealed with a key only the
deployment knows (see take_session_state). Functions take and return plain picklable values;
pixels never leave the worker except as a small thumbnail.
"""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from openproctor.detectors.analyzer import Analyzer, Baseline
from openproctor.detectors.base import FACE_FLAGS, FaceResult, FrameAnalysis
from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.detections import BoxTuple
from openproctor.detectors.ocr import TextReader
from openproctor.detectors.phones import PhoneHistory
from openproctor.detectors.references import ReferenceSet
from openproctor.detectors.tracking import FaceTracker
from openproctor.detectors.vad_silero import VoiceActivityDetector
from openproctor.pipeline import enrolment, id_documents, images
from openproctor.pipeline.gates import Gate, Small, check
from openproctor.pipeline.jobs import (
    EnrolOutcome,
    FaceLook,
    FrameJob,
    FrameOutcome,
    IdDocumentJob,
    IdDocumentOutcome,
)

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = (160, 120)
MAX_SESSIONS_PER_WORKER = 5000


@dataclass(slots=True)
class _SessionState:
    tracker: FaceTracker
    phones: PhoneHistory
    last_seen: Small | None = None
    last_analysed: Small | None = None
    last: FrameOutcome | None = None
    # The enrolment embedding the hub sent and the live ones learnt against it.
    references: ReferenceSet | None = None
    references_of: tuple[float, ...] | None = None

    def references_for(self, job: FrameJob, baseline: Baseline) -> ReferenceSet | None:
        """The session's references, started afresh whenever its enrolment embedding changes
        (a new enrolment, or one embedded again by another model)."""
        if job.reference is None:
            return None
        if self.references is None or self.references_of != job.reference:
            enrolment = np.asarray(job.reference, np.float32)
            self.references = ReferenceSet(enrolment, (baseline.yaw, baseline.pitch))
            self.references_of = job.reference
        return self.references


class Worker:
    """One process's models and the state of the sessions it analyses."""

    def __init__(
        self,
        model_dir: Path,
        config: DetectorConfig,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        # Audio is judged on its own chunks (speech_probability), never with a frame, so the
        # analyzer does not load a second copy of the VAD model.
        self.analyzer = Analyzer(model_dir, config.model_copy(update={"speech": False}), clock)
        self.vad = VoiceActivityDetector(model_dir) if config.speech else None
        self.sessions: OrderedDict[str, _SessionState] = OrderedDict()
        self._model_dir = model_dir
        self._clock = clock
        self._text: TextReader | None = None

    def text_reader(self) -> TextReader:
        """The OCR models, loaded on the first ID document (~0.2 s, ~60 MB): exams without
        the ID check never pay for them."""
        if self._text is None:
            self._text = TextReader(self._model_dir, 1, self._clock)
        return self._text

    def state(self, session_id: str) -> _SessionState:
        state = self.sessions.pop(session_id, None) or _SessionState(
            FaceTracker(self.config.face.tracking), PhoneHistory(self.config.phones)
        )
        self.sessions[session_id] = state  # most recently used last
        while len(self.sessions) > MAX_SESSIONS_PER_WORKER:
            self.sessions.popitem(last=False)
        return state


_worker: Worker | None = None


def init_worker(model_dir: str, config_json: str) -> None:
    """Process initializer: load every model once, single-threaded (workers scale by process)."""
    global _worker
    _die_with_parent()
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config = DetectorConfig.model_validate_json(config_json)
    _worker = Worker(Path(model_dir), config.model_copy(update={"threads": 1}))


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
ORPHAN_CHECK_S = 1.0


def _die_with_parent() -> None:
    """A worker must not outlive the server: after `kill -9` of the server no clean-up runs,
    and each orphan would keep its models (~330 MB) and the multiprocessing resource tracker
    (which exits when the last holder of its pipe does). On Linux the kernel sends SIGKILL when
    the parent dies; elsewhere a thread notices the new parent and exits."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by the pool: `openproctor worker`, tests
        return
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent.pid:  # the parent died before the line above
            os._exit(1)
        return
    threading.Thread(
        target=_exit_when_orphaned, args=(parent.pid,), name="orphan-check", daemon=True
    ).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(1)


def _the_worker() -> Worker:
    if _worker is None:
        raise RuntimeError("init_worker was not run in this process")
    return _worker


def decode(image: bytes) -> np.ndarray | None:
    """The pixels, or None for an image that is refused (see images.py) or damaged. The web
    node checked live frames against the exam's frame size already; this is the last line for
    every job, including those that come through Redis."""
    try:
        return images.decode(image, images.STILL_LIMIT)
    except images.ImageRefused:
        return None


def thumbnail(frame: np.ndarray) -> bytes:
    small = cv2.resize(frame, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return encoded.tobytes() if ok else b""


def _box(box: object) -> BoxTuple:
    return (box.x1, box.y1, box.x2, box.y2)  # type: ignore[attr-defined]


def look(face: FaceResult, baseline: Baseline) -> FaceLook | None:
    """Where the face looks, against the enrolment baseline; None without a mesh."""
    mesh = face.mesh
    if mesh is None:
        return None
    return FaceLook(
        yaw=round(mesh.pose.yaw - baseline.yaw, 1),
        pitch=round(mesh.pose.pitch - baseline.pitch, 1),
        gaze_x=round(mesh.gaze.x - baseline.gaze_x, 3),
        gaze_y=round(mesh.gaze.y, 3),
        eyes_open=not mesh.eyes.closed,
    )


def _outcome(
    job: FrameJob, analysis: FrameAnalysis, baseline: Baseline, **extra: object
) -> FrameOutcome:
    main = analysis.faces[0] if analysis.faces else None
    return FrameOutcome(
        session_id=job.session_id,
        seq=job.seq,
        ts_ms=job.ts_ms,
        face_boxes=tuple(_box(face.box) for face in analysis.faces),
        looks=tuple(look(face, baseline) for face in analysis.faces),
        objects=analysis.objects,
        persons=analysis.persons.count,
        flags=analysis.flags,
        identity_distance=main.identity_distance if main else None,
        timings_ms=dict(analysis.timings_ms),
        **extra,  # type: ignore[arg-type]
    )


def analyse_frame(job: FrameJob, worker: Worker | None = None) -> FrameOutcome:
    """One frame through the gates and the models; `worker` defaults to this process's (the
    benchmark replays streams through workers of its own)."""
    worker = worker or _the_worker()
    state = worker.state(job.session_id)
    frame = decode(job.jpeg)
    if frame is None:
        return FrameOutcome(job.session_id, job.seq, job.ts_ms, Gate.UNDECODABLE)
    gate = check(frame, last_seen=state.last_seen, last_analysed=state.last_analysed)
    state.last_seen = gate.small
    thumb = thumbnail(frame) if job.thumbnail else b""
    common = {
        "frozen": gate.frozen,
        "changed_a_lot": gate.changed_a_lot,
        "thumbnail": thumb,
        "width": frame.shape[1],
        "height": frame.shape[0],
    }
    if gate.gate is Gate.COVERED:
        return FrameOutcome(job.session_id, job.seq, job.ts_ms, Gate.COVERED, **common)
    baseline = Baseline(*job.baseline) if job.baseline else Baseline()
    # A due object or identity pass runs even on an unchanged frame: the gate compares with the
    # last analysed frame, so a phone laid on the desk (a small change) would never get a pass.
    if gate.gate is Gate.UNCHANGED and state.last is not None and not (job.identity or job.objects):
        previous = state.last
        if previous.face_boxes:
            return _faces_again(worker, job, frame, state, previous, baseline, common)
        return FrameOutcome(
            job.session_id,
            job.seq,
            job.ts_ms,
            Gate.UNCHANGED,
            face_boxes=previous.face_boxes,
            looks=previous.looks,
            objects=previous.objects,
            persons=previous.persons,
            flags=previous.flags,
            identity_distance=previous.identity_distance,
            **common,
        )
    reference = state.references_for(job, baseline)
    running = worker.analyzer.config.identity.embedder
    if reference is not None and job.reference_embedder not in (None, running):
        # Another model's embedding is 0.07-0.12 away on the same face: no check beats a false
        # mismatch. The hub re-embeds enrolments for the model it is configured with.
        log.warning(
            "session %s: enrolled with %s but this worker runs %s; identity not checked",
            job.session_id,
            job.reference_embedder,
            running,
        )
        reference = None
    analysis = worker.analyzer.analyze(
        frame,
        int(job.ts_ms),
        recheck=job.objects,
        objects=job.objects,
        reference=reference,
        baseline=baseline,
        tracker=state.tracker,
        phones=state.phones,
    )
    if reference is not None and len(analysis.faces) == 1:  # never learn from a crowd
        face = analysis.faces[0]
        if face.embedding is not None and face.mesh is not None:
            reference.learn(face.embedding, face.mesh.pose.yaw, face.mesh.pose.pitch)
    outcome = _outcome(
        job,
        analysis,
        baseline,
        gate=Gate.ANALYSED,
        objects_ran=job.objects,
        identity_ran=reference is not None,
        **common,
    )
    state.last_analysed = gate.small
    state.last = replace(outcome, thumbnail=b"")  # an unchanged frame reuses all but this
    return outcome


def _faces_again(
    worker: Worker,
    job: FrameJob,
    frame: np.ndarray,
    state: _SessionState,
    previous: FrameOutcome,
    baseline: Baseline,
    common: dict[str, object],
) -> FrameOutcome:
    """An unchanged scene with a face in it: the face stage runs again, the costly passes'
    answers stand. Eyes that close or turn aside change the 64x48 thumbnail the gate compares
    by less than noise does (a mean 0.7 on the evaluation videos), so reusing the last answer
    would miss them."""
    analysis = worker.analyzer.analyze(
        frame,
        int(job.ts_ms),
        recheck=False,
        objects=False,
        baseline=baseline,
        tracker=state.tracker,
    )
    kept = tuple(flag for flag in previous.flags if flag not in FACE_FLAGS)
    return replace(
        _outcome(job, analysis, baseline, gate=Gate.UNCHANGED, **common),
        objects=previous.objects,
        flags=analysis.flags + kept,
        identity_distance=previous.identity_distance,
    )


def state_key(secret: str) -> bytes:
    """The key that seals session state between web nodes and Redis workers."""
    return hashlib.sha256(b"openproctor session state\0" + secret.encode()).digest()


def take_session_state(session_id: str, key: bytes) -> bytes:
    """A session's state, sealed (HMAC-SHA256, then the pickle), and forgotten here: the web
    node sends it with the session's next frame to whichever worker takes that."""
    state = _the_worker().sessions.pop(session_id, None)
    if state is None:
        return b""
    blob = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return hmac.new(key, blob, "sha256").digest() + blob


def adopt_session_state(session_id: str, sealed: bytes, key: bytes) -> None:
    """Makes `sealed` (from take_session_state, maybe on another worker) this session's state;
    without it, or if it was not sealed with our key, the session starts afresh."""
    worker = _the_worker()
    worker.sessions.pop(session_id, None)
    if not sealed:
        return
    mac, blob = sealed[:32], sealed[32:]
    if not hmac.compare_digest(mac, hmac.new(key, blob, "sha256").digest()):
        log.warning(
            "session state for %s was not sealed with this worker's key (is "
            "OPENPROCTOR_SECRET_KEY the same on web nodes and workers?); starting afresh",
            session_id,
        )
        return
    worker.sessions[session_id] = pickle.loads(blob)  # noqa: S301 - sealed by us, checked above


def enrol(jpeg: bytes, *, reference: bool = False) -> EnrolOutcome:
    """An enrolment photo (or, with reference, a registered reference photo) judged by
    pipeline/enrolment.py with this process's models."""
    return enrolment.judge(_the_worker().analyzer, decode(jpeg), reference=reference)


def id_document(job: IdDocumentJob, worker: Worker | None = None) -> IdDocumentOutcome:
    """Text lines and the portrait's distances on a photo of an ID document."""
    worker = worker or _the_worker()
    identity = worker.analyzer.config.identity
    return id_documents.check_document(
        job,
        worker.text_reader().read,
        worker.analyzer.embedded_faces,
        embedder=identity.embedder,
        max_distance=identity.max_distance,
        clock=worker._clock,
    )


def speech_probability(pcm: bytes) -> float | None:
    """Speech probability of a chunk of 16 kHz mono s16le audio; None when VAD is off."""
    vad = _the_worker().vad
    if vad is None or len(pcm) < 2:
        return None
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768.0
    return vad.speech_prob(samples)
