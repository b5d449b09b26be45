"""Messages and warnings from proctors to candidates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.messages.models import Message, MessageKind, Sender
from openproctor.domains.users.models import User


def for_session(*, db: Session, session_id: uuid.UUID) -> Sequence[Message]:
    query = select(Message).where(Message.session_id == session_id).order_by(Message.created_at)
    return db.scalars(query).all()


def send(
    *, db: Session, session_id: uuid.UUID, proctor: User, kind: MessageKind, body: str
) -> Message:
    message = Message(
        session_id=session_id,
        sender=Sender.PROCTOR,
        sender_user_id=proctor.id,
        kind=kind,
        body=body.strip(),
    )
    db.add(message)
    db.flush()
    return message


def clear_warnings(*, db: Session, session_id: uuid.UUID) -> int:
    """Marks the session's open warnings as cleared (read); returns how many."""
    open_warnings = db.scalars(
        select(Message).where(
            Message.session_id == session_id,
            Message.kind == MessageKind.WARNING,
            Message.read_at.is_(None),
        )
    ).all()
    now = utcnow()
    for warning in open_warnings:
        warning.read_at = now
    return len(open_warnings)


def to_wire(message: Message) -> dict[str, Any]:
    """The message as the candidate's socket sends it."""
    return {
        "type": "message",
        "id": str(message.id),
        "kind": message.kind.value,
        "body": message.body,
        "at": message.created_at.isoformat(),
        "cleared": message.read_at is not None,
    }
