"""LTI Proctoring Services 1.0, the tool's side of the messages: LtiStartProctoring (the
platform sends a learner to our check-in for an attempt), the signed LtiStartAssessment that
hands them back to the platform's assessment once admitted, and LtiEndAssessment (the
platform's assessment is over: so is our proctored session)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.lti import links, service
from openproctor.domains.lti.launch import (
    RESOURCE_LINK,
    Launch,
    LaunchError,
    LtiRole,
    tool_message,
)
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey
from openproctor.domains.lti.proctoring_models import LtiProctoredAttempt
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession, SessionState
from openproctor.outbound import OutboundPolicy, OutboundRefused

AP_CLAIM = "https://purl.imsglobal.org/spec/lti-ap/claim/"
ATTEMPT_NUMBER = AP_CLAIM + "attempt_number"
START_ASSESSMENT_URL = AP_CLAIM + "start_assessment_url"
SESSION_DATA = AP_CLAIM + "session_data"
END_ASSESSMENT_RETURN = AP_CLAIM + "end_assessment_return"
ACS = AP_CLAIM + "acs"
START_ASSESSMENT = "LtiStartAssessment"
# The hand-back is posted by the learner's browser right away; a short life is enough.
START_ASSESSMENT_LIFETIME_S = 300
SUBMITTED_REASON = "the assessment was submitted on the course site"
ENDED_EARLY_REASON = "the assessment ended on the course site before the proctored exam began"
MAX_SESSION_DATA = 4000


@dataclass(frozen=True)
class HandBack:
    """The LtiStartAssessment message: where the browser posts it, and the signed JWT."""

    url: str
    token: str


def _attempt_number(claims: Mapping[str, Any]) -> int:
    value = claims.get(ATTEMPT_NUMBER)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LaunchError("the launch has no attempt_number claim")
    try:
        number = int(value)
    except ValueError:
        raise LaunchError(f"the launch's attempt_number {value!r} is not a number") from None
    if number < 1:
        raise LaunchError(f"the launch's attempt_number {number} is not a positive number")
    return number


def _find(
    db: Session, platform: LtiPlatform, launch: Launch, number: int
) -> LtiProctoredAttempt | None:
    return db.scalar(
        select(LtiProctoredAttempt).where(
            LtiProctoredAttempt.platform_id == platform.id,
            LtiProctoredAttempt.resource_link_id == launch.resource_link_id,
            LtiProctoredAttempt.subject == launch.subject,
            LtiProctoredAttempt.attempt_number == number,
        )
    )


def _session_for_new_attempt(db: Session, candidate: Candidate, number: int) -> ExamSession:
    """The candidate's current session, or a new one when it is over (a platform attempt
    still under way must end first)."""
    session = sessions.current_for_candidate(db=db, candidate=candidate)
    if session.state not in FINAL_STATES:
        bound = db.scalar(
            select(LtiProctoredAttempt).where(LtiProctoredAttempt.session_id == session.id)
        )
        if bound is None:
            return session
        raise LaunchError(
            f"your attempt {bound.attempt_number} is still being proctored: finish it on the "
            f"course site before starting attempt {number}",
            status_code=409,
        )
    session = ExamSession(
        candidate_id=candidate.id, exam_id=candidate.exam_id, attempt=session.attempt + 1
    )
    db.add(session)
    db.flush()
    return session


def start_proctoring(
    *, db: Session, platform: LtiPlatform, launch: Launch, outbound_policy: OutboundPolicy
) -> tuple[LtiProctoredAttempt, Candidate]:
    """The proctored attempt of an LtiStartProctoring launch, made or brought up to date,
    and the candidate who takes it (the caller commits). Raises LaunchError."""
    if launch.role is not LtiRole.LEARNER:
        raise LaunchError(
            "a proctored attempt is for learners: your role in this course does not take it",
            status_code=403,
        )
    claims = launch.claims
    number = _attempt_number(claims)
    url = claims.get(START_ASSESSMENT_URL)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise LaunchError("the launch has no start_assessment_url to hand the learner back to")
    session_data = claims.get(SESSION_DATA)
    if session_data is not None and (
        not isinstance(session_data, str) or len(session_data) > MAX_SESSION_DATA
    ):
        raise LaunchError("the launch's session_data is not a string of at most 4000 characters")
    acs = claims.get(ACS)
    control_url = acs.get("assessment_control_url") if isinstance(acs, Mapping) else None
    actions = acs.get("actions") if isinstance(acs, Mapping) else None
    if control_url is not None:
        if not isinstance(control_url, str):
            raise LaunchError("the launch's acs claim has no assessment_control_url")
        try:
            outbound_policy.vet(control_url)
        except OutboundRefused as refusal:
            raise LaunchError(
                f"the assessment control URL {control_url} is refused: {refusal.reason}"
            ) from None
    exam = links.exam_for(db=db, platform=platform, launch=launch)
    candidate = service.learner(db=db, platform=platform, exam=exam, launch=launch)
    attempt = _find(db, platform, launch, number)
    if attempt is None:
        attempt = LtiProctoredAttempt(
            platform_id=platform.id,
            session_id=_session_for_new_attempt(db, candidate, number).id,
            resource_link_id=launch.resource_link_id,
            subject=launch.subject,
            attempt_number=number,
        )
        db.add(attempt)
    attempt.deployment_id = launch.deployment_id
    attempt.session_data = session_data
    attempt.start_assessment_url = url
    attempt.control_url = control_url
    attempt.control_actions = (
        [str(action) for action in actions] if isinstance(actions, list) else []
    )
    db.flush()
    return attempt, candidate


def attempt_for_candidate(*, db: Session, candidate: Candidate) -> LtiProctoredAttempt | None:
    """The platform attempt the candidate's current session proctors, if any."""
    session = sessions.latest_for_candidate(db=db, candidate_id=candidate.id)
    if session is None:
        return None
    return db.scalar(
        select(LtiProctoredAttempt)
        .where(LtiProctoredAttempt.session_id == session.id)
        .order_by(LtiProctoredAttempt.created_at.desc())
        .limit(1)
    )


