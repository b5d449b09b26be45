"""Violations: debounced, scored findings with evidence and a reviewer's verdict."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum
from openproctor.domains.exams.policy import Severity, ViolationKind

EVIDENCE_ERROR_LENGTH = 500


class ReviewStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class Violation(IdMixin, Base):
    __tablename__ = "violations"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ViolationKind] = mapped_column(str_enum(ViolationKind, 40))
    label: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, 10))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    score: Mapped[float] = mapped_column(default=0.0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    review_status: Mapped[ReviewStatus] = mapped_column(
        str_enum(ReviewStatus), default=ReviewStatus.PENDING
    )
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]
    # Why no evidence image is attached although a frame was there (storage full or down):
    # the violation is kept all the same, and reviewers see the reason.
    evidence_error: Mapped[str | None] = mapped_column(String(EVIDENCE_ERROR_LENGTH))
    # A proctor marked the alert handled during the exam (once: the first one stays).
    handled_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    handled_at: Mapped[datetime | None]


class ViolationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    session_id: uuid.UUID
    candidate_id: uuid.UUID
    kind: ViolationKind
    label: str | None
    severity: Severity
    started_at: datetime
    ended_at: datetime | None
    score: float
    review_status: ReviewStatus
    review_note: str | None
    evidence_url: str | None
    evidence_error: str | None = None
    # What saw it ("tab", "window", "page"; "faces", "persons"): rules/conditions.py.
    detections: list[str] = []
    # Who marked the alert handled (None once their account is deleted) and when; None: not.
    handled_at: datetime | None = None
    handled_by_name: str | None = None
