"""The exam clock: the one definition of an attempt's deadline and time left.

An attempt has its exam's duration from its start, plus the candidate's accommodated extra
time, plus the extra time proctors gave it, plus every pause (a pause stops the clock: the
deadline moves by the paused time); never past the close of the candidate's window (the
exam's, or their own, later by the accommodated extra time: domains/candidates/
accommodations.py), when the invite link stops working. The stored facts (start, finished
pauses, the pause going on, extra time) are the session's columns, the accommodation the
candidate's; everything that needs the deadline (the REST routes, expiry, the candidate's
page, the live sockets) asks `Clock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from openproctor.domains.candidates.models import Candidate
    from openproctor.domains.exams.models import Exam
    from openproctor.domains.sessions.models import ExamSession

# A browser that submits when its countdown reaches zero still gets through on a slow network.
SUBMIT_GRACE = timedelta(seconds=30)


class ClockJson(TypedDict):
    """The clock as it travels between nodes: instants in epoch seconds."""

    started_at: float | None
    duration_s: float
    closes_at: float
    paused_s: float
    paused_since: float | None
    extra_s: float
    accommodated_s: float


class ClockRead(BaseModel):
    """What the candidate's page and the API read: the deadline, whether the clock stands
    still, and the time left (frozen while paused)."""

    ends_at: datetime | None = Field(
        description="When time runs out if the clock keeps running from now; null before "
        "the start. While paused it moves on with the pause."
    )
    paused: bool = Field(description="The clock stands still (the proctor paused the exam).")
    left_s: float | None = Field(description="Seconds left; null before the start.")
    extra_s: float = Field(description="Extra time proctors gave this attempt, in seconds.")
    accommodated_s: float = Field(
        description="Extra time the candidate's accommodations add to every attempt, in seconds."
    )
    paused_s: float = Field(description="Seconds the attempt has been paused so far.")


def _epoch(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def _instant(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


@dataclass(frozen=True, slots=True)
class Clock:
    started_at: datetime | None
    duration: timedelta
    closes_at: datetime
    paused: timedelta  # pauses that ended
    paused_since: datetime | None  # the pause going on
    extra: timedelta  # given by proctors during the attempt
    accommodated: timedelta = timedelta(0)  # the candidate's accommodation

    @classmethod
    def of(cls, session: ExamSession, exam: Exam, candidate: Candidate) -> Clock:
        accommodations = candidate.accommodated
        return cls(
            started_at=session.started_at,
            duration=timedelta(minutes=exam.duration_minutes),
            closes_at=accommodations.window(exam).closes_at,
            paused=timedelta(seconds=session.paused_seconds),
            paused_since=session.paused_at,
            extra=timedelta(seconds=session.extra_seconds),
            accommodated=accommodations.extra_time(exam),
        )

    def paused_until(self, now: datetime) -> timedelta:
        """Every pause so far, the one going on counted up to `now`."""
        ongoing = max(now - self.paused_since, timedelta(0)) if self.paused_since else None
        return self.paused + (ongoing or timedelta(0))

    def deadline(self, now: datetime) -> datetime | None:
        """When time runs out if the clock runs from `now` on; None before the start."""
        if self.started_at is None:
            return None
        allowed = self.duration + self.accommodated + self.extra
        end = self.started_at + allowed + self.paused_until(now)
        return min(end, self.closes_at)

    def left(self, now: datetime) -> timedelta | None:
        """Time left at `now` (zero once it ran out); None before the start."""
        deadline = self.deadline(now)
        return max(deadline - now, timedelta(0)) if deadline is not None else None

    def is_up(self, now: datetime) -> bool:
        """The time and the grace to submit ran out; never while paused."""
        deadline = self.deadline(now)
        return self.paused_since is None and deadline is not None and now >= deadline + SUBMIT_GRACE

    def read(self, now: datetime) -> ClockRead:
        left = self.left(now)
        return ClockRead(
            ends_at=self.deadline(now),
            paused=self.paused_since is not None,
            left_s=left.total_seconds() if left is not None else None,
            extra_s=self.extra.total_seconds(),
            accommodated_s=self.accommodated.total_seconds(),
            paused_s=self.paused_until(now).total_seconds(),
        )

    def to_json(self) -> ClockJson:
        return {
            "started_at": _epoch(self.started_at),
            "duration_s": self.duration.total_seconds(),
            "closes_at": self.closes_at.timestamp(),
            "paused_s": self.paused.total_seconds(),
            "paused_since": _epoch(self.paused_since),
            "extra_s": self.extra.total_seconds(),
            "accommodated_s": self.accommodated.total_seconds(),
        }

    @classmethod
    def from_json(cls, data: ClockJson | dict[str, Any]) -> Clock:
        closes_at = _instant(data["closes_at"])
        assert closes_at is not None
        return cls(
            started_at=_instant(data["started_at"]),
            duration=timedelta(seconds=data["duration_s"]),
            closes_at=closes_at,
            paused=timedelta(seconds=data["paused_s"]),
            paused_since=_instant(data["paused_since"]),
            extra=timedelta(seconds=data["extra_s"]),
            accommodated=timedelta(seconds=data["accommodated_s"]),
        )
