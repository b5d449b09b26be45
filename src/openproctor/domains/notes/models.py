"""A proctor's note on a candidate's attempt: several per session, each with its author and
time, never shown to the candidate."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin

NOTE_MAX_CHARS = 2000


class SessionNote(IdMixin, Base):
    __tablename__ = "session_notes"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)


class NoteRead(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    # None once the author's account is deleted.
    author_name: str | None
    body: str
    created_at: datetime
