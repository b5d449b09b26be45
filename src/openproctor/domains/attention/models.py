"""One attention sample: a session's score and label at a moment (rules/attention.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base
from openproctor.rules.attention import Label


class AttentionSample(Base):
    __tablename__ = "attention_samples"

    # A session has one sample per moment: the key is also the order they are read in.
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(primary_key=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(String(10))


class AttentionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    score: int
    label: Label
