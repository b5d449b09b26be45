"""Candidates at every stage of an exam, written as the flows would leave them, for the wall's
browser tests and its screenshot (the wall draws them from the database like any tile)."""

from __future__ import annotations

from datetime import UTC, datetime

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin.models import Admission, CheckIn
from openproctor.domains.exams.models import Exam
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import User
from openproctor.live.tile import Stage
from tests.conftest import Factory

# The session states that lead to each stage, and the check-in record it has there.
_PATH = {
    Stage.INVITED: (),
    Stage.CHECKING: (SessionState.CHECKING,),
    Stage.ENROLLING: (SessionState.CHECKING,),
    Stage.WAITING: (SessionState.CHECKING,),
    Stage.STUCK: (SessionState.CHECKING,),
    Stage.ADMITTED: (SessionState.CHECKING, SessionState.ENROLLED),
    Stage.RUNNING: (SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING),
    Stage.PAUSED: (
        SessionState.CHECKING,
        SessionState.ENROLLED,
        SessionState.RUNNING,
        SessionState.PAUSED,
    ),
    Stage.SUBMITTED: (
        SessionState.CHECKING,
        SessionState.ENROLLED,
        SessionState.RUNNING,
        SessionState.SUBMITTED,
    ),
    Stage.TERMINATED: (SessionState.CHECKING, SessionState.TERMINATED),
}
_CHECKIN = {
    Stage.ENROLLING: CheckIn(failed_attempts=2, last_refusal="We cannot see your face"),
    Stage.WAITING: CheckIn(admission=Admission.WAITING, reason="does not match the reference"),
    Stage.STUCK: CheckIn(admission=Admission.WAITING, needs_help=True, failed_attempts=5),
}


def candidate_at(
    factory: Factory,
    exam: Exam,
    proctor: User,
    name: str,
    stage: Stage,
    *,
    risk: float = 0.0,
    external_id: str | None = None,
) -> tuple[Candidate, ExamSession]:
    candidate = factory.candidate(exam, proctor, name="Candidate")  # its email from this name
    candidate.name, candidate.external_id = name, external_id
    session = sessions.current_for_candidate(db=factory.db, candidate=candidate)
    for state in _PATH[stage]:
        sessions.move(session, state, reason="ended by the proctor")
    checkin = _CHECKIN.get(stage)
    if checkin is not None:
        checkin.waiting_since = datetime.now(UTC) if checkin.admission else None
        session.checkin = checkin.to_json()
    session.risk_score = risk
    factory.db.commit()
    return candidate, session
