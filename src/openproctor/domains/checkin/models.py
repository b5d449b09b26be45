"""Check-in: what identifies a candidate before the exam starts, and who let them in.

Two JSON documents, one owner each: a candidate's registered reference photo
(`candidates.reference_photo`, ReferencePhoto) and a session's check-in record
(`exam_sessions.checkin`, CheckIn): how the live enrolment face compared with the reference,
the failed enrolment attempts, and the admission decision (automatic or a proctor's).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReferencePhoto(BaseModel):
    """A candidate's registered photo: where it is stored and its face embedding, made once by
    the analysis workers (`embedder` says which model: IdentityConfig.embedder)."""

    key: str
    content_type: str
    size_bytes: int
    sha256: str
    embedding: list[float]
    embedder: str
    uploaded_at: datetime


class ReferenceRead(BaseModel):
    """What staff see of a reference photo (not its embedding)."""

    candidate_id: uuid.UUID
    url: str
    content_type: str
    size_bytes: int
    embedder: str
    uploaded_at: datetime


class Admission(StrEnum):
    """Where a session's check-in stands."""

    WAITING = "waiting"  # in the lobby, for a proctor
    ADMITTED = "admitted"
    REJECTED = "rejected"
    RETRY = "retry"  # a proctor asked for a new enrolment photo


AUTO = "auto"  # CheckIn.decided_by of a decision taken by the policy, not a person


class IdOnRecord(BaseModel):
    """The last ID document a candidate showed, as the lobby shows it to the proctor."""

    image_url: str
    checked_at: datetime
    passed: bool
    face_found: bool
    face_matched: bool | None
    distance: float | None = Field(description="The document's portrait to the live face.")
    compared_with: str | None = Field(description='"enrolment" or "frame" (see IdCheckRead).')
    max_distance: float
    name_matched: bool
    name_lines: list[str] = Field(description="The lines the roster name was found on.")
    lines: list[str] = Field(description="Every line of text read, top to bottom.")
    guidance: str = Field(description="What the candidate was told.")


class CheckIn(BaseModel):
    """A session's check-in record. Every field has a default: a session that never enrolled
    has the empty record."""

    model_config = ConfigDict(extra="ignore")

    admission: Admission | None = None
    reason: str | None = Field(default=None, description="Why the decision was taken.")
    decided_by: str | None = Field(
        default=None, description='"auto", or the email of the proctor who decided.'
    )
    decided_at: datetime | None = None
    waiting_since: datetime | None = None
    failed_attempts: int = 0
    last_refusal: str | None = None
    # Waiting because no photo could be enrolled (not because of a decision on one).
    needs_help: bool = False
    # The live enrolment face against the candidate's reference photo.
    reference_distance: float | None = None
    threshold: float | None = None
    embedder: str | None = None
    # When the accepted (or last refused) enrolment photo arrived.
    photo_at: datetime | None = None
    # With the exam's id_check, the accepted enrolment photo's verdict waits here for the ID
    # check's (None: no ID step pending). The candidate's page shows the ID step while it is set.
    photo_admits: bool | None = None
    # The last ID document shown, and what was found on it; the lobby shows it.
    id_document: IdOnRecord | None = None

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> CheckIn:
        return cls.model_validate(stored or {})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def for_candidate(self) -> CandidateCheckIn:
        """What the candidate's page is told: where they stand and a proctor's words, never
        the automatic reason (a distance would tell an impostor how near they came)."""
        note = self.reason if self.decided_by not in (None, AUTO) else None
        return CandidateCheckIn(
            admission=self.admission,
            note=note,
            needs_help=self.needs_help,
            id_step=self.photo_admits is not None,
        )


class CandidateCheckIn(BaseModel):
    admission: Admission | None
    note: str | None
    needs_help: bool
    id_step: bool = Field(description="The photo is taken; the candidate shows their ID next.")


class LobbyEntry(BaseModel):
    """One waiting candidate on the proctor's wall: the reference photo, the live face, the
    distance and the reason side by side."""

    session_id: uuid.UUID
    candidate_id: uuid.UUID
    candidate_name: str
    candidate_email: str
    checkin: CheckIn
    reference_url: str | None
    live_url: str | None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)
