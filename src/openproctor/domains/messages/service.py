"""Messages between proctors and candidates: rows, and what the wall shows of them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.messages.models import (
    HAND_KINDS,
    Conversation,
    Message,
    MessageKind,
    Sender,
)
from openproctor.pagination import Page, PageRequest, scalars_page

RATE_WINDOW = timedelta(minutes=1)


def for_session(*, db: Session, session_id: uuid.UUID) -> Sequence[Message]:
    query = select(Message).where(Message.session_id == session_id).order_by(Message.created_at)
    return db.scalars(query).all()


def page_for_session(*, db: Session, session_id: uuid.UUID, page: PageRequest) -> Page[Message]:
    """Oldest first."""
    query = select(Message).where(Message.session_id == session_id)
    return scalars_page(db, query, (Message.created_at, Message.id), page)


def write(
    *,
    db: Session,
    session_id: uuid.UUID,
    sender: Sender,
    kind: MessageKind,
    body: str,
    sender_user_id: uuid.UUID | None = None,
) -> Message:
    message = Message(
        session_id=session_id,
        sender=sender,
        sender_user_id=sender_user_id,
        kind=kind,
        body=body.strip(),
    )
    db.add(message)
    db.flush()
    return message


def clear_warnings(*, db: Session, session_id: uuid.UUID) -> int:
    """Marks the session's open warnings as cleared (read); returns how many."""
    return _mark_read(db, session_id, Message.kind == MessageKind.WARNING)


def mark_read(*, db: Session, session_id: uuid.UUID) -> int:
    """Marks the candidate's messages as read by the proctors; returns how many were unread."""
    return _mark_read(db, session_id, Message.sender == Sender.CANDIDATE)


def _mark_read(db: Session, session_id: uuid.UUID, which: ColumnElement[bool]) -> int:
    unread = db.scalars(
        select(Message).where(Message.session_id == session_id, which, Message.read_at.is_(None))
    ).all()
    now = utcnow()
    for message in unread:
        message.read_at = now
    return len(unread)


def sent_by_candidate_since(*, db: Session, session_id: uuid.UUID, since: datetime) -> int:
    query = select(func.count(Message.id)).where(
        Message.session_id == session_id,
        Message.sender == Sender.CANDIDATE,
        Message.created_at >= since,
    )
    return db.scalar(query) or 0


def conversations(
    *, db: Session, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Conversation]:
    """Each session's unread count and hand, in two queries however many sessions."""
    if not session_ids:
        return {}
    unread: dict[uuid.UUID, int] = dict(
        db.execute(
            select(Message.session_id, func.count(Message.id))
            .where(
                Message.session_id.in_(session_ids),
                Message.sender == Sender.CANDIDATE,
                Message.kind == MessageKind.MESSAGE,
                Message.read_at.is_(None),
            )
            .group_by(Message.session_id)
        ).all()
    )
    hands: dict[uuid.UUID, bool] = {}
    hand_rows = db.execute(
        select(Message.session_id, Message.kind)
        .where(Message.session_id.in_(session_ids), Message.kind.in_(HAND_KINDS))
        .order_by(Message.created_at)
    ).all()
    for session_id, kind in hand_rows:  # the latest decides
        hands[session_id] = kind is MessageKind.HAND_RAISED
    return {
        session_id: Conversation(unread.get(session_id, 0), hands.get(session_id, False))
        for session_id in session_ids
    }


def conversation(*, db: Session, session_id: uuid.UUID) -> Conversation:
    return conversations(db=db, session_ids=[session_id])[session_id]
