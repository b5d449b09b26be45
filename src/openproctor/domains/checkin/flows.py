"""Check-in effects: an enrolment photo accepted or refused, a proctor's admit / reject / retry.
Each writes the session's check-in record, is audited when a person decides, commits, then is
announced: to the candidate's page (the lobby socket listens on the session's topic) and to
the walls of the exam (which fetch the lobby again)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from openproctor.bus.local import exam_topic, session_topic
from openproctor.db import utcnow
from openproctor.domains.audit.service import Auditor
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin import service
from openproctor.domains.checkin.models import AUTO, Admission, CheckIn, IdOnRecord
from openproctor.domains.exams.models import Exam
from openproctor.domains.sessions import flows as sessions_flows
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import User

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub

REJECTED_REASON = "not admitted by the proctor"


def announce(*, hub: LiveHub, session: ExamSession, candidate: Candidate) -> None:
    """After a committed change of the check-in: the candidate's page hears its admission, the
    walls that see this candidate fetch the lobby again."""
    checkin = CheckIn.of(session.checkin)
    hub.bus.publish(
        session_topic(session.id),
        {
            "type": "admission",
            **checkin.for_candidate().model_dump(mode="json"),
            "state": session.state.value,
        },
    )
    proctor = str(candidate.proctor_id) if candidate.proctor_id else None
    hub.bus.publish(
        exam_topic(session.exam_id),
        {
            "type": "lobby",
            "session_id": str(session.id),
            "admission": checkin.admission.value if checkin.admission else None,
            "reason": checkin.reason,
            "state": session.state.value,
            "candidate_name": candidate.name,
            "proctor_id": proctor,
        },
    )


class AlreadyAdmitted(Exception):
    """A new enrolment photo of an admitted candidate that would not be admitted: refused, so
    that an admitted session cannot swap its reference face for someone else's."""


def judge_photo(
    *,
    session: ExamSession,
    exam: Exam,
    candidate: Candidate,
    embedding: tuple[float, ...],
    embedder: str,
    threshold: float,
) -> tuple[service.Verdict, float | None]:
    """The exam policy's verdict on an accepted enrolment photo, with the reference distance;
    raises AlreadyAdmitted for an admitted candidate's photo that would not be admitted."""
    verdict, measured = service.decide(
        policy=exam.parsed_policy.admission,
        reference=service.reference_of(candidate),
        embedding=embedding,
        embedder=embedder,
        threshold=threshold,
    )
    if session.state is not SessionState.CHECKING and not verdict.admit:
        raise AlreadyAdmitted("you are admitted already; this photo cannot replace your photo")
    return verdict, measured


def enrolment_accepted(
    *,
    db: Session,
    hub: LiveHub,
    session: ExamSession,
    exam: Exam,
    candidate: Candidate,
    verdict: service.Verdict,
    measured: float | None,
    embedder: str,
    threshold: float,
    photo_at: datetime,
) -> CheckIn:
    """Records the verdict (judge_photo) on the check-in: admitted moves the session to
    enrolled, otherwise it waits in the lobby (still checking). When the exam asks for an ID,
    the verdict waits for the ID check's instead (id_checked). Commits."""
    checkin = CheckIn.of(session.checkin)
    now = utcnow()
    checkin.reference_distance, checkin.threshold = measured, threshold
    checkin.embedder, checkin.photo_at = embedder, photo_at
    checkin.reason, checkin.decided_by, checkin.decided_at = verdict.reason, AUTO, now
    checkin.needs_help, checkin.failed_attempts = False, 0
    if exam.parsed_policy.id_check and session.state is SessionState.CHECKING:
        checkin.photo_admits, checkin.admission = verdict.admit, None
    elif verdict.admit:
        checkin.admission = Admission.ADMITTED
        if session.state is SessionState.CHECKING:
            sessions.move(session, SessionState.ENROLLED)
    else:
        checkin.admission = Admission.WAITING
        checkin.waiting_since = now
    session.checkin = checkin.to_json()
    db.commit()
    sessions_flows.candidate_changed(db=db, hub=hub, session=session)
    if checkin.admission is Admission.WAITING:
        announce(hub=hub, session=session, candidate=candidate)
    return checkin


