"""Tables of the LTI Advantage services a launch announces: where a resource link's grades
go (AGS) and where its course roster is read (NRPS), which candidates are LTI learners, and
the outbox of scores on their way to the platform."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum, utcnow

AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM = AGS_SCOPE + "lineitem"
SCOPE_LINEITEM_READONLY = AGS_SCOPE + "lineitem.readonly"
SCOPE_SCORE = AGS_SCOPE + "score"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


class LtiServiceLink(IdMixin, Base):
    """A resource link of a platform's course (unique per deployment, as LTI says) and the
    exam it opens, with the service endpoints its latest launch announced (NULL: the
    platform does not offer that service)."""

    __tablename__ = "lti_service_links"
    __table_args__ = (
        UniqueConstraint(
            "platform_id",
            "deployment_id",
            "resource_link_id",
            name="uq_lti_service_links_link",
        ),
    )

    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    deployment_id: Mapped[str] = mapped_column(String(255))
    # "" when the launch named no course (the context claim is optional).
    context_id: Mapped[str] = mapped_column(String(255))
    context_title: Mapped[str | None] = mapped_column(String(200))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), index=True
    )
    # AGS: the course's line items, the scopes granted, and the line item scores go to (the
    # launch's own, or the one this tool found or made for the exam).
    lineitems_url: Mapped[str | None] = mapped_column(String(2000))
    lineitem_url: Mapped[str | None] = mapped_column(String(2000))
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # NRPS: the course's membership list.
    memberships_url: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LtiLearner(Base):
    """A candidate who is an LTI learner: their platform user id (the Score's userId) and
    whether the roster sync added them (only those does it remove)."""

    __tablename__ = "lti_learners"

    candidate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True
    )
    link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_service_links.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(255))
    from_roster: Mapped[bool] = mapped_column(default=False)


class GradePostStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # A newer score of the same attempt was queued: a Score is the whole state, so only
    # the newest is sent.
    SUPERSEDED = "superseded"


class LtiGradePost(IdMixin, Base):
    """One Score for one attempt on its way to the platform: pending until a 2xx answer,
    retried on the webhooks' schedule (webhooks/schedule.py)."""

    __tablename__ = "lti_grade_posts"
    __table_args__ = (Index("ix_lti_grade_posts_due", "status", "next_attempt_at"),)

    link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_service_links.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    # The Score document (application/vnd.ims.lis.v1.score+json) as it will be sent.
    score: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[GradePostStatus] = mapped_column(
        str_enum(GradePostStatus), default=GradePostStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    retry_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]


class GradeSyncRead(BaseModel):
    """How the exam's grades reach the platforms: the latest score sent or tried."""

    linked: bool = Field(description="Whether a platform announced a grade service for it.")
    pending: int = Field(description="Scores waiting to be sent (or sent again).")
    failed: int = Field(description="Scores the platform did not take within the schedule.")
    last_delivered_at: datetime | None
    last_error: str | None = Field(description="The latest failure, if the latest try failed.")
    last_error_at: datetime | None


class RosterChange(BaseModel):
    """One person of a roster sync: what happens to them and why."""

    action: str = Field(description="add, update, remove, keep or unchanged")
    name: str
    email: str
    external_id: str
    reason: str = Field(default="", description="Why, in plain words.")
    candidate_id: uuid.UUID | None = None


class RosterSyncRead(BaseModel):
    exam_id: uuid.UUID
    dry_run: bool
    added: list[RosterChange]
    updated: list[RosterChange]
    removed: list[RosterChange]
    kept: list[RosterChange]
    unchanged: int
