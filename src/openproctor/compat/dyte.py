"""The Dyte proctoring tutorial's routes (the seed project), on OpenProctor's data.

    POST /detect_faces/         {base64_img, participant_id, meeting_id, participant_name}
                                -> {id, multiple_detected, url}
    POST /multiple_faces_list/  {meeting_id, admin_id} -> [[ts, meeting_id, participant_id,
                                img_url, verdict], ...] newest first
    POST /is_admin/             {meeting_id, admin_id} -> {admin: bool}

meeting_id is an exam (its integration meeting id, or the exam id); participant_id is a
candidate's external_id in that exam. /detect_faces/ takes an API token with the `detect`
scope as `Authorization: Bearer ...`: it is the participants' client (in the tutorial, every
participant's browser), so it only submits images and learns about its own image. Reading the
list is the tutorial's admin dashboard: its admin_id (or bearer token) needs
`violations:read`, and /is_admin/ answers whether a token may read it. Faces are counted by
the server's own detector in the analysis pool; evidence is kept in our storage and served by
us at a signed, expiring URL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import time
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.compat.analysis import analyse_image
from openproctor.context import AppContext
from openproctor.db import transaction, utcnow
from openproctor.deps import AnalysisDep, BearerCredentials, Context, DbSession, checked_token
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.integrations import service as integrations
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.objects.service import IMAGE_TYPES, file_response
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.tokens import service as api_tokens
from openproctor.domains.tokens.models import ApiToken
from openproctor.domains.tokens.scopes import Scope
from openproctor.domains.violations.models import Violation
from openproctor.domains.webhooks import service as webhooks
from openproctor.domains.webhooks.models import WebhookEvent
from openproctor.pipeline import images

router = APIRouter(tags=["detection"])

DEDUPE_WINDOW = timedelta(minutes=10)
URL_LIFETIME_S = 24 * 3600
MAX_IMAGE_BYTES = 4 * 1024 * 1024
SOURCE = "detect_faces"


class ParticipantScreen(BaseModel):
    model_config = ConfigDict(extra="ignore")

    base64_img: str = Field(
        min_length=4,
        max_length=MAX_IMAGE_BYTES * 4 // 3 + 100,
        description="A PNG or JPEG, base64, optionally as a data: URL (canvas.toDataURL()).",
    )
    participant_id: str = Field(min_length=1, max_length=200)
    meeting_id: str = Field(min_length=1, max_length=200)
    participant_name: str = Field(default="", max_length=200)


class DetectResult(BaseModel):
    id: str = Field(description="The participant_id, as the tutorial answers.")
    multiple_detected: bool
    url: str | None = Field(description="The evidence image (signed, expiring), when multiple.")
    faces: int
    violation_id: uuid.UUID | None = None


class AdminProp(BaseModel):
    model_config = ConfigDict(extra="ignore")

    meeting_id: str = Field(min_length=1, max_length=200)
    admin_id: str = Field(default="", max_length=200)


class AdminAnswer(BaseModel):
    admin: bool


def _image(encoded: str) -> tuple[bytes, str, str]:
    data = encoded.split(",", 1)[1] if encoded.startswith("data:") else encoded
    try:
        image = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "base64_img is not valid base64"
        ) from None
    for magic, (content_type, extension) in IMAGE_TYPES.items():
        if image.startswith(magic):
            return image, content_type, extension
    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "base64_img is not a PNG or JPEG")


def _exam(db: Session, meeting_id: str) -> Exam:
    exam = integrations.exam_for_meeting(db=db, meeting_id=meeting_id)
    if exam is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no exam has meeting_id {meeting_id!r}")
    return exam


def detect_token(request: Request, db: DbSession, bearer: BearerCredentials) -> ApiToken:
    if bearer is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "send an API token with the detect scope as Authorization: Bearer ...",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return checked_token(request, db, bearer.credentials, Scope.DETECT)


DetectToken = Annotated[ApiToken, Depends(detect_token)]


def evidence_signature(secret: str, object_id: uuid.UUID, expires: int) -> str:
    message = f"{object_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def evidence_url(context: AppContext, object_id: uuid.UUID) -> str:
    expires = int(time.time()) + URL_LIFETIME_S
    signature = evidence_signature(context.settings.secret_key, object_id, expires)
    base = context.settings.public_url.rstrip("/")
    return f"{base}/detect_faces/evidence/{object_id}?expires={expires}&signature={signature}"


def _candidate(db: Session, exam: Exam, screen: ParticipantScreen, token: ApiToken) -> Candidate:
    """The exam's candidate with this external id, added on first sight if the token may."""
    candidate = db.scalar(
        select(Candidate).where(
            Candidate.exam_id == exam.id, Candidate.external_id == screen.participant_id
        )
    )
    if candidate is not None:
        return candidate
    if Scope.CANDIDATES_WRITE.value not in token.scopes:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"participant {screen.participant_id!r} is not a candidate of this exam; "
            "an API token with the scope candidates:write adds them on first sight",
        )
    digest = hashlib.sha256(screen.participant_id.encode()).hexdigest()[:24]
    candidate = Candidate(
        exam_id=exam.id,
        name=screen.participant_name.strip() or screen.participant_id,
        email=f"participant-{digest}@participants.invalid",
        external_id=screen.participant_id,
    )
    db.add(candidate)
    db.flush()
    return candidate


