"""The ID document check on the web node: who may submit, where the image is kept, and the
decision from the worker's findings (pipeline/id_documents.py) and the roster name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from fastapi import HTTPException, status

from openproctor.access import invited_candidate, own_session, practising_candidate
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.domains.checkin import flows as checkin_flows
from openproctor.domains.checkin.models import Admission, CheckIn, IdOnRecord
from openproctor.domains.iddoc.models import (
    IdCheckRead,
    IdPracticeRead,
    NameWordRead,
    TextLineRead,
)
from openproctor.domains.iddoc.names import match_name
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import SessionState
from openproctor.pipeline import images
from openproctor.pipeline.jobs import IdDocumentOutcome

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub

# A phone photo of a card, or a webcam frame; the page scales larger photos down first.
ID_IMAGE_MAX_BYTES = 4 * 1024 * 1024
ID_IMAGE_LIMIT = images.STILL_LIMIT
CONTENT_TYPES = {images.PNG_SIGNATURE: "image/png", images.JPEG_START: "image/jpeg"}
# A portrait narrower than this is too small to judge: on generated cards held to a 640x480
# webcam, 74-px portraits of the same person were all within 0.44 of the enrolment, 56-px ones
# (held further, blurred) up to 0.58; a mismatch that small asks the candidate to come closer.
MIN_PORTRAIT_PX = 64
# The session states in which a document may be shown: check-in, before the exam starts.
CHECK_IN_STATES = (SessionState.CHECKING, SessionState.ENROLLED)


@dataclass(frozen=True, slots=True)
class Submitter:
    roster_name: str
    reference: tuple[float, ...] | None
    reference_embedder: str | None


def id_document_key(session_id: uuid.UUID, document_id: uuid.UUID, content_type: str) -> str:
    extension = "png" if content_type == "image/png" else "jpg"
    return f"sessions/{session_id}/id-documents/{document_id}.{extension}"


def content_type_of(image: bytes) -> str:
    """The image's type from its first bytes, after checking its declared size; raises
    HTTPException with what to send instead."""
    if len(image) > ID_IMAGE_MAX_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the ID photo may be at most {ID_IMAGE_MAX_BYTES // (1024 * 1024)} MiB",
        )
    try:
        images.check(image, ID_IMAGE_LIMIT)
    except images.ImageRefused as error:
        raise HTTPException(error.status_code, f"send a JPEG or PNG photo: {error}") from None
    return next(kind for start, kind in CONTENT_TYPES.items() if image.startswith(start))


def submitter(context: AppContext, token: str, session_id: uuid.UUID) -> Submitter:
    """The roster name and enrolment of the candidate holding this invite; refuses when the
    exam does not ask for an ID or check-in is over."""
    with context.session_factory() as db:
        candidate, exam = invited_candidate(db=db, token=token, now=utcnow())
        session = own_session(db=db, candidate=candidate, session_id=session_id)
        if not exam.parsed_policy.id_check:
            raise HTTPException(status.HTTP_409_CONFLICT, "this exam does not ask for an ID")
        if session.state not in CHECK_IN_STATES:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"check-in is over: the session is {session.state}"
            )
        if CheckIn.of(session.checkin).admission is Admission.WAITING:
            raise HTTPException(status.HTTP_409_CONFLICT, "a proctor will admit you shortly")
        enrolment = session.enrollment if isinstance(session.enrollment, dict) else {}
        embedding = enrolment.get("embedding")
        return Submitter(
            roster_name=candidate.name,
            reference=tuple(embedding) if embedding else None,
            reference_embedder=enrolment.get("embedder"),
        )


def store_document(
    context: AppContext, session_id: uuid.UUID, image: bytes, content_type: str
) -> uuid.UUID:
    """Keeps the image as evidence (ObjectPurpose.ID_DOCUMENT, id_retention_days); every
    attempt is kept, so the proctor sees what was shown."""
    document_id = uuid.uuid4()
    blob = context.store.put(
        id_document_key(session_id, document_id, content_type), image, content_type
    )
    with context.session_factory() as db:
        db.add(
            StoredObject.of(blob, ObjectPurpose.ID_DOCUMENT, id=document_id, session_id=session_id)
        )
        db.commit()
    return document_id


def _guidance(
    outcome: IdDocumentOutcome, face_matched: bool | None, name_matched: bool
) -> tuple[str, bool]:
    """What to tell the candidate, and whether another picture could put it right (False:
    passed, or only a proctor can decide)."""
    if not outcome.decoded:
        return "The photo could not be read. Please try again.", True
    if not outcome.lines:
        return (
            "We cannot read any text. Hold the ID closer to the camera, flat and in the light.",
            True,
        )
    if outcome.document_face is None:
        return "We cannot see the photo on your ID. Show the side with your photo, closer.", True
    if face_matched is False:
        x1, _, x2, _ = outcome.document_face
        if x2 - x1 < MIN_PORTRAIT_PX:
            return (
                "The photo on your ID is too small to compare. Hold the ID closer, in focus.",
                True,
            )
        return "The photo on the ID does not look like you. A proctor will check it.", False
    if not name_matched:
        return "We cannot read your name on the ID. Hold it closer, without glare.", True
    if face_matched is None:
        return "Your ID was read. A proctor will compare its photo with you.", False
    return "Thank you, your ID was checked.", False


def staff_reason(result: IdCheckRead) -> str:
    """What the ID showed, in a line for the proctor (the candidate sees `guidance`)."""
    if result.distance is None:
        face = "no portrait found on the ID" if not result.face_found else "no face to compare"
    else:
        relation = "≤" if result.face_matched else ">"
        verb = "matches" if result.face_matched else "does not match"
        face = (
            f"the ID's photo {verb} the live face "
            f"({result.distance:.2f} {relation} {result.max_distance:.2f})"
        )
    name = "the name is on it" if result.name_matched else "the roster name was not found"
    return f"{face}, {name}"


def record_result(
    context: AppContext, hub: LiveHub, token: str, session_id: uuid.UUID, result: IdCheckRead
) -> None:
    """Keeps the result on the session's check-in record, where the lobby shows it, and lets
    check-in decide the admission with it (checkin.flows.id_checked)."""
    record = IdOnRecord(
        image_url=f"/api/v1/evidence/{result.document_id}",
        checked_at=result.checked_at,
        passed=result.passed,
        face_found=result.face_found,
        face_matched=result.face_matched,
        distance=result.distance,
        compared_with=result.compared_with,
        max_distance=result.max_distance,
        name_matched=result.name_matched,
        name_lines=result.name_lines,
        lines=[line.text for line in result.lines],
        guidance=result.guidance,
    )
    with context.session_factory() as db:
        candidate, exam = invited_candidate(db=db, token=token, now=utcnow())
        session = own_session(db=db, candidate=candidate, session_id=session_id)
        checkin_flows.id_checked(
            db=db,
            hub=hub,
            session=session,
            exam=exam,
            candidate=candidate,
            record=record,
            reason=staff_reason(result),
            retry=result.retry,
        )


def _deciding_distance(
    outcome: IdDocumentOutcome,
) -> tuple[Literal["enrolment", "frame"] | None, float | None]:
    """The portrait's distance that decides: to the enrolment if there is one, else to the
    face holding the document in the same picture."""
    if outcome.distance_enrolment is not None:
        return "enrolment", outcome.distance_enrolment
    if outcome.distance_frame is not None:
        return "frame", outcome.distance_frame
    return None, None


def practice_submitter(context: AppContext, token: str) -> tuple[uuid.UUID, str]:
    """The practising candidate's id and roster name; refuses when the exam asks for no ID."""
    with context.session_factory() as db:
        candidate, exam = practising_candidate(db=db, token=token, now=utcnow())
        if not exam.parsed_policy.id_check:
            raise HTTPException(status.HTTP_409_CONFLICT, "this exam does not ask for an ID")
        return candidate.id, candidate.name


