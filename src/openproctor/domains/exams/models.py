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
from openproctor.domains.exams.policy import ExamPolicy


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
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def parsed_policy(self) -> ExamPolicy:
        return ExamPolicy.model_validate(self.policy)

    def is_open(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=5000)
    choices: list[str] = Field(min_length=2, max_length=10)
    answer: int = Field(ge=0, description="Index of the correct choice.")
    points: float = Field(default=1, gt=0, le=100)

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> Question:
        if self.answer >= len(self.choices):
            raise ValueError(f"answer {self.answer} is not one of the {len(self.choices)} choices")
        return self


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
    created_at: datetime
    updated_at: datetime
