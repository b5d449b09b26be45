"""/api/v1/exams/{exam_id}/candidates and /api/v1/candidates (erasure included)"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel

from openproctor.access import proctor_scope, visible_candidate, visible_exam
from openproctor.db import utcnow
from openproctor.deps import AdminUser, Audit, Context, DbSession, Hub, StaffUser
from openproctor.domains.candidates import flows, invites, service
from openproctor.domains.candidates.models import (
    Candidate,
    CandidateAssign,
    CandidateCreate,
    CandidateInvite,
    CandidateRead,
    CandidateUpdate,
)
from openproctor.domains.users.models import Role, User
from openproctor.pagination import PageParams, send_page
from openproctor.storage import StorageError

router = APIRouter(tags=["candidates"])


class RosterLineError(BaseModel):
    line: int
    message: str


class RosterImported(BaseModel):
    created: int
    candidates: list[CandidateInvite | CandidateRead]


def _read(candidate: Candidate, user: User, public_url: str) -> CandidateRead:
    """Only admins, who hand out invitations, see the invite link."""
    read = CandidateRead.model_validate(candidate)
    if user.role is not Role.ADMIN:
        return read
    url = service.invite_url(public_url=public_url, candidate=candidate)
    return CandidateInvite(**read.model_dump(), invite_url=url)


@router.get("/exams/{exam_id}/candidates", response_model=list[CandidateInvite | CandidateRead])
def list_candidates(
    exam_id: uuid.UUID,
    db: DbSession,
    user: StaffUser,
    context: Context,
    paging: PageParams,
    request: Request,
    response: Response,
    search: Annotated[
        str | None,
        Query(max_length=200, description="A part of the name, e-mail or external id."),
    ] = None,
) -> list[CandidateRead]:
    """The exam's candidates (a proctor's: their own), in the order they were added."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    page = service.page_for_exam(
        db=db, exam_id=exam.id, page=paging, search=search, proctor_id=proctor_scope(user)
    )
    reads = [_read(candidate, user, context.settings.public_url) for candidate in page.items]
    return send_page(request, response, page, reads)


@router.post(
    "/exams/{exam_id}/candidates",
    response_model=CandidateInvite,
    status_code=status.HTTP_201_CREATED,
)
def create_candidate(
    exam_id: uuid.UUID,
    candidate_in: CandidateCreate,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> CandidateRead:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    try:
        candidate = flows.create(
            db=db,
            audit=audit,
            exam=exam,
            candidate_in=candidate_in,
            public_url=context.settings.public_url,
        )
    except service.CandidateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return _read(candidate, user, context.settings.public_url)


@router.post(
    "/exams/{exam_id}/candidates/import",
    response_model=RosterImported,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "Per-line errors; nothing was imported."}},
)
def import_roster(
    exam_id: uuid.UUID,
    roster: Annotated[str, Body(media_type="text/csv", description="CSV with a header line")],
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> RosterImported:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    result = flows.import_roster(
        db=db, audit=audit, exam=exam, text=roster, public_url=context.settings.public_url
    )
    if result.errors:
        errors = [RosterLineError(line=e.line, message=e.message) for e in result.errors]
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [error.model_dump() for error in errors],
        )
    return RosterImported(
        created=len(result.created),
        candidates=[_read(c, user, context.settings.public_url) for c in result.created],
    )


@router.get("/candidates/{candidate_id}", response_model=CandidateInvite | CandidateRead)
def get_candidate(
    candidate_id: uuid.UUID, db: DbSession, user: StaffUser, context: Context
) -> CandidateRead:
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    return _read(candidate, user, context.settings.public_url)


@router.patch("/candidates/{candidate_id}", response_model=CandidateInvite)
def update_candidate(
    candidate_id: uuid.UUID,
    candidate_in: CandidateUpdate,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    hub: Hub,
    context: Context,
) -> CandidateRead:
    """Changes the fields given: name, external id, accommodations (which replace the
    candidate's, and reach an attempt under way at once)."""
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    flows.update(db=db, audit=audit, hub=hub, candidate=candidate, candidate_in=candidate_in)
    return _read(candidate, user, context.settings.public_url)


