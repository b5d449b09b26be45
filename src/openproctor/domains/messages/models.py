"""Messages between proctors and a candidate, both ways: a proctor's messages and warnings,
messages to the whole exam (one row per session), the candidate's messages, and the
candidate's raised hand (a row when raised and one when lowered, so the record shows both)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum


class MessageKind(StrEnum):
    MESSAGE = "message"
    WARNING = "warning"
    BROADCAST = "broadcast"  # from a proctor to every candidate of the exam
    HAND_RAISED = "hand_raised"
    HAND_LOWERED = "hand_lowered"  # by the candidate, or by a proctor's answer


# What a proctor may send to one candidate.
PROCTOR_KINDS = frozenset({MessageKind.MESSAGE, MessageKind.WARNING})
HAND_KINDS = frozenset({MessageKind.HAND_RAISED, MessageKind.HAND_LOWERED})


class Sender(StrEnum):
    PROCTOR = "proctor"
    CANDIDATE = "candidate"
    SYSTEM = "system"


class Message(IdMixin, Base):
    __tablename__ = "messages"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    sender: Mapped[Sender] = mapped_column(str_enum(Sender))
    sender_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind))
    body: Mapped[str] = mapped_column(Text)
    # A warning: when it was cleared; a candidate's message: when a proctor read it.
    read_at: Mapped[datetime | None]


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    session_id: uuid.UUID
    sender: Sender
    kind: MessageKind
    body: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class Conversation:
    """What a candidate's tile shows of the conversation: messages no proctor has read yet,
    and whether the candidate's hand is up."""

    unread: int = 0
    hand_raised: bool = False
