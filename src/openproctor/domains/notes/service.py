"""Writing and reading proctors' notes."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.notes.models import NoteRead, SessionNote
from openproctor.domains.users.models import User


def write(*, db: Session, session_id: uuid.UUID, author: User, body: str) -> NoteRead:
    note = SessionNote(session_id=session_id, author_id=author.id, body=body.strip())
    db.add(note)
    db.flush()
    return NoteRead(
        id=note.id,
        session_id=session_id,
        author_name=author.name,
        body=note.body,
        created_at=note.created_at,
    )


def for_session(*, db: Session, session_id: uuid.UUID) -> list[NoteRead]:
    """Oldest first."""
    query = (
        select(SessionNote, User.name)
        .outerjoin(User, SessionNote.author_id == User.id)
        .where(SessionNote.session_id == session_id)
        .order_by(SessionNote.created_at, SessionNote.id)
    )
    return [
        NoteRead(
            id=note.id,
            session_id=note.session_id,
            author_name=author_name,
            body=note.body,
            created_at=note.created_at,
        )
        for note, author_name in db.execute(query)
    ]