@router.put("/candidates/{candidate_id}/proctor", response_model=CandidateInvite)
def assign_proctor(
    candidate_id: uuid.UUID,
    assignment: CandidateAssign,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    hub: Hub,
    context: Context,
) -> CandidateRead:
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    try:
        flows.assign(
            db=db, audit=audit, hub=hub, candidate=candidate, proctor_id=assignment.proctor_id
        )
    except service.CandidateError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return _read(candidate, user, context.settings.public_url)


class AutoBalanced(BaseModel):
    assigned: int


@router.post("/exams/{exam_id}/candidates/auto-assign", response_model=AutoBalanced)
def auto_assign(
    exam_id: uuid.UUID,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    hub: Hub,
    max_per_proctor: Annotated[int, Query(ge=1, le=1000)] = service.DEFAULT_MAX_PER_PROCTOR,
) -> AutoBalanced:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    try:
        assigned = flows.auto_assign(
            db=db, audit=audit, hub=hub, exam=exam, max_per_proctor=max_per_proctor
        )
    except service.CandidateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return AutoBalanced(assigned=len(assigned))


@router.delete(
    "/candidates/{candidate_id}",
    responses={
        409: {"description": "A session of this candidate is live: terminate it first."},
        503: {"description": "Storage refused; nothing was erased from the database."},
    },
)
def erase(
    candidate_id: uuid.UUID, db: DbSession, user: AdminUser, audit: Audit, context: Context
) -> dict[str, Any]:
    """Erases the candidate with their sessions, violations, messages, recordings, evidence
    and files. The audit log keeps the counts and the candidate's id, nothing personal."""
    try:
        erased = flows.erase(
            db=db, audit=audit, store=context.store, candidate_id=candidate_id, now=utcnow()
        )
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "candidate not found") from None
    except flows.ErasureRefused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except StorageError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"storage refused, nothing was erased; try again: {error}",
        ) from None
    return {"candidate_id": str(candidate_id), **erased.details()}


@router.delete(
    "/exams/{exam_id}/candidates/{candidate_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={409: {"description": "The candidate has started the exam; nothing was removed."}},
)
def remove_candidate(
    exam_id: uuid.UUID,
    candidate_id: uuid.UUID,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> Response:
    """Takes a candidate who has not started the exam off its roster. One with an attempt in
    progress or finished stays (409 says which): their attempt is kept for review; erasure
    (DELETE /candidates/{id}) deletes it on request."""
    candidate = _of_exam(db, user, exam_id, candidate_id)
    try:
        flows.remove(db=db, audit=audit, store=context.store, candidate=candidate)
    except flows.RemovalRefused as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _of_exam(db: DbSession, user: User, exam_id: uuid.UUID, candidate_id: uuid.UUID) -> Candidate:
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    if candidate.exam_id != exam_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "candidate not found in this exam")
    return candidate


@router.post(
    "/candidates/{candidate_id}/invite-link/{action}",
    response_model=CandidateInvite,
    responses={409: {"description": "The candidate is taking the exam now."}},
)
def change_link(
    candidate_id: uuid.UUID,
    action: Annotated[str, Path(pattern="^(withdraw|renew)$")],
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> CandidateRead:
    """withdraw: the link stops working (its page says it was withdrawn); renew: a new link
    replaces it (the old one's page says so). Refused while the candidate is taking the exam."""
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    try:
        flows.withdraw_link(
            db=db,
            audit=audit,
            candidate=candidate,
            renew=action == "renew",
            public_url=context.settings.public_url,
        )
    except invites.LinkRefused as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from None
    return _read(candidate, user, context.settings.public_url)


@router.get(
    "/exams/{exam_id}/candidates/invites.csv", responses={200: {"content": {"text/csv": {}}}}
)
def export_invites(
    exam_id: uuid.UUID, db: DbSession, user: AdminUser, audit: Audit, context: Context
) -> Response:
    """name, email, external_id, link for every candidate (link empty when withdrawn), UTF-8
    with a byte-order mark for Excel."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    roster = service.list_for_exam(db=db, exam_id=exam.id)
    audit("exam.invites_export", "exam", exam.id, candidates=len(roster))
    db.commit()
    return Response(
        invites.export_csv(candidates=roster, public_url=context.settings.public_url),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="exam-{exam.id}-invites.csv"'},
    )
