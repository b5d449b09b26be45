"""What happened between the proctors and a candidate during an attempt, in order: every
message both ways (warnings, broadcasts, the raised hand) and every intervention (admission,
pause, resume, extra time, talking to the candidate, warnings cleared, termination). Messages
come from their table; interventions from the audit log, where the flows write each one; an
attempt ended by the server (automatic termination) from the attempt itself. The review page
(GET /api/v1/sessions/{id}/events) and the PDF both read this list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.messages.models import Message, MessageKind, Sender
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import User


class EventKind(StrEnum):
    PROCTOR_MESSAGE = "proctor_message"
    CANDIDATE_MESSAGE = "candidate_message"
    WARNING = "warning"
    BROADCAST = "broadcast"
    HAND_RAISED = "hand_raised"
    HAND_LOWERED = "hand_lowered"
    HAND_ANSWERED = "hand_answered"
    ADMITTED = "admitted"
    NOT_ADMITTED = "not_admitted"
    CHECKIN_RETRY = "checkin_retry"
    PAUSED = "paused"
    RESUMED = "resumed"
    EXTRA_TIME = "extra_time"
    TALK = "talk"
    WARNINGS_CLEARED = "warnings_cleared"
    TERMINATED = "terminated"
    AUTO_TERMINATED = "auto_terminated"


# The words staff read for each kind, on the review page and in the PDF.
EVENT_LABELS: dict[EventKind, str] = {
    EventKind.PROCTOR_MESSAGE: "Message from the proctor",
    EventKind.CANDIDATE_MESSAGE: "Message from the candidate",
    EventKind.WARNING: "Warning from the proctor",
    EventKind.BROADCAST: "Message to everyone",
    EventKind.HAND_RAISED: "Candidate raised their hand",
    EventKind.HAND_LOWERED: "Candidate lowered their hand",
    EventKind.HAND_ANSWERED: "Raised hand answered",
    EventKind.ADMITTED: "Admitted to the exam",
    EventKind.NOT_ADMITTED: "Not admitted",
    EventKind.CHECKIN_RETRY: "Asked to redo the check-in",
    EventKind.PAUSED: "Exam paused",
    EventKind.RESUMED: "Exam resumed",
    EventKind.EXTRA_TIME: "Extra time given",
    EventKind.TALK: "Proctor talked to the candidate",
    EventKind.WARNINGS_CLEARED: "Warnings cleared",
    EventKind.TERMINATED: "Exam ended by the proctor",
    EventKind.AUTO_TERMINATED: "Exam ended automatically",
}
# Kinds a person chose to do to the attempt (the rest is conversation): marked apart on the
# review timeline.
INTERVENTIONS = frozenset(
    {
        EventKind.WARNING,
        EventKind.ADMITTED,
        EventKind.NOT_ADMITTED,
        EventKind.CHECKIN_RETRY,
        EventKind.PAUSED,
        EventKind.RESUMED,
        EventKind.EXTRA_TIME,
        EventKind.TALK,
        EventKind.WARNINGS_CLEARED,
        EventKind.TERMINATED,
        EventKind.AUTO_TERMINATED,
    }
)
# Audit actions that are interventions, and how each reads. Messages are audited too
# (session.message, session.warning) but are read from their own table.
_AUDITED: dict[str, EventKind] = {
    "checkin.admit": EventKind.ADMITTED,
    "checkin.reject": EventKind.NOT_ADMITTED,
    "checkin.retry": EventKind.CHECKIN_RETRY,
    f"session.{SessionState.PAUSED.value}": EventKind.PAUSED,
    f"session.{SessionState.RUNNING.value}": EventKind.RESUMED,
    f"session.{SessionState.TERMINATED.value}": EventKind.TERMINATED,
    "session.extra_time": EventKind.EXTRA_TIME,
    "session.talk": EventKind.TALK,
    "session.clear_warnings": EventKind.WARNINGS_CLEARED,
}


@dataclass(frozen=True)
class SessionEvent:
    at: datetime
    kind: EventKind
    by: str  # who: a staff member's e-mail, "Candidate", or "System"
    text: str  # the message, or what the intervention did ("" when the label says it all)

    @property
    def label(self) -> str:
        return EVENT_LABELS[self.kind]

    @property
    def intervention(self) -> bool:
        return self.kind in INTERVENTIONS


class EventRead(BaseModel):
    at: datetime
    kind: EventKind
    label: str
    intervention: bool
    by: str
    text: str

    @classmethod
    def of(cls, event: SessionEvent) -> EventRead:
        return cls(
            at=event.at,
            kind=event.kind,
            label=event.label,
            intervention=event.intervention,
            by=event.by,
            text=event.text,
        )


def _message_kind(message: Message) -> EventKind:
    if message.kind is MessageKind.HAND_RAISED:
        return EventKind.HAND_RAISED
    if message.kind is MessageKind.HAND_LOWERED:
        lowered_by_candidate = message.sender is Sender.CANDIDATE
        return EventKind.HAND_LOWERED if lowered_by_candidate else EventKind.HAND_ANSWERED
    if message.kind is MessageKind.WARNING:
        return EventKind.WARNING
    if message.kind is MessageKind.BROADCAST:
        return EventKind.BROADCAST
    if message.sender is Sender.CANDIDATE:
        return EventKind.CANDIDATE_MESSAGE
    return EventKind.PROCTOR_MESSAGE


def _message_event(message: Message, senders: dict[uuid.UUID, str]) -> SessionEvent:
    kind = _message_kind(message)
    if message.sender is Sender.CANDIDATE:
        by = "Candidate"
    elif message.sender_user_id is not None:
        by = senders.get(message.sender_user_id, "Proctor")
    else:
        by = "Proctor" if message.sender is Sender.PROCTOR else "System"
    hand = kind in {EventKind.HAND_RAISED, EventKind.HAND_LOWERED, EventKind.HAND_ANSWERED}
    return SessionEvent(message.created_at, kind, by, "" if hand else message.body)


def _audited_text(kind: EventKind, details: dict[str, Any]) -> str:
    """What an audited intervention did, in words."""
    if kind is EventKind.EXTRA_TIME:
        minutes = details.get("minutes", 0)
        return f"{minutes} more minute{'' if minutes == 1 else 's'}"
    if kind is EventKind.TALK:
        return f"for {float(details.get('seconds', 0)):.0f} s"
    if kind is EventKind.WARNINGS_CLEARED:
        return f"{details.get('cleared', 0)} cleared"
    if kind in {EventKind.PAUSED, EventKind.RESUMED}:
        return ""  # the reason audited is the label again ("paused by the proctor")
    return str(details.get("reason") or "")


def _audited_event(entry: AuditEntry) -> SessionEvent:
    kind = _AUDITED[entry.action]
    at = entry.created_at
    if kind is EventKind.TALK and "started_at" in entry.details:
        at = datetime.fromisoformat(entry.details["started_at"])  # audited when the talk ended
    return SessionEvent(at, kind, entry.actor_label, _audited_text(kind, entry.details))


def session_events(*, db: Session, session: ExamSession) -> list[SessionEvent]:
    """The attempt's messages and interventions, oldest first."""
    messages: Sequence[Message] = db.scalars(
        select(Message).where(Message.session_id == session.id).order_by(Message.created_at)
    ).all()
    entries = db.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.target_type == "session",
            AuditEntry.target_id == str(session.id),
            AuditEntry.action.in_(tuple(_AUDITED)),
        )
        .order_by(AuditEntry.created_at)
    ).all()
    staff_ids = {m.sender_user_id for m in messages if m.sender_user_id is not None}
    staff = db.execute(select(User.id, User.email).where(User.id.in_(staff_ids)))
    senders: dict[uuid.UUID, str] = dict(staff.all())
    events = [_message_event(message, senders) for message in messages]
    events += [_audited_event(entry) for entry in entries]
    ended_by_proctor = any(event.kind is EventKind.TERMINATED for event in events)
    if session.state is SessionState.TERMINATED and not ended_by_proctor and session.ended_at:
        events.append(
            SessionEvent(
                session.ended_at, EventKind.AUTO_TERMINATED, "System", session.end_reason or ""
            )
        )
    return sorted(events, key=lambda event: event.at)
