"""/api/v1 check-in: reference photos (one per candidate, or a ZIP with the roster), the
lobby of waiting candidates, and a proctor's admit / reject / retry."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Response, UploadFile, status
from pydantic import BaseModel
from sqlalchemy import select

from openproctor.access import proctor_scope, visible_candidate, visible_exam, visible_session
from openproctor.deps import (
    AdminUser,
    AnalysisDep,
    Audit,
    Context,
    DbSession,
    Hub,
    ProctorUser,
    StaffUser,
)
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin import flows, references, service
from openproctor.domains.checkin.models import CheckIn, Decision, LobbyEntry, ReferenceRead
from openproctor.domains.objects.models import StoredObject
from openproctor.domains.sessions.models import ExamSession, SessionRead
from openproctor.live.identity import enrolment_key
from openproctor.storage import StorageError

# Reference photos belong to candidates (tokens need candidates:*), the lobby to proctoring
# (sessions:*).
router = APIRouter(tags=["candidates"])
lobby_router = APIRouter(tags=["proctoring"])


class ReferenceProblem(BaseModel):
    file: str
    message: str


class ReferencesImported(BaseModel):
    imported: int
    references: list[ReferenceRead]


def _refused(error: references.ReferenceRefused) -> HTTPException:
    problems = [ReferenceProblem(file=name, message=why) for name, why in error.problems]
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, [problem.model_dump() for problem in problems]
    )


def _reference_read(candidate: Candidate) -> ReferenceRead:
    reference = service.reference_of(candidate)
    assert reference is not None
    return ReferenceRead(
        candidate_id=candidate.id,
        url=f"/api/v1/candidates/{candidate.id}/reference-photo",
        content_type=reference.content_type,
        size_bytes=reference.size_bytes,
        embedder=reference.embedder,
        uploaded_at=reference.uploaded_at,
    )


@router.put(
    "/candidates/{candidate_id}/reference-photo",
    response_model=ReferenceRead,
    responses={422: {"description": "Not a usable photo (type, size, no face or several)."}},
)
async def upload_reference(
    candidate_id: uuid.UUID,
    photo: Annotated[UploadFile, File(description="One JPEG or PNG showing only the candidate.")],
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    analysis: AnalysisDep,
) -> ReferenceRead:
    """Registers the candidate's reference photo: enrolment compares the live face with it."""
    candidate = await asyncio.to_thread(
        visible_candidate, db=db, user=user, candidate_id=candidate_id
    )
    data = await photo.read(references.REFERENCE_MAX_BYTES + 1)
    name = photo.filename or "photo"
    try:
        checked = references.CheckedPhoto(
            candidate, name, data, references.checked_image(name, data)
        )
        await references.register(
            photos=[checked], analysis=analysis, store=context.store, audit=audit
        )
    except references.ReferenceRefused as error:
        raise _refused(error) from None
    await asyncio.to_thread(db.refresh, candidate)
    return _reference_read(candidate)


@router.post(
    "/exams/{exam_id}/reference-photos",
    response_model=ReferencesImported,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "Per-file problems; nothing was imported."}},
)
async def import_references(
    exam_id: uuid.UUID,
    archive: Annotated[
        UploadFile, File(description="A ZIP of JPEG/PNG photos named <email or external id>.jpg")
    ],
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    analysis: AnalysisDep,
) -> ReferencesImported:
    """Registers the reference photos of a roster at once: all of them, or none."""

    def roster() -> list[Candidate]:
        exam = visible_exam(db=db, user=user, exam_id=exam_id)
        return list(candidates.list_for_exam(db=db, exam_id=exam.id))

    listed = await asyncio.to_thread(roster)
    data = await archive.read()
    try:
        photos = await asyncio.to_thread(references.match_archive, data, listed)
        await references.register(
            photos=photos, analysis=analysis, store=context.store, audit=audit
        )
    except references.ReferenceRefused as error:
        raise _refused(error) from None
    for photo in photos:
        await asyncio.to_thread(db.refresh, photo.candidate)
    return ReferencesImported(
        imported=len(photos), references=[_reference_read(p.candidate) for p in photos]
    )


