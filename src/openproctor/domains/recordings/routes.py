"""Recording uploads from the candidate's browser, and recordings for staff."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from openproctor.access import uploading_candidate, visible_session
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.deps import BackgroundSweeps, Context, DbSession, StaffUser
from openproctor.domains.objects.models import Recording, StreamKind
from openproctor.domains.recordings import flows, service
from openproctor.storage import StorageError

MEDIA_LINK_S = 300

take_router = APIRouter(prefix="/take/{token}/sessions/{session_id}/recordings", tags=["candidate"])
router = APIRouter(tags=["recordings"])


class ChunkStored(BaseModel):
    index: int
    size: int
    sha256: str
    stored: bool = Field(description="False when this chunk had already been received.")


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunks: Annotated[int, Field(ge=0, le=service.MAX_CHUNKS)]
    recorded_s: Annotated[float, Field(ge=0, le=7 * 24 * 3600)]


def _store(
    context: AppContext,
    token: str,
    session_id: uuid.UUID,
    kind: StreamKind,
    index: int,
    part: int,
    data: bytes,
    sha256: str,
    content_type: str,
    started_ms: float | None,
    sent_ms: float | None,
) -> ChunkStored:
    for attempt in range(2):
        with context.session_factory() as db:
            _, session = uploading_candidate(
                db=db, token=token, session_id=session_id, now=utcnow()
            )
            try:
                created, chunk = service.store_chunk(
                    db=db,
                    store=context.store,
                    session=session,
                    kind=kind,
                    index=index,
                    part=part,
                    data=data,
                    sha256=sha256,
                    content_type=content_type,
                    started_ms=started_ms,
                    sent_ms=sent_ms,
                )
                db.commit()
            except service.ChunkRefused as error:
                raise HTTPException(error.status_code, str(error)) from None
            except IntegrityError:
                # The same chunk raced in twice (a retry overtook the first try): look again.
                db.rollback()
                if attempt:
                    raise
                continue
            return ChunkStored(
                index=index, size=chunk.size_bytes, sha256=chunk.sha256, stored=created
            )
    raise AssertionError("unreachable")


@take_router.put(
    "/{kind}/chunks/{index}",
    response_model=ChunkStored,
    responses={
        409: {"description": "A different body was already stored for this index."},
        415: {"description": "Not video/webm: the only type the recorder makes."},
        422: {"description": "Empty, or its SHA-256 does not match (damaged in transit)."},
    },
)
async def upload_chunk(
    token: str,
    session_id: uuid.UUID,
    kind: StreamKind,
    index: int,
    request: Request,
    response: Response,
    context: Context,
    x_chunk_sha256: Annotated[str, Header(min_length=64, max_length=64)],
    x_recording_part: Annotated[int, Header(ge=0)] = 0,
    x_chunk_started_ms: Annotated[float | None, Header()] = None,
    x_chunk_sent_ms: Annotated[float | None, Header()] = None,
    content_type: Annotated[str, Header(max_length=100)] = "video/webm",
) -> ChunkStored:
    """Body: the chunk's bytes as MediaRecorder gave them. Idempotent by index.

    X-Chunk-Started-Ms is when the chunk's recorder run (its part) started and
    X-Chunk-Sent-Ms when the browser sent it, both epoch milliseconds by the browser's clock:
    the second tells how far that clock is from the server's."""
    data = await request.body()
    stored = await asyncio.to_thread(
        _store,
        context,
        token,
        session_id,
        kind,
        index,
        x_recording_part,
        data,
        x_chunk_sha256,
        content_type,
        x_chunk_started_ms,
        x_chunk_sent_ms,
    )
    response.status_code = status.HTTP_201_CREATED if stored.stored else status.HTTP_200_OK
    return stored


@take_router.get("")
def upload_status(
    token: str, session_id: uuid.UUID, db: DbSession
) -> dict[str, list[dict[str, Any]]]:
    """What the server has, so a browser that restarted knows what to send again."""
    _, session = uploading_candidate(db=db, token=token, session_id=session_id, now=utcnow())
    recordings = service.for_session(db=db, session_id=session.id)
    return {"streams": [service.describe(db=db, recording=r) for r in recordings]}


@take_router.post("/{kind}/complete")
def complete(
    token: str,
    session_id: uuid.UUID,
    kind: StreamKind,
    completion: Completion,
    db: DbSession,
    sweeps: BackgroundSweeps,
) -> dict[str, Any]:
    """The browser recorded `chunks` chunks in all: the recording can be assembled once they
    are all here and the session has ended."""
    _, session = uploading_candidate(db=db, token=token, session_id=session_id, now=utcnow())
    try:
        recording = flows.complete(
            db=db,
            sweeps=sweeps,
            session=session,
            kind=kind,
            chunks=completion.chunks,
            recorded_s=completion.recorded_s,
        )
    except service.ChunkRefused as error:
        raise HTTPException(error.status_code, str(error)) from None
    return service.describe(db=db, recording=recording)


@router.get("/sessions/{session_id}/recordings")
def session_recordings(
    session_id: uuid.UUID, db: DbSession, user: StaffUser
) -> list[dict[str, Any]]:
    session = visible_session(db=db, user=user, session_id=session_id)
    return [
        service.describe(db=db, recording=r)
        for r in service.for_session(db=db, session_id=session.id)
    ]


@router.get(
    "/recordings/{recording_id}/media",
    response_class=Response,
    responses={200: {"content": {service.RECORDING_MEDIA_TYPE: {}}}},
)
def recording_media(
    recording_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    context: Context,
    download: Annotated[bool, Query(description="Save as a file instead of playing.")] = False,
) -> Response:
    """The assembled recording; supports Range requests so players can seek. Always served as
    WebM (the assembler's output), whatever type its chunks were sent with."""
    recording = db.get(Recording, recording_id)
    if recording is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "recording not found")
    visible_session(db=db, user=user, session_id=recording.session_id)
    if not recording.ready or recording.storage_key is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "this recording is not assembled yet")
    filename = f"session-{recording.session_id}-{recording.kind.value}.webm"
    disposition = f'{"attachment" if download else "inline"}; filename="{filename}"'
    path = context.store.local_path(recording.storage_key)
    if path is not None:
        return FileResponse(
            path,
            media_type=service.RECORDING_MEDIA_TYPE,
            headers={"Content-Disposition": disposition},
        )
    # S3 serves ranges itself: send the player there with a short-lived link.
    url = context.store.presigned_url(
        recording.storage_key,
        MEDIA_LINK_S,
        content_type=service.RECORDING_MEDIA_TYPE,
        disposition=disposition,
    )
    if url is not None:
        return RedirectResponse(url, status.HTTP_307_TEMPORARY_REDIRECT)
    try:
        data = context.store.get(recording.storage_key)
    except StorageError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the recording file is missing") from None
    return Response(
        data,
        media_type=service.RECORDING_MEDIA_TYPE,
        headers={"Content-Disposition": disposition},
    )
