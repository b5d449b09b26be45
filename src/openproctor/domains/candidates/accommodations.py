"""A candidate's accommodations: extra time, rule exemptions and a window of their own.

They are stored on the candidate as a validated JSON document and apply to each of the
candidate's attempts: the exam clock (domains/sessions/clock.py) adds the extra time to the
attempt's deadline and moves the candidate's window close by as much, the invite link opens
in the candidate's own window, and the rule engine (rules/engine.py) never opens a violation
of an exempt kind for them. Exempt kinds are not recorded at all (not even as detections):
the review page and report say which accommodations applied, so a reviewer reads "exempt
from speech", never a count of speech that looks like a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.exams.zones import format_time

if TYPE_CHECKING:
    from openproctor.domains.exams.models import Exam

MAX_EXTRA_MINUTES = 24 * 60
MAX_EXTRA_PERCENT = 400  # five times the exam's duration, the most any accommodation asks
KINDS = ", ".join(kind.value for kind in ViolationKind)


@dataclass(frozen=True, slots=True)
class Window:
    """When the candidate's invite link works: from `opens_at` until `closes_at`."""

    opens_at: datetime
    closes_at: datetime

    def is_open(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at


class Accommodations(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extra_minutes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_EXTRA_MINUTES,
        title="Extra minutes",
        description="Minutes added to every attempt's time (and to the window's close).",
    )
    extra_percent: int | None = Field(
        default=None,
        ge=1,
        le=MAX_EXTRA_PERCENT,
        title="Extra time in percent",
        description="Percent of the exam's duration added to every attempt's time (and to the "
        "window's close); instead of extra_minutes.",
    )
    exempt: list[ViolationKind] = Field(
        default_factory=list,
        title="Exempt violation kinds",
        description="Violation kinds that never open for this candidate (e.g. tab_switch for "
        "an assistive tool that takes the focus, speech for dictation software, "
        f"looking_away for a screen magnifier). One of: {KINDS}.",
    )
    opens_at: AwareDatetime | None = Field(
        default=None,
        title="Own window opens",
        description="The candidate's invite link works from then instead of the exam's opening.",
    )
    closes_at: AwareDatetime | None = Field(
        default=None,
        title="Own window closes",
        description="The candidate's invite link works until then (plus the extra time) "
        "instead of the exam's close.",
    )

    @field_validator("exempt", mode="before")
    @classmethod
    def _known_kinds(cls, value: Any) -> Any:
        """Names the unknown kind (pydantic's own message lists only the valid ones)."""
        if isinstance(value, list):
            for kind in value:
                if kind not in ViolationKind.__members__.values():
                    raise ValueError(f"{kind!r} is not a violation kind (one of: {KINDS})")
        return value

    @field_validator("exempt")
    @classmethod
    def _sorted(cls, value: list[ViolationKind]) -> list[ViolationKind]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _consistent(self) -> Accommodations:
        if self.extra_minutes is not None and self.extra_percent is not None:
            raise ValueError("give extra time in minutes or in percent, not both")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("the candidate's window must close after it opens")
        return self

    def extra_time(self, exam: Exam) -> timedelta:
        """The time added to each of the candidate's attempts at `exam`, to the second."""
        if self.extra_minutes is not None:
            return timedelta(minutes=self.extra_minutes)
        if self.extra_percent is not None:
            return timedelta(seconds=round(exam.duration_minutes * 60 * self.extra_percent / 100))
        return timedelta(0)

    def window(self, exam: Exam) -> Window:
        """When the candidate's invite link works: their own window where set, else the
        exam's; the close later by the extra time, so it fits even in a window as long as the
        exam (the exam clock never runs past it)."""
        return Window(
            opens_at=self.opens_at or exam.opens_at,
            closes_at=(self.closes_at or exam.closes_at) + self.extra_time(exam),
        )

    def labels(self, zone: str = "UTC") -> list[str]:
        """What the proctor's tile, the review page and the report show, one line each; an
        own window's times in `zone` (the exam's)."""
        labels = []
        if self.extra_minutes is not None:
            labels.append(f"Extra time +{self.extra_minutes} min")
        if self.extra_percent is not None:
            labels.append(f"Extra time +{self.extra_percent} %")
        if self.exempt:
            labels.append("Exempt: " + ", ".join(kind.value for kind in self.exempt))
        if self.opens_at or self.closes_at:
            opens = format_time(self.opens_at, zone) if self.opens_at else "the exam's opening"
            closes = format_time(self.closes_at, zone) if self.closes_at else "the exam's close"
            labels.append(f"Own window {opens} to {closes}")
        return labels

    def stored(self) -> dict[str, Any] | None:
        """The candidate's column: None without any accommodation."""
        return self.model_dump(mode="json", exclude_defaults=True) or None