@router.get(
    "/candidates/{candidate_id}/reference-photo",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def reference_photo(
    candidate_id: uuid.UUID, db: DbSession, user: StaffUser, context: Context
) -> Response:
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    reference = service.reference_of(candidate)
    if reference is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this candidate has no reference photo")
    try:
        data = context.store.get(reference.key)
    except StorageError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the reference photo is missing") from None
    headers = {"Cache-Control": "private, max-age=3600"}
    return Response(data, media_type=reference.content_type, headers=headers)


@lobby_router.get("/sessions/{session_id}/checkin", response_model=CheckIn)
def session_checkin(session_id: uuid.UUID, db: DbSession, user: StaffUser) -> CheckIn:
    """The session's check-in record: reference distance, refused photos, admission."""
    return CheckIn.of(visible_session(db=db, user=user, session_id=session_id).checkin)


@lobby_router.get("/exams/{exam_id}/lobby", response_model=list[LobbyEntry])
def lobby(exam_id: uuid.UUID, db: DbSession, user: ProctorUser) -> list[LobbyEntry]:
    """The candidates waiting for a proctor (a proctor's own), the longest waiting first."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    waiting = service.waiting(db=db, exam_id=exam.id, proctor_id=proctor_scope(user))
    keys = [enrolment_key(session.id) for session, _ in waiting]
    query = select(StoredObject.storage_key, StoredObject.id)
    rows = db.execute(query.where(StoredObject.storage_key.in_(keys)))
    photos = {row.storage_key: row.id for row in rows}
    return [
        LobbyEntry(
            session_id=session.id,
            candidate_id=candidate.id,
            candidate_name=candidate.name,
            candidate_email=candidate.email,
            checkin=CheckIn.of(session.checkin),
            reference_url=(
                f"/api/v1/candidates/{candidate.id}/reference-photo"
                if candidate.reference_photo
                else None
            ),
            live_url=(
                f"/api/v1/evidence/{photos[key]}"
                if (key := enrolment_key(session.id)) in photos
                else None
            ),
        )
        for session, candidate in waiting
    ]


def _decide(
    action: str,
    session_id: uuid.UUID,
    body: Decision,
    db: DbSession,
    user: ProctorUser,
    audit: Audit,
    hub: Hub,
) -> SessionRead:
    session: ExamSession = visible_session(db=db, user=user, session_id=session_id)
    decide = {"admit": flows.admit, "reject": flows.reject, "retry": flows.retry}[action]
    try:
        decide(db=db, audit=audit, hub=hub, session=session, user=user, reason=body.reason)
    except flows.NotWaiting as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return SessionRead.model_validate(session)


WAITING_ONLY: dict[int | str, dict[str, Any]] = {
    409: {"description": "The candidate is not waiting in the lobby."}
}


@lobby_router.post(
    "/sessions/{session_id}/admit",
    response_model=SessionRead,
    responses=WAITING_ONLY,
)
def admit(
    session_id: uuid.UUID, body: Decision, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> SessionRead:
    """Lets a waiting candidate start: the session moves to enrolled."""
    return _decide("admit", session_id, body, db, user, audit, hub)


@lobby_router.post(
    "/sessions/{session_id}/reject",
    response_model=SessionRead,
    responses=WAITING_ONLY,
)
def reject(
    session_id: uuid.UUID, body: Decision, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> SessionRead:
    """Turns a waiting candidate away with a reason: the session ends (terminated)."""
    return _decide("reject", session_id, body, db, user, audit, hub)


@lobby_router.post(
    "/sessions/{session_id}/retry",
    response_model=SessionRead,
    responses=WAITING_ONLY,
)
def retry(
    session_id: uuid.UUID, body: Decision, db: DbSession, user: ProctorUser, audit: Audit, hub: Hub
) -> SessionRead:
    """Asks a waiting candidate for a new enrolment photo."""
    return _decide("retry", session_id, body, db, user, audit, hub)
