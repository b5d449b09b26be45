"""One row per exam that other systems drive: how they name it and where results go."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, utcnow


class ExamIntegration(Base):
    __tablename__ = "exam_integrations"

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    # The other system's name for this exam (a meeting, a course activity); unique.
    meeting_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Gets a signed POST when an attempt ends (submitted, terminated or expired).
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    callback_secret: Mapped[str | None] = mapped_column(String(100))
    # Where the candidate's ended page links back to.
    return_url: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IntegrationWrite(BaseModel):
    """PUT /api/v1/exams/{id}/integration: the whole document; fields left out are cleared."""

    model_config = ConfigDict(extra="forbid")

    meeting_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The other system's id for this exam (e.g. the seed API's meeting_id).",
    )
    callback_url: AnyHttpUrl | None = Field(
        default=None,
        description="Gets a signed POST (session.completed) when an attempt ends. It must "
        "resolve to public addresses only, unless OPENPROCTOR_OUTBOUND_ALLOW lists it.",
    )
    return_url: AnyHttpUrl | None = Field(
        default=None, description="The candidate's ended page links back here."
    )
    rotate_secret: bool = Field(
        default=False, description="Make a new callback secret (the old one stops working)."
    )


class IntegrationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    exam_id: uuid.UUID
    meeting_id: str | None
    callback_url: str | None
    callback_secret: str | None = Field(
        description="Verifies the callback's X-OpenProctor-Signature (same scheme as webhooks)."
    )
    return_url: str | None
