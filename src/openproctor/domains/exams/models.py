"""Exams: opening window, duration, instructions, policy and questions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, utcnow
from openproctor.domains.exams import questions as exam_questions
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.exams.questions import Question
from openproctor.domains.exams.zones import check_zone


class Exam(IdMixin, Base):
    __tablename__ = "exams"

    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    duration_minutes: Mapped[int]
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    external_url: Mapped[str | None] = mapped_column(String(2000))
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_choices: Mapped[bool] = mapped_column(default=False)
    # The IANA zone the exam's times are entered and shown in; stored times are UTC.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def parsed_policy(self) -> ExamPolicy:
        return ExamPolicy.model_validate(self.policy)

    @property
    def parsed_questions(self) -> list[Question]:
        return exam_questions.parse(self.questions)

    @property
    def max_score(self) -> float:
        """What a candidate scores with every question right."""
        return exam_questions.max_score(self.parsed_questions)

    def is_open(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at


class ExamWrite(BaseModel):
    """Body for creating an exam and for replacing one (PUT)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    instructions: str = Field(default="", max_length=20000)
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    duration_minutes: int = Field(ge=1, le=24 * 60)
    policy: ExamPolicy = Field(default_factory=ExamPolicy)
    questions: list[Question] = Field(default_factory=list, max_length=500)
    external_url: AnyHttpUrl | None = None
    shuffle_questions: bool = Field(
        default=False,
        description="Each candidate gets the questions in their own order (the same on reload).",
    )
    shuffle_choices: bool = Field(
        default=False,
        description="Each candidate gets each question's choices in their own order.",
    )
    timezone: str = Field(
        default="UTC",
        max_length=64,
        description="IANA time zone (e.g. Europe/Berlin) the exam's times are shown in.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("title")
    @classmethod
    def _strip_title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("title must not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _window_is_consistent(self) -> ExamWrite:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        if not self.questions and self.external_url is None:
            raise ValueError("give built-in questions or an external_url")
        return self


class ExamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    instructions: str
    opens_at: datetime
    closes_at: datetime
    duration_minutes: int
    policy: ExamPolicy
    questions: list[Question]
    external_url: str | None
    shuffle_questions: bool
    shuffle_choices: bool
    timezone: str
    created_at: datetime
    updated_at: datetime