def _recent(db: Session, session: ExamSession) -> tuple[Violation, uuid.UUID | None] | None:
    cutoff = utcnow() - DEDUPE_WINDOW
    violation = db.scalar(
        select(Violation)
        .where(
            Violation.session_id == session.id,
            Violation.kind == ViolationKind.MULTIPLE_FACES,
            Violation.started_at >= cutoff,
        )
        .order_by(Violation.started_at.desc())
        .limit(1)
    )
    if violation is None:
        return None
    evidence = db.scalar(
        select(StoredObject.id).where(
            StoredObject.violation_id == violation.id,
            StoredObject.purpose == ObjectPurpose.EVIDENCE,
        )
    )
    return violation, evidence


def _record(
    context: AppContext,
    screen: ParticipantScreen,
    token_id: uuid.UUID,
    image: bytes,
    content_type: str,
    extension: str,
    faces: int,
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """Finds or adds the candidate; with several faces, the violation of the last ten
    minutes or a new one with the image as evidence. Returns (violation id, evidence id)."""
    with transaction(context.session_factory) as db:
        token = db.get(ApiToken, token_id)
        assert token is not None
        exam = _exam(db, screen.meeting_id)
        candidate = _candidate(db, exam, screen, token)
        session = sessions.current_for_candidate(db=db, candidate=candidate)
        if faces < 2:
            return None, None
        recent = _recent(db, session)
        if recent is not None:
            return recent[0].id, recent[1]
        rule = exam.parsed_policy.rules[ViolationKind.MULTIPLE_FACES]
        now = utcnow()
        violation = Violation(
            id=uuid.uuid4(),
            session_id=session.id,
            kind=ViolationKind.MULTIPLE_FACES,
            severity=rule.severity,
            started_at=now,
            ended_at=now,
            score=rule.weight,
            details={"source": SOURCE, "faces": faces, "participant_name": screen.participant_name},
        )
        db.add(violation)
        db.flush()
        key = f"sessions/{session.id}/evidence/{violation.id}-detect.{extension}"
        blob = context.store.put(key, image, content_type)
        evidence = StoredObject(
            id=uuid.uuid4(),
            purpose=ObjectPurpose.EVIDENCE,
            storage_key=blob.key,
            content_type=blob.content_type,
            size_bytes=blob.size_bytes,
            sha256=blob.sha256,
            session_id=session.id,
            violation_id=violation.id,
        )
        db.add(evidence)
        webhooks.enqueue(
            db=db,
            event_type=WebhookEvent.VIOLATION_OPENED,
            exam_id=exam.id,
            data=_violation_data(violation, candidate, faces),
        )
        return violation.id, evidence.id


def _violation_data(violation: Violation, candidate: Candidate, faces: int) -> dict[str, Any]:
    return {
        "id": str(violation.id),
        "session_id": str(violation.session_id),
        "candidate_id": str(candidate.id),
        "candidate_external_id": candidate.external_id,
        "kind": violation.kind.value,
        "severity": violation.severity.value,
        "started_at": violation.started_at.isoformat(),
        "ended_at": violation.ended_at.isoformat() if violation.ended_at else None,
        "score": violation.score,
        "details": {"source": SOURCE, "faces": faces},
    }


@router.post("/detect_faces/", response_model=DetectResult)
async def detect_faces(
    screen: ParticipantScreen, token: DetectToken, context: Context, analysis: AnalysisDep
) -> DetectResult:
    """Counts the faces in one webcam image; several faces open a multiple_faces violation
    (the same one again within ten minutes) with the image as evidence."""
    image, content_type, extension = _image(screen.base64_img)
    if len(image) > MAX_IMAGE_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the image is too large")
    try:
        images.check(image, images.STILL_LIMIT)
    except images.ImageRefused as error:
        raise HTTPException(error.status_code, f"base64_img: {error}") from None
    with context.session_factory() as db:
        _exam(db, screen.meeting_id)  # an unknown meeting is refused before any analysis
    if analysis is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "face detection is off on this server"
        )
    outcome = await analyse_image(analysis, image)
    faces = outcome.faces
    violation_id, evidence_id = await asyncio.to_thread(
        _record, context, screen, token.id, image, content_type, extension, faces
    )
    return DetectResult(
        id=screen.participant_id,
        multiple_detected=faces > 1,
        url=evidence_url(context, evidence_id) if evidence_id else None,
        faces=faces,
        violation_id=violation_id,
    )


