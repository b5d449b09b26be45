"""/api/v1/take/{token}: what a candidate's browser calls, authorised by the invite token."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.access import invited_candidate, own_session, practising_candidate
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.deps import AnalysisDep, Context, DbSession, Hub
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin import flows as checkin_flows
from openproctor.domains.checkin.models import Admission, CandidateCheckIn, CheckIn
from openproctor.domains.exams import questions as exam_questions
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.questions import Answer, CandidateQuestion
from openproctor.domains.integrations import service as integrations
from openproctor.domains.lti import proctoring as lti_proctoring
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions import flows, service
from openproctor.domains.sessions.clock import Clock, ClockRead
from openproctor.domains.sessions.consent import Consent, consent_of
from openproctor.domains.sessions.models import (
    ExamSession,
    IllegalTransition,
    SessionRead,
    SessionState,
)
from openproctor.domains.sessions.photos import judge_webcam_photo
from openproctor.live.hub import LiveHub
from openproctor.live.identity import enrolment_key
from openproctor.pipeline import images
from openproctor.pipeline.jobs import EnrolOutcome

# What a candidate may do to their own session; pausing and ending it is the proctor's.
CANDIDATE_STEPS = frozenset(
    {
        (SessionState.INVITED, SessionState.CHECKING),
        (SessionState.ENROLLED, SessionState.RUNNING),
    }
)
BANDWIDTH_PROBE_MAX_BYTES = 1024 * 1024


class CandidatePolicy(BaseModel):
    frames_per_second: float
    frame_width: int
    frame_height: int
    require_fullscreen: bool
    record_webcam: bool
    record_screen: bool
    room_scan: bool


class CandidateExam(BaseModel):
    instructions: str
    duration_minutes: int
    questions: list[CandidateQuestion]
    external_url: str | None
    policy: CandidatePolicy


class CandidateView(BaseModel):
    candidate_id: uuid.UUID
    candidate_name: str
    exam_id: uuid.UUID
    exam_title: str
    exam: CandidateExam
    session: SessionRead
    clock: ClockRead
    answers: dict[str, Answer]
    consent: ConsentRead
    checkin: CandidateCheckIn
    return_url: str | None = None
    # An attempt a learning platform proctors through us (LTI Proctoring Services): the page
    # that hands the admitted candidate back to the platform's assessment.
    lti_assessment_url: str | None = None


class StateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: SessionState
    consent_sha256: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "Going to checking: the SHA-256 of the consent text the candidate read (the view's "
            "consent.sha256); a different one (the rules changed since) is refused with 409. "
            "Left out: the candidate agrees to the current text."
        ),
    )


class ConsentRead(BaseModel):
    version: int
    lines: list[str]
    sha256: str


class Answers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Answer] = Field(max_length=500)


class BandwidthProbe(BaseModel):
    bytes: int


router = APIRouter(prefix="/take/{token}", tags=["candidate"])


def _view(exam: Exam, session: ExamSession, candidate: Candidate) -> CandidateView:
    policy = exam.parsed_policy
    return CandidateView(
        candidate_id=session.candidate_id,
        candidate_name=candidate.name,
        exam_id=exam.id,
        exam_title=exam.title,
        exam=CandidateExam(
            instructions=exam.instructions,
            duration_minutes=exam.duration_minutes,
            questions=exam_questions.as_candidate_sees(
                exam.parsed_questions,
                seed=str(candidate.id),
                shuffle_questions=exam.shuffle_questions,
                shuffle_choices=exam.shuffle_choices,
            ),
            external_url=exam.external_url,
            policy=CandidatePolicy.model_validate(policy.model_dump()),
        ),
        session=SessionRead.model_validate(session),
        clock=Clock.of(session, exam, candidate).read(utcnow()),
        answers=session.answers,
        consent=_consent_read(consent_of(exam, session)),
        checkin=CheckIn.of(session.checkin).for_candidate(),
    )


def _consent_read(consent: Consent) -> ConsentRead:
    return ConsentRead(version=consent.version, lines=list(consent.lines), sha256=consent.sha256)


@router.get("", response_model=CandidateView)
def candidate_view(token: str, db: DbSession) -> CandidateView:
    candidate, exam = invited_candidate(db=db, token=token, now=utcnow())
    session = service.current_for_candidate(db=db, candidate=candidate)
    db.commit()
    view = _view(exam, session, candidate)
    # An external exam's system may want the candidate back when it is over.
    view.return_url = integrations.return_url_for(db=db, exam_id=exam.id)
    if lti_proctoring.attempt_for_candidate(db=db, candidate=candidate) is not None:
        view.lti_assessment_url = f"/lti/assessment/{token}"
    return view


def _own(db: Session, token: str, session_id: uuid.UUID) -> tuple[ExamSession, Exam]:
    candidate, exam = invited_candidate(db=db, token=token, now=utcnow())
    return own_session(db=db, candidate=candidate, session_id=session_id), exam


@router.post("/sessions/{session_id}/state", response_model=SessionRead)
def candidate_step(
    token: str, session_id: uuid.UUID, change: StateChange, db: DbSession, hub: Hub
) -> SessionRead:
    session, exam = _own(db, token, session_id)
    if (session.state, change.state) not in CANDIDATE_STEPS:
        raise IllegalTransition(session.state, change.state)
    if change.state is SessionState.CHECKING:
        consent = consent_of(exam, session)
        if change.consent_sha256 not in (None, consent.sha256):
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "the exam's rules changed since this page was opened: reload it and read them",
            )
        service.record_consent(session, consent, at=utcnow())
    service.move(session, change.state)
    db.commit()
    flows.candidate_changed(db=db, hub=hub, session=session)
    return SessionRead.model_validate(session)


def _while_running(
    db: DbSession, hub: LiveHub, session: ExamSession, exam: Exam, change: Callable[[], None]
) -> None:
    """Applies an answers change while the attempt's time lasts; once it is up, the saved
    answers were submitted (auto-submit) and the change is refused with 409."""
    try:
        if service.expire_if_over(db=db, session=session, now=utcnow()):
            raise service.AnswersRefused("time is up: the exam was submitted with saved answers")
        change()
    except service.AnswersRefused as error:
        db.commit()
        flows.candidate_changed(db=db, hub=hub, session=session)
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    db.commit()


@router.put("/sessions/{session_id}/answers", response_model=Answers)
def save_answers(
    token: str, session_id: uuid.UUID, body: Answers, db: DbSession, hub: Hub
) -> Answers:
    session, exam = _own(db, token, session_id)
    _while_running(
        db,
        hub,
        session,
        exam,
        lambda: service.save_answers(session=session, exam=exam, answers=body.answers),
    )
    return Answers(answers=session.answers)


@router.post("/sessions/{session_id}/submit", response_model=SessionRead)
def submit(
    token: str, session_id: uuid.UUID, body: Answers, db: DbSession, hub: Hub
) -> SessionRead:
    session, exam = _own(db, token, session_id)
    _while_running(
        db,
        hub,
        session,
        exam,
        lambda: service.submit(session=session, exam=exam, answers=body.answers),
    )
    flows.candidate_changed(db=db, hub=hub, session=session)
    return SessionRead.model_validate(session)


def _enrol_target(context: AppContext, token: str, session_id: uuid.UUID) -> images.ImageSize:
    """Refuses enrolment once it is over, or while the candidate waits for a proctor; returns
    the largest photo the exam takes: its frame size, which the page captures at."""
    with context.session_factory() as db:
        session, exam = _own(db, token, session_id)
        if session.state not in (SessionState.CHECKING, SessionState.ENROLLED):
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"enrolment is over: the session is {session.state}"
            )
        if CheckIn.of(session.checkin).admission is Admission.WAITING:
            raise HTTPException(status.HTTP_409_CONFLICT, "a proctor will admit you shortly")
        policy = exam.parsed_policy
        return images.ImageSize(policy.frame_width, policy.frame_height)


def _keep_photo(context: AppContext, db: Session, session: ExamSession, photo: bytes) -> None:
    """Stores the enrolment photo (the live face the lobby and reviewers see)."""
    blob = context.store.put(enrolment_key(session.id), photo, "image/jpeg")
    existing = db.scalar(select(StoredObject).where(StoredObject.storage_key == blob.key))
    if existing is None:
        db.add(StoredObject.of(blob, ObjectPurpose.ENROLMENT, session_id=session.id))
    else:
        existing.size_bytes, existing.sha256 = blob.size_bytes, blob.sha256


def _save_enrolment(
    context: AppContext,
    hub: LiveHub,
    token: str,
    session_id: uuid.UUID,
    photo: bytes,
    outcome: EnrolOutcome,
    received_at: datetime,
) -> ExamSession:
    """Decides the admission (checkin), then keeps the accepted photo and its embedding;
    raises AlreadyAdmitted (nothing kept) for an admitted candidate's photo that would not be
    admitted."""
    threshold = context.settings.detectors.identity.max_distance
    with context.session_factory() as db:
        session, exam = _own(db, token, session_id)
        candidate = _candidate_of(db, session)
        verdict, measured = checkin_flows.judge_photo(
            session=session,
            exam=exam,
            candidate=candidate,
            embedding=outcome.embedding,
            embedder=outcome.embedder,
            threshold=threshold,
        )
        _keep_photo(context, db, session, photo)
        session.enrollment = {
            "embedding": list(outcome.embedding),
            "baseline": list(outcome.baseline),
            "embedder": outcome.embedder,
        }
        checkin_flows.enrolment_accepted(
            db=db,
            hub=hub,
            session=session,
            exam=exam,
            candidate=candidate,
            verdict=verdict,
            measured=measured,
            embedder=outcome.embedder,
            threshold=threshold,
            photo_at=received_at,
        )
        return session


def _refused(
    context: AppContext,
    hub: LiveHub,
    token: str,
    session_id: uuid.UUID,
    photo: bytes,
    guidance: str,
) -> SessionRead | None:
    """Counts the refused photo; returns the session when this one sends the candidate to the
    lobby (that photo is kept for the proctor to see), else None."""
    with context.session_factory() as db:
        session, exam = _own(db, token, session_id)
        if session.state is not SessionState.CHECKING:
            return None  # enrolled already: a new photo is optional
        if CheckIn.of(session.checkin).failed_attempts + 1 >= exam.parsed_policy.enrol_attempts:
            _keep_photo(context, db, session, photo)
        checkin = checkin_flows.enrolment_refused(
            db=db,
            hub=hub,
            session=session,
            exam=exam,
            candidate=_candidate_of(db, session),
            guidance=guidance,
        )
        return (
            SessionRead.model_validate(session) if checkin.admission is Admission.WAITING else None
        )


def _candidate_of(db: Session, session: ExamSession) -> Candidate:
    candidate = db.get(Candidate, session.candidate_id)
    assert candidate is not None, "a session's candidate is deleted with it"
    return candidate


@router.post(
    "/sessions/{session_id}/enrol",
    response_model=SessionRead,
    responses={
        409: {"description": "Enrolment is over, or the candidate waits for a proctor."},
        413: {"description": "The photo declares more pixels than the exam's frame size."},
        422: {"description": "The photo cannot be enrolled; detail says what to do."},
    },
)
async def enrol(
    token: str,
    session_id: uuid.UUID,
    request: Request,
    context: Context,
    hub: Hub,
    analysis: AnalysisDep,
) -> SessionRead:
    """Body: one JPEG from the webcam. Checks it shows exactly one well-lit, frontal face,
    keeps its identity embedding and pose, compares it with the candidate's reference photo
    and applies the exam's admission policy: the session moves to enrolled, or stays checking
    while the candidate waits in the lobby (the view's `checkin` says which). After the exam's
    `enrol_attempts` refused photos the candidate waits in the lobby too (answered 200)."""
    limit = await asyncio.to_thread(_enrol_target, context, token, session_id)
    photo = await request.body()
    received_at = utcnow()
    outcome = await judge_webcam_photo(photo, limit=limit, analysis=analysis, key=str(session_id))
    if not outcome.ok:
        in_lobby = await asyncio.to_thread(
            _refused, context, hub, token, session_id, photo, outcome.guidance
        )
        if in_lobby is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, outcome.guidance)
        return in_lobby
    try:
        session = await asyncio.to_thread(
            _save_enrolment, context, hub, token, session_id, photo, outcome, received_at
        )
    except checkin_flows.AlreadyAdmitted as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return SessionRead.model_validate(session)


@router.post("/bandwidth", response_model=BandwidthProbe)
async def bandwidth(token: str, request: Request, db: DbSession) -> BandwidthProbe:
    """Swallows an upload so the system check (also the practice one) can time it."""
    practising_candidate(db=db, token=token, now=utcnow())
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > BANDWIDTH_PROBE_MAX_BYTES:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"the probe may be at most {BANDWIDTH_PROBE_MAX_BYTES} bytes",
            )
    return BandwidthProbe(bytes=received)