def practice_verdict(outcome: IdDocumentOutcome, roster_name: str) -> IdPracticeRead:
    """Would this ID be read in the exam: its portrait found (and, with a face holding it in
    the picture, like that face: nothing is enrolled in practice) and the roster name on it."""
    name = match_name(roster_name, [line.text for line in outcome.lines])
    _, distance = _deciding_distance(outcome)
    face_matched = None if distance is None else distance <= outcome.max_distance
    passed = outcome.document_face is not None and face_matched is not False and name.matched
    if passed:
        return IdPracticeRead(
            passed=True, guidance="Your ID can be read: we found your name and your photo on it."
        )
    guidance, _ = _guidance(outcome, face_matched, name.matched)
    return IdPracticeRead(passed=False, guidance=guidance)


def decide(
    outcome: IdDocumentOutcome,
    roster_name: str,
    *,
    document_id: uuid.UUID,
    checked_at: datetime,
    timings_ms: dict[str, float],
) -> IdCheckRead:
    """The typed result: the portrait matches when the deciding distance is at most the
    identity threshold (the one live identity checks use); the name by names.match_name."""
    name = match_name(roster_name, [line.text for line in outcome.lines])
    compared_with, distance = _deciding_distance(outcome)
    face_matched = None if distance is None else distance <= outcome.max_distance
    guidance, retry = _guidance(outcome, face_matched, name.matched)
    return IdCheckRead(
        document_id=document_id,
        checked_at=checked_at,
        decoded=outcome.decoded,
        lines=[
            TextLineRead(text=line.text, score=line.score, box=line.box) for line in outcome.lines
        ],
        face_found=outcome.document_face is not None,
        face_matched=face_matched,
        distance=distance,
        compared_with=compared_with,
        distance_enrolment=outcome.distance_enrolment,
        distance_frame=outcome.distance_frame,
        max_distance=outcome.max_distance,
        name_matched=name.matched,
        name_score=round(name.score, 3),
        name_words=[
            NameWordRead(word=word, similarity=round(similarity, 3), line=line)
            for word, similarity, line in name.words
        ],
        name_lines=[outcome.lines[index].text for index in name.lines],
        passed=bool(face_matched) and name.matched,
        guidance=guidance,
        retry=retry,
        timings_ms={**outcome.timings_ms, **timings_ms},
    )
