"""An exam's integration settings, audited and committed: the API and the admin page both
save them here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openproctor.domains.audit.service import Auditor
from openproctor.domains.exams.models import Exam
from openproctor.domains.integrations import service
from openproctor.domains.integrations.models import ExamIntegration, IntegrationWrite
from openproctor.outbound import OutboundPolicy


def save(
    *,
    db: Session,
    audit: Auditor,
    exam: Exam,
    settings: IntegrationWrite,
    outbound_policy: OutboundPolicy,
) -> ExamIntegration:
    """Raises MeetingIdTaken, or OutboundRefused for a callback URL that is not public."""
    row = service.write(db=db, exam=exam, settings=settings, outbound_policy=outbound_policy)
    audit(
        "exam.integration",
        "exam",
        exam.id,
        meeting_id=row.meeting_id,
        callback_url=row.callback_url,
        return_url=row.return_url,
    )
    db.commit()
    return row
