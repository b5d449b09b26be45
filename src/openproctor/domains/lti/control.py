"""Assessment Control service (LTI Proctoring Services 1.0, section 6): what our proctors'
actions tell the platform of a proctored attempt. Each request is a row written in the same
transaction as the action (the caller commits), so nothing is lost; control_deliverer.py
sends it with the access token and applies the platform's answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.exams.policy import KIND_LABELS, Severity
from openproctor.domains.lti.models import LtiPlatform
from openproctor.domains.lti.proctoring_models import (
    ControlAction,
    LtiControlRequest,
    LtiProctoredAttempt,
)
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.violations.models import Violation

SCOPE = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control+json"
RESULT_MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control.result+json"

# incident_severity (0 to 1) of a confirmed violation, by its severity.
FLAG_SEVERITY = {Severity.LOW: 0.3, Severity.MEDIUM: 0.6, Severity.HIGH: 0.9}
# A proctor's own action: a pause is serious enough to stop the assessment, a terminate the
# most serious; resuming and extra time are no incident.
ACTION_SEVERITY = {
    ControlAction.PAUSE: 0.5,
    ControlAction.RESUME: 0.0,
    ControlAction.TERMINATE: 1.0,
    ControlAction.UPDATE: 0.0,
}

# The status a platform answers (section 6.2), and the state our session follows it to.
ANSWERED_STATES: dict[str, SessionState] = {
    "running": SessionState.RUNNING,
    "paused": SessionState.PAUSED,
    "terminated": SessionState.TERMINATED,
    "complete": SessionState.SUBMITTED,
}


def attempt_of(db: Session, session: ExamSession) -> LtiProctoredAttempt | None:
    """The platform attempt this session proctors, if a platform started it."""
    return db.scalar(
        select(LtiProctoredAttempt)
        .where(LtiProctoredAttempt.session_id == session.id)
        .order_by(LtiProctoredAttempt.created_at.desc())
        .limit(1)
    )


def _iso(at: datetime) -> str:
    """UTC with a Z, as the spec's examples write incident_time (a naive time is UTC)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request(
    *,
    db: Session,
    session: ExamSession,
    action: ControlAction,
    reason_code: str,
    reason_msg: str,
    severity: float | None = None,
    extra_time_s: int | None = None,
    at: datetime | None = None,
) -> LtiControlRequest | None:
    """Queues the action for the platform of the session's proctored attempt (None: the
    session was not started by a platform, it offers no Assessment Control service, or not
    this action). The caller commits."""
    attempt = attempt_of(db, session)
    if attempt is None or not attempt.control_url:
        return None
    if attempt.control_actions and action.value not in attempt.control_actions:
        return None
    platform = db.get(LtiPlatform, attempt.platform_id)
    if platform is None:
        return None
    body: dict[str, Any] = {
        "user": {"iss": platform.issuer, "sub": attempt.subject},
        "resource_link": {"id": attempt.resource_link_id},
        "attempt_number": attempt.attempt_number,
        "action": action.value,
        "incident_time": _iso(at or utcnow()),
        "incident_severity": severity if severity is not None else ACTION_SEVERITY[action],
        "reason_code": reason_code,
        "reason_msg": reason_msg,
    }
    if extra_time_s is not None:
        body["extra_time"] = extra_time_s
    row = LtiControlRequest(attempt_id=attempt.id, action=action, body=body)
    db.add(row)
    db.flush()
    return row


def flag_violation(*, db: Session, session: ExamSession, violation: Violation) -> None:
    """A reviewer or proctor confirmed a violation: the platform gets a flag with its kind,
    what it was and how serious (the caller commits)."""
    what = violation.label or KIND_LABELS.get(violation.kind, violation.kind.value)
    note = f": {violation.review_note}" if violation.review_note else ""
    request(
        db=db,
        session=session,
        action=ControlAction.FLAG,
        reason_code=violation.kind.value,
        reason_msg=f"confirmed violation: {what}{note}"[:500],
        severity=FLAG_SEVERITY[violation.severity],
        at=violation.started_at,
    )
