"""Recording chunks in, seekable recordings out.

Chunks are idempotent by index: the same body again is fine (a retry whose answer was lost),
a different body for a stored index is refused. A recording is assembled once the browser has
said how many chunks it made and all of them are here, or, if it never says, a while after the
session ended, with the gaps named. A chunk that fills a gap later reopens the recording and
it is assembled again: nothing that arrives is lost.

A recording is made of parts, one per recorder run (a reload or a camera restart starts a new
one), with nothing recorded between them. Each part keeps its own start so that a moment of
the attempt can be found in the assembled file (see part_start()).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.objects.models import (
    ObjectPurpose,
    Recording,
    RecordingPart,
    StoredObject,
    StreamKind,
)
from openproctor.domains.recordings.assemble import AssemblyError, assemble
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession
from openproctor.storage import ObjectStore

# Under the server's request body limit (OPENPROCTOR_MAX_BODY_BYTES, 5 MiB by default).
MAX_CHUNK_BYTES = 4 * 1024 * 1024
MAX_CHUNKS = 100_000
# A part's start outside the attempt by more than this is not believed.
CLOCK_TOLERANCE = timedelta(minutes=5)
# Clocks that seem this close are taken to agree: the difference measured is mostly the time
# the upload took, and a browser clock kept by NTP is closer than that.
CLOCKS_AGREE_S = 2.0
# Without the browser's "complete", recordings are assembled this long after the session ends.
ASSEMBLE_AFTER = timedelta(minutes=10)
# The server decides media types: the page's recorder (web/static/js/take/recorder.js) makes
# WebM and the assembler writes WebM, so a chunk of any other type is refused and a recording
# is only ever served as WebM, whatever a browser claimed.
CHUNK_MEDIA_TYPE = "video/webm"
RECORDING_MEDIA_TYPE = "video/webm"


class ChunkRefused(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def recording_for(*, db: Session, session_id: uuid.UUID, kind: StreamKind) -> Recording:
    recording = db.scalar(
        select(Recording).where(Recording.session_id == session_id, Recording.kind == kind)
    )
    if recording is None:
        recording = Recording(session_id=session_id, kind=kind)
        db.add(recording)
        db.flush()
    return recording


def chunks_of(*, db: Session, recording_id: uuid.UUID) -> Sequence[StoredObject]:
    query = (
        select(StoredObject)
        .where(StoredObject.recording_id == recording_id)
        .order_by(StoredObject.chunk_index)
    )
    return db.scalars(query).all()


def missing_chunks(*, db: Session, recording: Recording) -> list[int]:
    received = {chunk.chunk_index for chunk in chunks_of(db=db, recording_id=recording.id)}
    expected = recording.chunks_expected
    if expected is None:
        expected = max((i for i in received if i is not None), default=-1) + 1
    return [index for index in range(expected) if index not in received]


def store_chunk(
    *,
    db: Session,
    store: ObjectStore,
    session: ExamSession,
    kind: StreamKind,
    index: int,
    part: int,
    data: bytes,
    sha256: str,
    content_type: str,
    started_ms: float | None,
    sent_ms: float | None = None,
) -> tuple[bool, StoredObject]:
    """Stores one chunk; returns (newly stored, its row). Raises ChunkRefused.

    started_ms is when the chunk's recorder run started and sent_ms when the browser sent the
    chunk, both by the browser's clock (epoch milliseconds); either may be missing."""
    if not data:
        raise ChunkRefused(422, "the chunk is empty")
    if len(data) > MAX_CHUNK_BYTES:
        raise ChunkRefused(413, f"a chunk may be at most {MAX_CHUNK_BYTES // (1024 * 1024)} MiB")
    if not 0 <= index < MAX_CHUNKS or not 0 <= part < MAX_CHUNKS:
        raise ChunkRefused(422, "chunk index and part must be between 0 and 99999")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != CHUNK_MEDIA_TYPE:
        raise ChunkRefused(
            415, f"a recording chunk must be {CHUNK_MEDIA_TYPE} (as recorded), not {media_type!r}"
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.lower():
        raise ChunkRefused(
            422, "the chunk's SHA-256 does not match its body: it was damaged on the way"
        )
    recording = recording_for(db=db, session_id=session.id, kind=kind)
    existing = db.scalar(
        select(StoredObject).where(
            StoredObject.recording_id == recording.id, StoredObject.chunk_index == index
        )
    )
    if existing is not None:
        if existing.sha256 == actual:
            return False, existing
        raise ChunkRefused(409, f"chunk {index} was already received with different content")
    if recording.chunks_expected is not None and index >= recording.chunks_expected:
        raise ChunkRefused(
            409, f"the recording was completed with {recording.chunks_expected} chunks"
        )
    _note_part(db=db, recording=recording, part=part, started_ms=started_ms, sent_ms=sent_ms)
    key = f"sessions/{session.id}/recordings/{kind.value}/{part:05d}-{index:05d}.webm"
    blob = store.put(key, data, content_type)
    chunk = StoredObject(
        purpose=ObjectPurpose.RECORDING_CHUNK,
        storage_key=blob.key,
        content_type=content_type,
        size_bytes=blob.size_bytes,
        sha256=blob.sha256,
        session_id=session.id,
        recording_id=recording.id,
        chunk_index=index,
        chunk_part=part,
    )
    db.add(chunk)
    first = db.scalar(
        select(RecordingPart)
        .where(RecordingPart.recording_id == recording.id)
        .order_by(RecordingPart.part)
        .limit(1)
    )
    if first is not None:
        recording.started_at, _ = part_start(first, session)
    # A late chunk fills a gap of an assembled recording: assemble it again.
    recording.ready = False
    recording.finalized_at = None
    db.flush()
    return True, chunk


def _note_part(
    *,
    db: Session,
    recording: Recording,
    part: int,
    started_ms: float | None,
    sent_ms: float | None,
) -> RecordingPart:
    """Keeps what a chunk (not stored yet) tells of its part: the browser's start, and how far
    its clock is from ours."""
    now = utcnow()
    row = _part_row(db=db, recording=recording, part=part, now=now)
    if row.browser_started_at is None and started_ms is not None:
        row.browser_started_at = _from_ms(started_ms)
    sent = _from_ms(sent_ms) if sent_ms is not None else None
    if sent is not None:
        # Every measure is the clocks' difference plus the upload's time: the least is closest.
        measured = (now - sent).total_seconds()
        if row.clock_offset_s is None or measured < row.clock_offset_s:
            row.clock_offset_s = measured
    return row


def _part_row(*, db: Session, recording: Recording, part: int, now: datetime) -> RecordingPart:
    row = db.get(RecordingPart, (recording.id, part))
    if row is not None:
        return row
    # A part with chunks but no row was being recorded before parts were kept (migration
    # 0005): its first chunk's arrival is known, and the recording's start is its first part's.
    of_recording = StoredObject.recording_id == recording.id
    earlier = db.scalar(
        select(func.min(StoredObject.created_at)).where(
            of_recording, StoredObject.chunk_part == part
        )
    )
    row = RecordingPart(recording_id=recording.id, part=part, first_received_at=earlier or now)
    if earlier is not None:
        lowest = db.scalar(select(func.min(StoredObject.chunk_part)).where(of_recording))
        if lowest == part:
            row.browser_started_at = recording.started_at
    # Two first chunks of one part racing in make an IntegrityError: the caller tries again.
    db.add(row)
    return row


def _from_ms(epoch_ms: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(epoch_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def part_start(part: RecordingPart, session: ExamSession) -> tuple[datetime, bool]:
    """When the part started by our clock, and whether the browser's word was used for it.

    The browser knows when its recorder started; its upload time says little, since a chunk
    may wait in IndexedDB for minutes (offline, a reload) before it is sent. So the browser's
    start is used, moved by how far its clock is from ours (measured on the uploads), if it
    then falls within the attempt. Otherwise the part started before its first chunk arrived,
    and that arrival is the estimate (late by at least one chunk's length)."""
    claimed = part.browser_started_at
    if claimed is not None:
        offset = part.clock_offset_s
        if offset is not None and abs(offset) > CLOCKS_AGREE_S:
            claimed += timedelta(seconds=offset)
        began = session.started_at or session.created_at
        ended = session.ended_at or utcnow()
        if began - CLOCK_TOLERANCE <= claimed <= ended + CLOCK_TOLERANCE:
            return claimed, True
    return part.first_received_at, False


def parts_of(*, db: Session, recording_id: uuid.UUID) -> Sequence[RecordingPart]:
    query = (
        select(RecordingPart)
        .where(RecordingPart.recording_id == recording_id)
        .order_by(RecordingPart.part)
    )
    return db.scalars(query).all()


def complete(
    *, db: Session, session: ExamSession, kind: StreamKind, chunks: int, recorded_s: float
) -> Recording:
    recording = recording_for(db=db, session_id=session.id, kind=kind)
    received = chunks_of(db=db, recording_id=recording.id)
    highest = max((c.chunk_index for c in received if c.chunk_index is not None), default=-1)
    if chunks <= highest:
        raise ChunkRefused(409, f"chunk {highest} was already received, so there are more")
    recording.chunks_expected = chunks
    recording.recorded_s = recorded_s
    db.flush()
    return recording


def due_for_assembly(*, db: Session, now: datetime) -> list[uuid.UUID]:
    """Recordings to assemble: of ended sessions, complete, or abandoned for a while."""
    rows = db.execute(
        select(Recording, ExamSession)
        .join(ExamSession, Recording.session_id == ExamSession.id)
        .where(~Recording.ready, ExamSession.state.in_(list(FINAL_STATES)))
    ).all()
    due = []
    for recording, session in rows:
        abandoned = session.ended_at is not None and now - session.ended_at >= ASSEMBLE_AFTER
        declared = recording.chunks_expected is not None
        if abandoned or (declared and not missing_chunks(db=db, recording=recording)):
            due.append(recording.id)
    return due


def assemble_recording(*, db: Session, store: ObjectStore, recording_id: uuid.UUID) -> Recording:
    """Joins the chunks (per part, in order) into one seekable file and marks it ready."""
    recording = db.get(Recording, recording_id)
    if recording is None:
        raise LookupError(f"no recording {recording_id}")
    chunks = [c for c in chunks_of(db=db, recording_id=recording.id) if c.chunk_index is not None]
    parts: dict[int, list[bytes]] = {}
    for chunk in chunks:
        parts.setdefault(chunk.chunk_part or 0, []).append(store.get(chunk.storage_key))
    missing = missing_chunks(db=db, recording=recording)
    numbers = sorted(parts)
    try:
        result = assemble([b"".join(parts[number]) for number in numbers])
    except AssemblyError as error:
        recording.error = str(error)[:500]
        recording.finalized_at = utcnow()
        return recording
    for number, span in zip(numbers, result.parts, strict=True):
        row = _part_row(db=db, recording=recording, part=number, now=utcnow())
        row.offset_s = round(span.offset_s, 3)
        row.duration_s = round(span.duration_s, 3)
    key = f"sessions/{recording.session_id}/recordings/{recording.kind.value}.webm"
    blob = store.put(key, result.data, RECORDING_MEDIA_TYPE)
    recording.storage_key = blob.key
    recording.sha256 = blob.sha256
    recording.size_bytes = blob.size_bytes
    recording.duration_s = round(result.duration_s, 3)
    recording.ready = True
    recording.finalized_at = utcnow()
    recording.error = f"missing chunks: {_ranges(missing)}" if missing else None
    return recording


def _ranges(indexes: list[int]) -> str:
    return ", ".join(str(i) for i in indexes[:50]) + (" ..." if len(indexes) > 50 else "")


def describe(*, db: Session, recording: Recording) -> dict[str, Any]:
    chunks = chunks_of(db=db, recording_id=recording.id)
    parts = describe_parts(db=db, recording=recording)
    # Recordings from before parts were kept (migration 0005) have only their own start.
    started_at = parts[0]["started_at"] if parts else None
    if started_at is None and recording.started_at is not None:
        started_at = recording.started_at.isoformat()
    return {
        "id": str(recording.id),
        "kind": recording.kind.value,
        "chunks": len(chunks),
        "received": [c.chunk_index for c in chunks],
        "chunks_expected": recording.chunks_expected,
        "missing_chunks": missing_chunks(db=db, recording=recording),
        "chunk_sha256": {str(c.chunk_index): c.sha256 for c in chunks},
        "recorded_s": recording.recorded_s,
        "duration_s": recording.duration_s,
        "size_bytes": recording.size_bytes,
        "sha256": recording.sha256,
        "started_at": started_at,
        "parts": parts,
        "ready": recording.ready,
        "error": recording.error,
        "url": f"/api/v1/recordings/{recording.id}/media" if recording.ready else None,
    }


def describe_parts(*, db: Session, recording: Recording) -> list[dict[str, Any]]:
    """Each part (recorder run) in file order: when it started (ISO, UTC), by whose clock,
    and its offset and length in the assembled file (seconds; null until assembled)."""
    session = db.get(ExamSession, recording.session_id)
    if session is None:
        raise LookupError(f"no session {recording.session_id}")
    described = []
    for row in parts_of(db=db, recording_id=recording.id):
        started, by_browser = part_start(row, session)
        described.append(
            {
                "part": row.part,
                "started_at": started.isoformat(),
                # "server": the browser's clock could not be used, the start is approximate.
                "start_clock": "browser" if by_browser else "server",
                "offset_s": row.offset_s,
                "duration_s": row.duration_s,
            }
        )
    return described


def for_session(*, db: Session, session_id: uuid.UUID) -> Sequence[Recording]:
    query = select(Recording).where(Recording.session_id == session_id).order_by(Recording.kind)
    return db.scalars(query).all()
