"""Exam sessions: one candidate's attempt, moved only along the allowed transitions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum, utcnow


class Decision(StrEnum):
    """A reviewer's overall decision on an attempt."""

    CLEAR = "clear"
    SUSPICIOUS = "suspicious"
    CHEATING = "cheating"


class SessionState(StrEnum):
    INVITED = "invited"
    CHECKING = "checking"
    ENROLLED = "enrolled"
    RUNNING = "running"
    PAUSED = "paused"
    SUBMITTED = "submitted"
    TERMINATED = "terminated"
    EXPIRED = "expired"


# The most one proctor's action adds at once (the exam window's close still bounds it).
MAX_EXTRA_MINUTES = 24 * 60

_ENDINGS = {SessionState.TERMINATED, SessionState.EXPIRED}
ALLOWED_TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.INVITED: frozenset({SessionState.CHECKING, *_ENDINGS}),
    SessionState.CHECKING: frozenset({SessionState.ENROLLED, *_ENDINGS}),
    SessionState.ENROLLED: frozenset({SessionState.RUNNING, *_ENDINGS}),
    SessionState.RUNNING: frozenset({SessionState.PAUSED, SessionState.SUBMITTED, *_ENDINGS}),
    SessionState.PAUSED: frozenset({SessionState.RUNNING, *_ENDINGS}),
    SessionState.SUBMITTED: frozenset(),
    SessionState.TERMINATED: frozenset(),
    SessionState.EXPIRED: frozenset(),
}
FINAL_STATES = frozenset(state for state, nexts in ALLOWED_TRANSITIONS.items() if not nexts)
# A candidate's live socket is open, and candidate and proctors may chat, in these states.
IN_ROOM_STATES = frozenset({SessionState.ENROLLED, SessionState.RUNNING, SessionState.PAUSED})


class IllegalTransition(Exception):
    def __init__(self, current: SessionState, wanted: SessionState) -> None:
        super().__init__(f"an exam session cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class ExamSession(IdMixin, Base):
    __tablename__ = "exam_sessions"
    __table_args__ = (UniqueConstraint("candidate_id", "attempt", name="uq_sessions_attempt"),)

    candidate_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(default=1)
    state: Mapped[SessionState] = mapped_column(
        str_enum(SessionState), default=SessionState.INVITED
    )
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))
    risk_score: Mapped[float] = mapped_column(default=0.0)
    auto_terminate: Mapped[bool | None] = mapped_column(
        comment="Proctor's override of the exam policy; NULL follows the policy."
    )
    enrollment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The check-in record (domains/checkin/models.py CheckIn): reference distance, failed
    # enrolment attempts, admission.
    checkin: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[float | None]
    decision: Mapped[Decision | None] = mapped_column(str_enum(Decision))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    # The exam clock's stored facts (domains/sessions/clock.py reads them): the pause going on,
    # the pauses that ended, and the extra time proctors gave.
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[float] = mapped_column(default=0.0, server_default="0")
    extra_seconds: Mapped[float] = mapped_column(default=0.0, server_default="0")
    # The consent the candidate agreed to, exactly as shown (domains/sessions/consent.py).
    consent_text: Mapped[str | None] = mapped_column(Text)
    consent_sha256: Mapped[str | None] = mapped_column(String(64))
    consent_version: Mapped[int | None]
    consented_at: Mapped[datetime | None]

    def transition(self, wanted: SessionState, *, at: datetime, reason: str | None = None) -> None:
        if wanted not in ALLOWED_TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, wanted)
        if self.paused_at is not None:  # leaving a pause: the clock runs again
            # (paused_seconds is None on a row not written yet)
            self.paused_seconds = (self.paused_seconds or 0.0) + max(
                (at - self.paused_at).total_seconds(), 0.0
            )
            self.paused_at = None
        if wanted is SessionState.PAUSED:
            self.paused_at = at
        self.state = wanted
        self.state_changed_at = at
        if wanted is SessionState.RUNNING and self.started_at is None:
            self.started_at = at
        if wanted in FINAL_STATES:
            self.ended_at = at
            self.end_reason = reason


class SessionPrompt(IdMixin, Base):
    """A self-correction prompt the candidate was shown (rules/prompts.py): what they were
    told, from when until the condition cleared (NULL: it had not by the end)."""

    __tablename__ = "session_prompts"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    shown_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]


class PromptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    text: str
    shown_at: datetime
    cleared_at: datetime | None


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    candidate_id: uuid.UUID
    exam_id: uuid.UUID
    attempt: int
    state: SessionState
    state_changed_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    risk_score: float
    score: float | None
    decision: Decision | None
    decision_note: str | None
    decided_at: datetime | None
    paused_at: datetime | None
    paused_seconds: float
    extra_seconds: float
    consent_version: int | None = None
    consent_sha256: str | None = None
    consented_at: datetime | None = None


class ExtraTime(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(ge=1, le=MAX_EXTRA_MINUTES, description="Minutes added to the deadline.")


class Toggle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class AutoTerminateScope(StrEnum):
    EXAM = "exam"  # the exam's policy: every session follows it
    MY_SESSIONS = "my_sessions"  # an override on each session of the caller's candidates


class AutoTerminateChange(BaseModel):
    enabled: bool
    scope: AutoTerminateScope
    sessions: int = Field(description="Sessions whose setting changed.")