def hand_back(
    *, attempt: LtiProctoredAttempt, platform: LtiPlatform, signing_key: LtiToolKey
) -> HandBack:
    """The LtiStartAssessment message, signed with the tool's key; the platform checks it
    against /lti/jwks and that session_data is the one it sent."""
    claims: dict[str, Any] = {
        RESOURCE_LINK: {"id": attempt.resource_link_id},
        ATTEMPT_NUMBER: attempt.attempt_number,
        END_ASSESSMENT_RETURN: True,
    }
    if attempt.session_data is not None:
        claims[SESSION_DATA] = attempt.session_data
    token = tool_message(
        platform=platform,
        signing_key=signing_key,
        message_type=START_ASSESSMENT,
        deployment_id=attempt.deployment_id,
        issued_at=int(time.time()),
        lifetime_s=START_ASSESSMENT_LIFETIME_S,
        claims=claims,
    )
    return HandBack(url=attempt.start_assessment_url, token=token)


def end_assessment(
    *, db: Session, platform: LtiPlatform, launch: Launch
) -> tuple[LtiProctoredAttempt, ExamSession]:
    """LtiEndAssessment: the attempt's session ends as submitted (terminated when the
    learner never got to the exam); already ended, it stays as it is. The caller commits.
    Raises LaunchError for an attempt this tool did not proctor."""
    number = _attempt_number(launch.claims)
    attempt = _find(db, platform, launch, number)
    session = db.get(ExamSession, attempt.session_id) if attempt is not None else None
    if attempt is None or session is None:
        raise LaunchError(
            f"attempt {number} of this activity was not proctored here: nothing to end",
            status_code=404,
        )
    attempt.ended_at = attempt.ended_at or utcnow()
    if session.state is SessionState.PAUSED:
        sessions.move(session, SessionState.RUNNING, reason=SUBMITTED_REASON)
    if session.state is SessionState.RUNNING:
        sessions.move(session, SessionState.SUBMITTED, reason=SUBMITTED_REASON)
    elif session.state not in FINAL_STATES:
        sessions.move(session, SessionState.TERMINATED, reason=ENDED_EARLY_REASON)
    db.flush()
    return attempt, session
