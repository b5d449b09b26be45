"""A proctor's messages and warnings: written, audited, committed, then pushed to the
candidate's page through the hub's bus (on whichever node holds the candidate's socket)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from openproctor.bus.local import session_topic
from openproctor.domains.audit.service import Auditor
from openproctor.domains.messages import service
from openproctor.domains.messages.models import Message, MessageKind
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import User

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub


def send(
    *,
    db: Session,
    audit: Auditor,
    hub: LiveHub,
    session: ExamSession,
    proctor: User,
    kind: MessageKind,
    body: str,
) -> Message:
    """A message, or a warning the candidate has to acknowledge, audited as
    session.message or session.warning."""
    message = service.send(db=db, session_id=session.id, proctor=proctor, kind=kind, body=body)
    audit(f"session.{kind.value}", "session", session.id, body=message.body)
    db.commit()
    hub.bus.publish(session_topic(session.id), service.to_wire(message))
    return message


def clear_warnings(*, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession) -> int:
    """Marks the session's open warnings as read; returns how many were open."""
    cleared = service.clear_warnings(db=db, session_id=session.id)
    audit("session.clear_warnings", "session", session.id, cleared=cleared)
    db.commit()
    hub.bus.publish(session_topic(session.id), {"type": "warnings_cleared"})
    return cleared
