"""Writing and reading proctors' notes."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from openproctor.domains.notes.models import NoteRead, SessionNote
from openproctor.domains.users.models import User
from openproctor.pagination import Page, PageRequest, keyset, page_of


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


PAGE_ORDER = (SessionNote.created_at, SessionNote.id)


def for_session(*, db: Session, session_id: uuid.UUID) -> list[NoteRead]:
    """Oldest first."""
    query = _query(session_id).order_by(*PAGE_ORDER)
    return [_read(note, author_name) for note, author_name in db.execute(query)]


def page_for_session(*, db: Session, session_id: uuid.UUID, page: PageRequest) -> Page[NoteRead]:
    """for_session a page at a time."""
    rows = db.execute(keyset(_query(session_id), PAGE_ORDER, page)).all()
    found = page_of(rows, page, PAGE_ORDER, key=lambda row: row[0])
    items = [_read(note, author_name) for note, author_name in found.items]
    return Page(items=items, next_cursor=found.next_cursor)


def _query(session_id: uuid.UUID) -> Select[SessionNote, str]:
    return (
        select(SessionNote, User.name)
        .outerjoin(User, SessionNote.author_id == User.id)
        .where(SessionNote.session_id == session_id)
    )


def _read(note: SessionNote, author_name: str | None) -> NoteRead:
    return NoteRead(
        id=note.id,
        session_id=note.session_id,
        author_name=author_name,
        body=note.body,
        created_at=note.created_at,
    )
