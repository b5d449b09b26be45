"""An exam's e-mail wording, and each e-mail to a candidate with its delivery status."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum, utcnow

MAX_SUBJECT_CHARS = 200
MAX_BODY_CHARS = 10_000
# The earliest a reminder may go: a week before the window opens.
MAX_REMINDER_LEAD_MINUTES = 7 * 24 * 60


class EmailKind(StrEnum):
    INVITATION = "invitation"
    REMINDER = "reminder"


class EmailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class MailTemplate(Base):
    """The exam's wording of its invitation and reminder; an exam without a row uses the
    defaults (letters.DEFAULT_TEMPLATE) and sends no reminder."""

    __tablename__ = "mail_templates"

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    invitation_subject: Mapped[str] = mapped_column(String(MAX_SUBJECT_CHARS))
    invitation_body: Mapped[str] = mapped_column(Text)
    reminder_subject: Mapped[str] = mapped_column(String(MAX_SUBJECT_CHARS))
    reminder_body: Mapped[str] = mapped_column(Text)
    # Minutes before the candidate's window opens that the reminder goes; None: no reminder.
    reminder_lead_minutes: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CandidateEmail(IdMixin, Base):
    """One e-mail to one candidate. Its words are written when it is sent (from the wording
    and the link as they are then), so a link renewed meanwhile is the one that goes."""

    __tablename__ = "candidate_emails"

    candidate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EmailKind] = mapped_column(str_enum(EmailKind))
    status: Mapped[EmailStatus] = mapped_column(str_enum(EmailStatus), index=True)
    # Who asked for it ("system" for reminders), for the roster and the audit.
    requested_by: Mapped[str] = mapped_column(String(320))
    # Reminders only: "reminder:<candidate id>", so that each candidate gets one, once,
    # whichever node's sweep finds it due first.
    once_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    to_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(MAX_SUBJECT_CHARS))
    error: Mapped[str | None] = mapped_column(String(600))
    # When a mailer took it (SENDING) and when it was sent or failed.
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class TemplateWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invitation_subject: str = Field(min_length=1, max_length=MAX_SUBJECT_CHARS)
    invitation_body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    reminder_subject: str = Field(min_length=1, max_length=MAX_SUBJECT_CHARS)
    reminder_body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    reminder_lead_minutes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_REMINDER_LEAD_MINUTES,
        description="Minutes before the candidate's window opens that the reminder is sent; "
        "null sends none.",
    )


class TemplateRead(TemplateWrite):
    model_config = ConfigDict(from_attributes=True)

    placeholders: dict[str, str]


class EmailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    candidate_id: uuid.UUID
    kind: EmailKind
    status: EmailStatus
    requested_by: str
    to_address: str | None
    subject: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(
        pattern="^(all|unsent)$",
        description="all: every candidate with a working link; unsent: those who have no "
        "invitation queued or sent yet (failed ones included).",
    )


class Queued(BaseModel):
    queued: int
    skipped: int = Field(description="Candidates left out: their link is withdrawn.")