def id_checked(
    *,
    db: Session,
    hub: LiveHub,
    session: ExamSession,
    exam: Exam,
    candidate: Candidate,
    record: IdOnRecord,
    reason: str,
    retry: bool,
) -> CheckIn:
    """Keeps the ID check's result on the check-in and, when it was the step awaited after the
    photo, decides: the photo's verdict and a passed ID admit (enrolled); a check the candidate
    can put right (held too far, glare) counts as a refused attempt, the exam's
    `enrol_attempts`-th in a row waiting in the lobby; anything else waits in the lobby at
    once, for a proctor. `reason` says what the ID showed, for the proctor. Commits."""
    checkin = CheckIn.of(session.checkin)
    checkin.id_document = record
    photo_admits = checkin.photo_admits
    now = utcnow()
    if session.state is SessionState.CHECKING and photo_admits is not None:
        if not record.passed and retry:
            service.after_refusal(
                checkin,
                guidance=reason,
                limit=exam.parsed_policy.enrol_attempts,
                now=now,
                what="ID photos",
            )
        else:
            photo = service.Verdict(photo_admits, checkin.reason or "")
            verdict = service.with_id(photo, id_passed=record.passed, id_reason=reason)
            checkin.reason, checkin.decided_by, checkin.decided_at = verdict.reason, AUTO, now
            checkin.photo_admits, checkin.failed_attempts = None, 0
            if verdict.admit:
                checkin.admission = Admission.ADMITTED
                sessions.move(session, SessionState.ENROLLED)
            else:
                checkin.admission, checkin.waiting_since = Admission.WAITING, now
    session.checkin = checkin.to_json()
    db.commit()
    if checkin.admission is Admission.ADMITTED and photo_admits is not None:
        sessions_flows.candidate_changed(db=db, hub=hub, session=session)
    if checkin.admission is Admission.WAITING:
        announce(hub=hub, session=session, candidate=candidate)
    return checkin


def enrolment_refused(
    *,
    db: Session,
    hub: LiveHub,
    session: ExamSession,
    exam: Exam,
    candidate: Candidate,
    guidance: str,
) -> CheckIn:
    """Counts a refused enrolment photo; the exam's `enrol_attempts`-th sends the candidate to
    the lobby and alerts the proctor. Commits."""
    checkin = CheckIn.of(session.checkin)
    checkin.photo_at = now = utcnow()
    to_lobby = service.after_refusal(
        checkin, guidance=guidance, limit=exam.parsed_policy.enrol_attempts, now=now
    )
    session.checkin = checkin.to_json()
    db.commit()
    hub.candidate_changed(candidate.id)  # the tile counts the refused photos
    if to_lobby:
        announce(hub=hub, session=session, candidate=candidate)
    return checkin


class NotWaiting(Exception):
    """A decision on a session that is not in the lobby."""


def _waiting(session: ExamSession) -> CheckIn:
    checkin = CheckIn.of(session.checkin)
    if session.state is not SessionState.CHECKING or checkin.admission is not Admission.WAITING:
        raise NotWaiting(f"this candidate is not waiting in the lobby (session {session.state})")
    return checkin


def _decided(checkin: CheckIn, admission: Admission, reason: str, user: User) -> None:
    checkin.admission, checkin.reason = admission, reason
    checkin.decided_by, checkin.decided_at = user.email, utcnow()


def admit(
    *, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession, user: User, reason: str
) -> ExamSession:
    """The proctor lets a waiting candidate in. One who never had an accepted enrolment photo
    (no face found) is checked during the exam against their reference photo, if any."""
    checkin = _waiting(session)
    candidate = db.get(Candidate, session.candidate_id)
    assert candidate is not None
    reference = service.reference_of(candidate)
    if session.enrollment is None and reference is not None:
        session.enrollment = {"embedding": reference.embedding, "embedder": reference.embedder}
    _decided(checkin, Admission.ADMITTED, reason or "admitted by the proctor", user)
    session.checkin = checkin.to_json()
    sessions.move(session, SessionState.ENROLLED)
    audit("checkin.admit", "session", session.id, reason=checkin.reason)
    db.commit()
    sessions_flows.candidate_changed(db=db, hub=hub, session=session)
    announce(hub=hub, session=session, candidate=candidate)
    return session


def reject(
    *, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession, user: User, reason: str
) -> ExamSession:
    """The proctor turns a waiting candidate away: the session ends with the reason."""
    checkin = _waiting(session)
    candidate = db.get(Candidate, session.candidate_id)
    assert candidate is not None
    _decided(checkin, Admission.REJECTED, reason or REJECTED_REASON, user)
    session.checkin = checkin.to_json()
    audit("checkin.reject", "session", session.id, reason=checkin.reason)
    sessions_flows.terminate(
        db=db, audit=audit, hub=hub, session=session, reason=f"not admitted: {checkin.reason}"
    )
    announce(hub=hub, session=session, candidate=candidate)
    return session


def retry(
    *, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession, user: User, reason: str
) -> ExamSession:
    """The proctor asks a waiting candidate for a new enrolment photo: the count of refused
    photos starts again."""
    checkin = _waiting(session)
    candidate = db.get(Candidate, session.candidate_id)
    assert candidate is not None
    _decided(checkin, Admission.RETRY, reason or "please take your photo again", user)
    checkin.failed_attempts, checkin.waiting_since, checkin.needs_help = 0, None, False
    session.checkin = checkin.to_json()
    audit("checkin.retry", "session", session.id, reason=checkin.reason)
    db.commit()
    hub.candidate_changed(candidate.id)  # back to taking their photo
    announce(hub=hub, session=session, candidate=candidate)
    return session
