"""Proctor interventions on sessions, with their effects beyond the sessions domain: each is
audited, committed, then told to the live hub, which pushes it to the candidate's page and
the proctors' walls on every node. The REST routes (which the wall's script calls) and the
candidate's own routes go through these; nothing else tells the hub about sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.audit.service import Auditor
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import control as lti_control
from openproctor.domains.lti.proctoring_models import ControlAction
from openproctor.domains.sessions import service
from openproctor.domains.sessions.clock import Clock, ClockJson
from openproctor.domains.sessions.models import (
    AutoTerminateChange,
    AutoTerminateScope,
    ExamSession,
    SessionState,
)

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub

PAUSED_REASON = "paused by the proctor"
RESUMED_REASON = "resumed by the proctor"
TERMINATED_REASON = "ended by the proctor"
# What a proctor's move asks of the learning platform whose attempt the session proctors.
PLATFORM_ACTIONS = {
    SessionState.PAUSED: ControlAction.PAUSE,
    SessionState.RUNNING: ControlAction.RESUME,
    SessionState.TERMINATED: ControlAction.TERMINATE,
}


def _move(
    *,
    db: Session,
    audit: Auditor,
    hub: LiveHub,
    session: ExamSession,
    wanted: SessionState,
    reason: str,
) -> ExamSession:
    """Raises IllegalTransition (nothing written) when the session cannot move there. A pause
    or resume moves the clock: the hub hears it with the state."""
    service.move(session, wanted, reason=reason)
    audit(f"session.{wanted.value}", "session", session.id, reason=reason)
    action = PLATFORM_ACTIONS.get(wanted)
    if action is not None:  # a platform's proctored attempt follows (LTI Assessment Control)
        lti_control.request(
            db=db, session=session, action=action, reason_code=action.value, reason_msg=reason
        )
    db.commit()
    _tell_hub(hub, session, reason=reason, clock=_clock(db, session))
    return session


def _tell_hub(hub: LiveHub, session: ExamSession, **extra: Any) -> None:
    """A committed state change reaches the live loop on every node, and through the node
    holding the candidate's live socket, their tile. Before the exam room (no live socket
    yet) and once it has ended (the socket may be gone) no node may hold it: the tile is then
    drawn from the database first, and a node that does hold it follows with its live one."""
    if session.state not in (SessionState.RUNNING, SessionState.PAUSED):
        hub.candidate_changed(session.candidate_id)
    hub.session_changed(session.id, session.state, **extra)


def _clock(db: Session, session: ExamSession) -> ClockJson:
    return service.clock(db=db, session=session).to_json()


def pause(*, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession) -> ExamSession:
    return _move(
        db=db,
        audit=audit,
        hub=hub,
        session=session,
        wanted=SessionState.PAUSED,
        reason=PAUSED_REASON,
    )


def resume(*, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession) -> ExamSession:
    return _move(
        db=db,
        audit=audit,
        hub=hub,
        session=session,
        wanted=SessionState.RUNNING,
        reason=RESUMED_REASON,
    )


def terminate(
    *, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession, reason: str
) -> ExamSession:
    return _move(
        db=db,
        audit=audit,
        hub=hub,
        session=session,
        wanted=SessionState.TERMINATED,
        reason=reason,
    )


def give_extra_time(
    *, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession, minutes: int
) -> Clock:
    """Moves the attempt's deadline `minutes` later; raises service.ExtraTimeRefused (nothing
    written) for an attempt not under way or a deadline past the exam window."""
    now = utcnow()
    before = service.clock(db=db, session=session)
    service.give_extra_time(session=session, clock=before, minutes=minutes, now=now)
    clock = service.clock(db=db, session=session)
    deadline = clock.deadline(now)
    assert deadline is not None, "an attempt under way has started"
    audit(
        "session.extra_time", "session", session.id, minutes=minutes, ends_at=deadline.isoformat()
    )
    lti_control.request(
        db=db,
        session=session,
        action=ControlAction.UPDATE,
        reason_code="extra_time",
        reason_msg=f"{minutes} minutes of extra time given by the proctor",
        extra_time_s=minutes * 60,
    )
    db.commit()
    hub.session_changed(session.id, session.state, clock=clock.to_json())
    return clock


def set_auto_terminate(
    *, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession, enabled: bool
) -> ExamSession:
    """The session's own override of the exam's automatic termination."""
    session.auto_terminate = enabled
    audit("session.auto_terminate", "session", session.id, enabled=enabled)
    db.commit()
    hub.session_changed(session.id, session.state, auto_terminate=enabled)
    return session


def _announce_auto_terminate(
    *,
    db: Session,
    audit: Auditor,
    hub: LiveHub,
    exam: Exam,
    changed: Sequence[ExamSession],
    change: AutoTerminateChange,
) -> AutoTerminateChange:
    audit("exam.auto_terminate", "exam", exam.id, **change.model_dump(mode="json"))
    db.commit()
    for session in changed:
        hub.session_changed(session.id, session.state, auto_terminate=change.enabled)
    return change


def set_exam_auto_terminate(
    *, db: Session, audit: Auditor, hub: LiveHub, exam: Exam, enabled: bool
) -> AutoTerminateChange:
    """Sets the exam's policy; every session drops its own setting and follows the exam's."""
    exam.policy = {**exam.policy, "auto_terminate": enabled}
    followers = service.list_for_exam(db=db, exam_id=exam.id)
    for session in followers:
        session.auto_terminate = None
    change = AutoTerminateChange(
        enabled=enabled, scope=AutoTerminateScope.EXAM, sessions=len(followers)
    )
    return _announce_auto_terminate(
        db=db, audit=audit, hub=hub, exam=exam, changed=followers, change=change
    )


def set_proctor_auto_terminate(
    *,
    db: Session,
    audit: Auditor,
    hub: LiveHub,
    exam: Exam,
    proctor_id: uuid.UUID | None,
    enabled: bool,
) -> AutoTerminateChange:
    """Sets the override on every session of the proctor's candidates in the exam (None:
    every session); the exam's policy stays as it is."""
    mine = service.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_id)
    for session in mine:
        session.auto_terminate = enabled
    change = AutoTerminateChange(
        enabled=enabled, scope=AutoTerminateScope.MY_SESSIONS, sessions=len(mine)
    )
    return _announce_auto_terminate(
        db=db, audit=audit, hub=hub, exam=exam, changed=mine, change=change
    )


def candidate_changed(*, db: Session, hub: LiveHub, session: ExamSession) -> None:
    """After the candidate's own committed change (a step, answers, enrolment): the live loop,
    and through it the proctors, hear the session's state, score and clock."""
    _tell_hub(
        hub, session, reason=session.end_reason, score=session.score, clock=_clock(db, session)
    )
