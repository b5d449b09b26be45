"""A proctor marks an alert handled: written and audited, committed, then pushed on the exam's
topic so that every wall watching the exam (on whichever node) shows who handled it and when."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from openproctor.bus.local import exam_topic
from openproctor.domains.audit.service import Auditor
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import User
from openproctor.domains.violations import service
from openproctor.domains.violations.models import Violation, ViolationRead
from openproctor.live import messages as wire

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub


def mark_handled(
    *,
    db: Session,
    audit: Auditor,
    hub: LiveHub,
    session: ExamSession,
    violation: Violation,
    proctor: User,
) -> ViolationRead:
    """Marks it handled by `proctor` unless someone already did (then nothing changes and the
    first proctor's name comes back). Audited as violation.handled."""
    if not service.mark_handled(db=db, violation=violation, proctor=proctor):
        return service.read_one(db=db, violation=violation, exam_id=session.exam_id)
    audit("violation.handled", "violation", violation.id, session_id=str(session.id))
    db.commit()
    read = service.read_one(db=db, violation=violation, exam_id=session.exam_id)
    candidate = db.get(Candidate, session.candidate_id)
    live = wire.LiveViolation(
        **read.model_dump(), candidate_name=candidate.name if candidate else "Candidate"
    )
    proctor_id = candidate.proctor_id if candidate else None
    hub.bus.publish(exam_topic(session.exam_id), wire.violation("handled", live, proctor_id))
    return read
