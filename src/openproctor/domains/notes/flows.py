"""A note written: audited, committed, then pushed on the exam's topic to every wall watching
the candidate (on whichever node), so other proctors see it at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from openproctor.bus.local import exam_topic
from openproctor.domains.audit.service import Auditor
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.notes import service
from openproctor.domains.notes.models import NoteRead
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import User
from openproctor.live import messages as wire

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub


def write(
    *, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession, author: User, body: str
) -> NoteRead:
    """Refused with 422 when blank. Audited as session.note."""
    if not body.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "write the note first")
    note = service.write(db=db, session_id=session.id, author=author, body=body)
    audit("session.note", "session", session.id, body=note.body)
    db.commit()
    candidate = db.get(Candidate, session.candidate_id)
    proctor_id = candidate.proctor_id if candidate else None
    hub.bus.publish(exam_topic(session.exam_id), wire.note(note, proctor_id))
    return note