# The dashboard reads every multiple_faces violation of an exam: what violations:read allows
# on the REST API, and more than a detect client (held by participants) may see.
ADMIN_SCOPE = Scope.VIOLATIONS_READ


def _admin_token(
    request: Request, db: Session, bearer: BearerCredentials, admin_id: str
) -> ApiToken:
    value = bearer.credentials if bearer is not None else admin_id
    if not value:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"admin_id (an API token with the {ADMIN_SCOPE.value} scope) is missing",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return checked_token(request, db, value, ADMIN_SCOPE)


@router.post("/multiple_faces_list/", response_model=list[list[Any]])
def multiple_faces_list(
    body: AdminProp,
    request: Request,
    db: DbSession,
    bearer: BearerCredentials,
    context: Context,
) -> list[list[Any]]:
    """Every multiple_faces violation of the exam, newest first, as the tutorial's rows:
    [timestamp, meeting_id, participant_id, image URL, verdict]."""
    _admin_token(request, db, bearer, body.admin_id)
    exam = _exam(db, body.meeting_id)
    rows = db.execute(
        select(Violation, Candidate)
        .join(ExamSession, Violation.session_id == ExamSession.id)
        .join(Candidate, ExamSession.candidate_id == Candidate.id)
        .where(ExamSession.exam_id == exam.id, Violation.kind == ViolationKind.MULTIPLE_FACES)
        .order_by(Violation.started_at.desc())
    ).all()
    evidence: dict[uuid.UUID | None, uuid.UUID] = {
        row.violation_id: row.id
        for row in db.execute(
            select(StoredObject.violation_id, StoredObject.id).where(
                StoredObject.violation_id.in_([violation.id for violation, _ in rows]),
                StoredObject.purpose == ObjectPurpose.EVIDENCE,
            )
        )
    }
    answer = []
    for violation, candidate in rows:
        participant = candidate.external_id or str(candidate.id)
        object_id = evidence.get(violation.id)
        answer.append(
            [
                violation.started_at.isoformat(),
                body.meeting_id,
                participant,
                evidence_url(context, object_id) if object_id else None,
                f'Detected more than one face for participant "{candidate.name}" '
                f"and participant_id {participant}",
            ]
        )
    return answer


@router.post("/is_admin/", response_model=AdminAnswer)
def is_admin(body: AdminProp, db: DbSession) -> AdminAnswer:
    """Whether admin_id is an active API token that may read the list, for an existing exam."""
    token = api_tokens.authenticate(db=db, token=body.admin_id) if body.admin_id else None
    if token is None or ADMIN_SCOPE.value not in token.scopes:
        return AdminAnswer(admin=False)
    return AdminAnswer(
        admin=integrations.exam_for_meeting(db=db, meeting_id=body.meeting_id) is not None
    )


@router.get(
    "/detect_faces/evidence/{object_id}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}},
)
def detect_evidence(
    object_id: uuid.UUID,
    db: DbSession,
    context: Context,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query(max_length=64)],
) -> Response:
    """An evidence image behind a signed link that expires (for <img src> in a dashboard)."""
    expected = evidence_signature(context.settings.secret_key, object_id, expires)
    if expires < time.time() or not hmac.compare_digest(expected, signature):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this link is not valid or has expired")
    stored = db.get(StoredObject, object_id)
    if stored is None or stored.purpose is not ObjectPurpose.EVIDENCE:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "evidence not found")
    return file_response(context.store, stored)
