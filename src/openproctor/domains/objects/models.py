"""Stored objects (evidence images, recording chunks and recordings) kept in object storage."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum
from openproctor.storage.base import StoredBlob


class ObjectPurpose(StrEnum):
    EVIDENCE = "evidence"
    EVIDENCE_RAW = "evidence_raw"
    ENROLMENT = "enrolment"
    ID_DOCUMENT = "id_document"
    RECORDING_CHUNK = "recording_chunk"
    RECORDING = "recording"


class StreamKind(StrEnum):
    WEBCAM = "webcam"
    SCREEN = "screen"
    ROOM_SCAN = "room_scan"


class StoredObject(IdMixin, Base):
    __tablename__ = "stored_objects"
    __table_args__ = (
        UniqueConstraint("recording_id", "chunk_index", name="uq_stored_objects_chunk"),
    )

    purpose: Mapped[ObjectPurpose] = mapped_column(str_enum(ObjectPurpose))
    storage_key: Mapped[str] = mapped_column(String(500), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    violation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("violations.id", ondelete="CASCADE"), index=True
    )
    recording_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    chunk_index: Mapped[int | None]
    # A recording restarts (new WebM header) after a page reload: each run is one part.
    chunk_part: Mapped[int | None]

    @classmethod
    def of(cls, blob: StoredBlob, purpose: ObjectPurpose, **links: Any) -> StoredObject:
        """The row for a blob just stored; links: id, session_id, violation_id, ..."""
        return cls(
            purpose=purpose,
            storage_key=blob.key,
            content_type=blob.content_type,
            size_bytes=blob.size_bytes,
            sha256=blob.sha256,
            **links,
        )


class Recording(IdMixin, Base):
    """One stream of a session; its chunks are stored objects, assembled when it ends."""

    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("session_id", "kind", name="uq_recordings_session_kind"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[StreamKind] = mapped_column(str_enum(StreamKind))
    content_type: Mapped[str] = mapped_column(
        String(100), default="video/webm", server_default="video/webm"
    )
    # When the recording started by our clock: its first part's start (see RecordingPart).
    started_at: Mapped[datetime | None]
    # Set when the browser says how many chunks it recorded; until then the stream may grow.
    chunks_expected: Mapped[int | None]
    # Seconds the browser says it recorded, to compare with the assembled duration.
    recorded_s: Mapped[float | None]
    ready: Mapped[bool] = mapped_column(default=False)
    duration_s: Mapped[float | None]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(500))
    finalized_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))


class RecordingPart(Base):
    """One recorder run of a recording: when it started, and where it sits in the file.

    A reload or a camera restart starts a new run. The time between runs was not recorded, so
    the assembled file is shorter than the span it covers: a moment of the attempt is found in
    the file through the start of the part that holds it, not through the recording's start.
    """

    __tablename__ = "recording_parts"

    recording_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True
    )
    part: Mapped[int] = mapped_column(primary_key=True)
    # The run's start by the browser's clock, as it said (X-Chunk-Started-Ms); see part_start().
    browser_started_at: Mapped[datetime | None]
    # The least (our receive time - the browser's send time) over the run's chunks: how far
    # the browser's clock is behind ours, plus the quickest upload.
    clock_offset_s: Mapped[float | None]
    # Our clock when the run's first chunk arrived: its start if the browser's cannot be used.
    first_received_at: Mapped[datetime]
    # Set by assembly: where the run begins in the assembled file, and how long it plays.
    offset_s: Mapped[float | None]
    duration_s: Mapped[float | None]
