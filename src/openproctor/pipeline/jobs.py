"""What crosses between the web process and the analysis workers: jobs, their outcomes, and
the Analysis interface both ways of running them (local processes, Redis) implement.

Nothing here loads a model, so the web process can import it; the code that runs the models
(worker.py, the detectors) is imported only inside the worker processes.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from openproctor.detectors.base import TextLine
from openproctor.detectors.detections import BoxTuple, Detections
from openproctor.pipeline.gates import Gate


@dataclass(frozen=True, slots=True)
class FrameJob:
    session_id: str
    seq: int
    ts_ms: float
    jpeg: bytes
    objects: bool
    identity: bool
    reference: tuple[float, ...] | None = None
    # What made `reference` (IdentityConfig.embedder): a worker running another model does not
    # compare with it (a guard for workers configured unlike the web node, see live/identity.py).
    reference_embedder: str | None = None
    baseline: tuple[float, float, float] | None = None
    # The proctor wall's tile picture is refreshed every few seconds, not every frame.
    thumbnail: bool = True


@dataclass(frozen=True, slots=True)
class FaceLook:
    """Where one face looks, from its mesh: head yaw and pitch (degrees; yaw positive to the
    image right, pitch positive up) and the iris offset in eye widths (x to the image right,
    y down), yaw, pitch and gaze x relative to the candidate's enrolment baseline."""

    yaw: float
    pitch: float
    gaze_x: float
    gaze_y: float
    eyes_open: bool


@dataclass(frozen=True, slots=True)
class FrameOutcome:
    session_id: str
    seq: int
    ts_ms: float
    gate: Gate
    frozen: bool = False
    changed_a_lot: bool = False
    face_boxes: tuple[BoxTuple, ...] = ()
    # One per face box, None for a face without a mesh (config.face.mesh_faces).
    looks: tuple[FaceLook | None, ...] = ()
    width: int = 0
    height: int = 0
    objects: Detections = field(default_factory=Detections.empty)
    # Faces plus bodies that hold none of them (detectors/persons.py).
    persons: int = 0
    flags: tuple[str, ...] = ()
    identity_distance: float | None = None
    objects_ran: bool = False
    identity_ran: bool = False
    thumbnail: bytes = b""
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def faces(self) -> int:
        return len(self.face_boxes)


@dataclass(frozen=True, slots=True)
class EnrolOutcome:
    ok: bool
    guidance: str
    embedding: tuple[float, ...] = ()
    baseline: tuple[float, float, float] = (0.0, 0.0, 0.0)
    embedder: str = ""  # IdentityConfig.embedder of the worker that made the embedding


@dataclass(frozen=True, slots=True)
class IdDocumentJob:
    """A photo of an ID document (a camera frame with the card held up, or an uploaded photo)
    and what its portrait is compared with: the session's enrolment embedding, if any."""

    session_id: str
    image: bytes
    reference: tuple[float, ...] | None = None
    reference_embedder: str | None = None


@dataclass(frozen=True, slots=True)
class IdDocumentOutcome:
    """What the worker found on an ID document photo (pipeline/id_documents.py); the name is
    matched against the roster on the web node (domains/iddoc/names.py)."""

    decoded: bool
    lines: tuple[TextLine, ...] = ()
    # The portrait on the document, and the face of whoever holds it in the same frame.
    document_face: BoxTuple | None = None
    live_face: BoxTuple | None = None
    # Distances of the portrait's embedding to the enrolment embedding and to the live face.
    distance_enrolment: float | None = None
    distance_frame: float | None = None
    max_distance: float = 0.0  # the worker's IdentityConfig.max_distance
    embedder: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)


class Analysis(Protocol):
    """Where the live layer sends frames, enrolment photos and audio: the local worker
    processes (pool.AnalysisPool) or `openproctor worker` processes behind Redis
    (redis_queue.RedisAnalysis). A session takes a slot, then its newest frame, so a busy
    analysis means older frames are skipped (and counted by the caller), never queued."""

    @property
    def waiting(self) -> int:
        """Sessions waiting for a slot: the queue depth."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def slot(self, session_id: str, *, urgent: bool = False) -> AbstractAsyncContextManager[None]:
        """Waits for room (urgent sessions first); take the newest frame only once inside."""
        ...

    def release(self, session_id: str) -> None:
        """The session ended: whatever was kept for it goes."""
        ...

    async def analyse(self, job: FrameJob) -> FrameOutcome:
        """One frame; call it inside the session's slot."""
        ...

    async def enrol(self, session_id: str, jpeg: bytes, *, reference: bool = False) -> EnrolOutcome:
        """Embeds the one face of a webcam photo (checked as an enrolment: lit, near,
        frontal), or with `reference` of a registered reference photo (only one face)."""
        ...

    async def speech(self, session_id: str, pcm: bytes) -> float | None:
        """Speech probability of 16 kHz mono s16le audio; None when voice activity is off."""
        ...

    async def id_document(self, job: IdDocumentJob) -> IdDocumentOutcome:
        """Text lines and the portrait's distances on a photo of an ID document."""
        ...
