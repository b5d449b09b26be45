"""Webhook subscriptions and their deliveries (the outbox and the delivery log in one)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum, utcnow


class WebhookEvent(StrEnum):
    """The events a webhook can subscribe to."""

    SESSION_STARTED = "session.started"
    SESSION_ENDED = "session.ended"
    VIOLATION_OPENED = "violation.opened"
    VIOLATION_CLOSED = "violation.closed"
    RECORDING_READY = "recording.ready"
    REVIEW_COMPLETED = "review.completed"
    INVITATION_CREATED = "invitation.created"
    INVITATION_SENT = "invitation.sent"


# Sent to an exam's callback_url (not subscribable): the attempt ended.
CALLBACK_EVENT = "session.completed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(IdMixin, Base):
    __tablename__ = "webhooks"

    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    # NULL: every exam's events.
    exam_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(200), default="")
    # Kept as is: it signs every delivery (HMAC-SHA256), so it cannot be stored hashed.
    secret: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Set by a rotation: the secret before it, still signing until previous_secret_until.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None]
    # Set when the server turned the webhook off (its receiver kept failing, or said 410).
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class WebhookDelivery(IdMixin, Base):
    """One event for one receiver: pending until a 2xx answer, retried with back-off."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    # NULL for an exam's completion callback, whose secret is the exam's callback_secret.
    webhook_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    exam_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(50))
    # Set for events that must reach each receiver once (e.g. one session.ended per session).
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set at the first failed attempt: retried until then, then failed for good.
    retry_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    # The latest attempts: [{"at", "status_code", "error", "ms"}], newest last.
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(
        description="Where the events are POSTed (http or https). It must resolve to public "
        "addresses only, unless the server's OPENPROCTOR_OUTBOUND_ALLOW lists it."
    )
    events: list[WebhookEvent] = Field(min_length=1, description="The events to receive.")
    exam_id: uuid.UUID | None = Field(
        default=None, description="Only this exam's events; leave out for every exam."
    )
    description: str = Field(default="", max_length=200)

    @field_validator("events")
    @classmethod
    def _unique_events(cls, value: list[WebhookEvent]) -> list[WebhookEvent]:
        return sorted(set(value))


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    events: list[str]
    exam_id: uuid.UUID | None
    description: str
    is_active: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_until: datetime | None = Field(
        description="While a rotation is under way: until when the previous secret still signs."
    )
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="Verifies the webhook-signature header (Standard Webhooks; also the "
        "deprecated X-OpenProctor-Signature): shown this once."
    )


MAX_GRACE_HOURS = 7 * 24


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_hours: float = Field(
        default=24,
        ge=0,
        le=MAX_GRACE_HOURS,
        description="How long the current secret keeps signing beside the new one, so "
        "receivers can switch without losing a request (0: at once).",
    )


class DeliveryAttempt(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    ms: float


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    webhook_id: uuid.UUID | None
    exam_id: uuid.UUID | None
    event_id: uuid.UUID
    event_type: str
    url: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    retry_until: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    log: list[DeliveryAttempt]
