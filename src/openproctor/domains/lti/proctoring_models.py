"""LTI Proctoring Services tables: each proctored attempt a platform started with
LtiStartProctoring, and the outbox of Assessment Control requests sent to the platform."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum, utcnow


class LtiProctoredAttempt(IdMixin, Base):
    """One platform attempt (user, resource link, attempt number) proctored by one of our
    exam sessions. The latest LtiStartProctoring launch of the attempt sets what the
    LtiStartAssessment hand-back must echo (session_data, start_assessment_url)."""

    __tablename__ = "lti_proctored_attempts"
    __table_args__ = (
        UniqueConstraint(
            "platform_id",
            "resource_link_id",
            "subject",
            "attempt_number",
            name="uq_lti_proctored_attempts_attempt",
        ),
    )

    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    attempt_number: Mapped[int]
    session_data: Mapped[str | None] = mapped_column(Text)
    start_assessment_url: Mapped[str] = mapped_column(String(2000))
    # The Assessment Control service (acs claim): where to POST, and the actions it takes.
    control_url: Mapped[str | None] = mapped_column(String(2000))
    control_actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    assessment_started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ControlAction(StrEnum):
    """The Assessment Control actions (LTI Proctoring Services 1.0, section 6)."""

    FLAG = "flag"
    PAUSE = "pause"
    RESUME = "resume"
    TERMINATE = "terminate"
    UPDATE = "update"


class ControlStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class LtiControlRequest(IdMixin, Base):
    """An Assessment Control request, written in the transaction of the proctor's action and
    POSTed by the control deliverer (retried with the webhooks' back-off; in order per
    attempt). `answer` is the status the platform answered (running, paused, terminated…)."""

    __tablename__ = "lti_control_requests"
    __table_args__ = (Index("ix_lti_control_requests_due", "status", "next_attempt_at"),)

    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_proctored_attempts.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[ControlAction] = mapped_column(str_enum(ControlAction))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[ControlStatus] = mapped_column(
        str_enum(ControlStatus), default=ControlStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    retry_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    answer: Mapped[str | None] = mapped_column(String(20))
    sent_at: Mapped[datetime | None]
