"""Messages between proctors and candidates: written (and audited, for staff), committed, then
pushed through the hub's bus: to the candidate's page on the session topic, and to the walls
on the exam topic with the candidate's unread count and hand (on whichever nodes hold them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from openproctor.access import proctor_scope
from openproctor.bus.local import exam_topic, session_topic
from openproctor.domains.audit.service import Auditor
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.messages import service
from openproctor.domains.messages.models import Message, MessageKind, MessageRead, Sender
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import IN_ROOM_STATES, ExamSession
from openproctor.domains.users.models import User
from openproctor.live import messages as wire

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub

# The body of the rows that record the hand (the kind says what happened; exports show both).
HAND_BODIES = {
    (Sender.CANDIDATE, MessageKind.HAND_RAISED): "Raised their hand",
    (Sender.CANDIDATE, MessageKind.HAND_LOWERED): "Lowered their hand",
    (Sender.PROCTOR, MessageKind.HAND_LOWERED): "Hand lowered: the proctor answered",
}


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
    session.message or session.warning. It answers a raised hand, which is lowered."""
    message = service.write(
        db=db,
        session_id=session.id,
        sender=Sender.PROCTOR,
        sender_user_id=proctor.id,
        kind=kind,
        body=body,
    )
    written = [message]
    if service.conversation(db=db, session_id=session.id).hand_raised:
        written.append(_hand(db, session, Sender.PROCTOR, MessageKind.HAND_LOWERED, proctor))
    audit(f"session.{kind.value}", "session", session.id, body=message.body)
    db.commit()
    _announce(db, hub, [(session, written)])
    return message


def broadcast(
    *, db: Session, audit: Auditor, hub: LiveHub, exam: Exam, user: User, body: str
) -> int:
    """One message to every candidate in the exam room (a proctor's own candidates; an
    admin's: all), one row per session so each session's record is complete, audited once
    as exam.broadcast. Returns how many candidates it went to."""
    if not body.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "write a message first")
    in_room = [
        session
        for session in sessions.list_for_exam(
            db=db, exam_id=exam.id, proctor_id=proctor_scope(user)
        )
        if session.state in IN_ROOM_STATES
    ]
    sent: list[tuple[ExamSession, list[Message]]] = []
    for session in in_room:
        message = service.write(
            db=db,
            session_id=session.id,
            sender=Sender.PROCTOR,
            sender_user_id=user.id,
            kind=MessageKind.BROADCAST,
            body=body,
        )
        sent.append((session, [message]))
    audit("exam.broadcast", "exam", exam.id, body=body.strip(), candidates=len(sent))
    db.commit()
    _announce(db, hub, sent)
    return len(sent)


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """What a candidate may write (settings chat_max_chars, chat_messages_per_minute)."""

    max_chars: int
    per_minute: int


def candidate_writes(
    *, db: Session, hub: LiveHub, session: ExamSession, body: str, limits: ChatLimits, now: datetime
) -> Message:
    """The candidate's message to the proctors. Refused with 422 when blank or longer than
    the limit, and as _check_candidate_may_write says."""
    if not body.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "write a message first")
    if len(body.strip()) > limits.max_chars:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"a message may have at most {limits.max_chars} characters",
        )
    _check_candidate_may_write(db, session, limits, now)
    message = service.write(
        db=db, session_id=session.id, sender=Sender.CANDIDATE, kind=MessageKind.MESSAGE, body=body
    )
    db.commit()
    _announce(db, hub, [(session, [message])])
    return message


def candidate_hand(
    *,
    db: Session,
    hub: LiveHub,
    session: ExamSession,
    raised: bool,
    limits: ChatLimits,
    now: datetime,
) -> None:
    """The candidate raises or lowers their hand: a row when it changes, nothing when it
    already was so. Refused as _check_candidate_may_write says."""
    _check_candidate_may_write(db, session, limits, now)
    if service.conversation(db=db, session_id=session.id).hand_raised == raised:
        return
    kind = MessageKind.HAND_RAISED if raised else MessageKind.HAND_LOWERED
    message = _hand(db, session, Sender.CANDIDATE, kind, None)
    db.commit()
    _announce(db, hub, [(session, [message])])


def _check_candidate_may_write(
    db: Session, session: ExamSession, limits: ChatLimits, now: datetime
) -> None:
    """409 once the session left the exam room; 429 after `limits.per_minute` messages (hands
    included) in the last minute, counted in the database so every node agrees."""
    if session.state not in IN_ROOM_STATES:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"this exam session is {session.state.value}: messages can no longer be sent",
        )
    since = now - service.RATE_WINDOW
    sent = service.sent_by_candidate_since(db=db, session_id=session.id, since=since)
    if sent >= limits.per_minute:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"you sent {sent} messages in the last minute: please wait a moment",
        )


def mark_read(*, db: Session, hub: LiveHub, session: ExamSession) -> int:
    """A proctor opened the conversation: the candidate's messages are read (the tiles' unread
    count goes to zero on every wall). Returns how many were unread."""
    read = service.mark_read(db=db, session_id=session.id)
    db.commit()
    if read:
        _announce(db, hub, [(session, [])])
    return read


def clear_warnings(*, db: Session, audit: Auditor, hub: LiveHub, session: ExamSession) -> int:
    """Marks the session's open warnings as read; returns how many were open."""
    cleared = service.clear_warnings(db=db, session_id=session.id)
    audit("session.clear_warnings", "session", session.id, cleared=cleared)
    db.commit()
    hub.bus.publish(session_topic(session.id), {"type": "warnings_cleared"})
    return cleared


def _hand(
    db: Session, session: ExamSession, sender: Sender, kind: MessageKind, user: User | None
) -> Message:
    return service.write(
        db=db,
        session_id=session.id,
        sender=sender,
        sender_user_id=user.id if user else None,
        kind=kind,
        body=HAND_BODIES[(sender, kind)],
    )


def _announce(
    db: Session, hub: LiveHub, written: Sequence[tuple[ExamSession, Sequence[Message]]]
) -> None:
    """After the commit: each message to the candidate's page, and each (or, with none, the
    read conversation) to the walls with the conversation as it is now."""
    conversations = service.conversations(db=db, session_ids=[s.id for s, _ in written])
    for session, messages in written:
        candidate = db.get(Candidate, session.candidate_id)
        proctor_id = candidate.proctor_id if candidate else None
        now = conversations[session.id]
        # The node holding the session first, so tiles it sends from now on agree.
        hub.registry.conversation_changed(session.id, now)
        topic = exam_topic(session.exam_id)
        for message in messages:
            hub.bus.publish(session_topic(session.id), wire.message(message))
            read = MessageRead.model_validate(message).model_dump(mode="json")
            hub.bus.publish(topic, wire.conversation(session.id, read, now, proctor_id))
        if not messages:
            hub.bus.publish(topic, wire.conversation(session.id, None, now, proctor_id))
