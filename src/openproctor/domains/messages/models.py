"""Messages and warnings between a proctor and a candidate."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum


class MessageKind(StrEnum):
    MESSAGE = "message"
    WARNING = "warning"


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
