"""Candidates: the people who take an exam, each with an unguessable invite token."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin
from openproctor.domains.candidates.accommodations import Accommodations

# 32 random bytes: 256 bits, well above the 128 the invite link needs.
INVITE_TOKEN_BYTES = 32


def new_invite_token() -> str:
    return secrets.token_urlsafe(INVITE_TOKEN_BYTES)


class Candidate(IdMixin, Base):
    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("exam_id", "email", name="uq_candidates_exam_email"),)

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    external_id: Mapped[str | None] = mapped_column(String(200))
    invite_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_invite_token)
    proctor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Accommodations.stored(): NULL without any (read them through `accommodated`).
    accommodations: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def accommodated(self) -> Accommodations:
        return Accommodations.model_validate(self.accommodations or {})

    # The last time the practice link's check and photo passed (no attempt is made by it).
    practised_at: Mapped[datetime | None]
    # The registered reference photo (domains/checkin/models.py ReferencePhoto), or None.
    reference_photo: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set when an admin withdrew the link: invite_token opens nothing until a new one is made.
    invite_withdrawn_at: Mapped[datetime | None]


class ReplacedInvite(Base):
    """An invite link that was replaced by a new one: kept (as a digest, never the token) so
    that its page can say it was replaced rather than that it never existed."""

    __tablename__ = "replaced_invites"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    replaced_at: Mapped[datetime]


class CandidateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    external_id: str | None = Field(default=None, max_length=200)
    proctor_id: uuid.UUID | None = None
    accommodations: Accommodations = Field(default_factory=Accommodations)


class CandidateUpdate(BaseModel):
    """A change to a candidate: fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    external_id: str | None = Field(default=None, max_length=200)
    accommodations: Accommodations | None = Field(
        default=None, description="Replaces the candidate's accommodations ({} removes them)."
    )


class CandidateAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proctor_id: uuid.UUID | None


class CandidateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    exam_id: uuid.UUID
    name: str
    email: str
    external_id: str | None
    proctor_id: uuid.UUID | None
    accommodations: Accommodations = Field(validation_alias="accommodated")
    created_at: datetime
    practised_at: datetime | None = None
    invite_withdrawn_at: datetime | None = None


class CandidateInvite(CandidateRead):
    """Read model for staff who may hand out the link."""

    invite_url: str
