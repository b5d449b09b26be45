"""Accommodations as pure values: validation (the unknown kind named), extra time in minutes or
percent, the candidate's window, the labels staff see, and the clock they make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from openproctor.domains.candidates.accommodations import Accommodations
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.sessions.clock import Clock
from openproctor.domains.sessions.models import ExamSession, SessionState

OPENS = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def exam(minutes: int = 60, window_hours: float = 1) -> Exam:
    return Exam(
        title="Chemistry",
        opens_at=OPENS,
        closes_at=OPENS + timedelta(hours=window_hours),
        duration_minutes=minutes,
    )


def test_extra_time_in_percent_is_a_share_of_the_exams_duration() -> None:
    assert Accommodations(extra_percent=25).extra_time(exam(60)) == timedelta(minutes=15)
    assert Accommodations(extra_percent=10).extra_time(exam(45)) == timedelta(seconds=270)
    assert Accommodations(extra_minutes=20).extra_time(exam(45)) == timedelta(minutes=20)
    assert Accommodations().extra_time(exam(45)) == timedelta(0)


def test_the_clock_of_a_candidate_with_extra_percent_runs_longer_and_its_window_with_it() -> None:
    """An hour's exam in an hour's window, +50 %: 90 minutes, and the link works 90 minutes."""
    hour = exam(60, window_hours=1)
    candidate = Candidate(accommodations=Accommodations(extra_percent=50).stored())
    session = ExamSession(
        state=SessionState.RUNNING, started_at=OPENS, paused_seconds=0.0, extra_seconds=0.0
    )
    clock = Clock.of(session, hour, candidate)
    assert clock.deadline(OPENS) == OPENS + timedelta(minutes=90)
    assert clock.read(OPENS).accommodated_s == 30 * 60
    assert candidate.accommodated.window(hour).closes_at == OPENS + timedelta(minutes=90)
    plain = Clock.of(session, hour, Candidate(accommodations=None))
    assert plain.deadline(OPENS) == OPENS + timedelta(minutes=60)


def test_an_own_window_replaces_the_exams() -> None:
    later = Accommodations(
        opens_at=OPENS + timedelta(days=1), closes_at=OPENS + timedelta(days=1, hours=2)
    )
    window = later.window(exam())
    assert (window.opens_at, window.closes_at) == (later.opens_at, later.closes_at)
    assert not window.is_open(OPENS + timedelta(minutes=5))
    assert window.is_open(OPENS + timedelta(days=1, minutes=5))
    only_close = Accommodations(closes_at=OPENS + timedelta(hours=3), extra_minutes=10)
    assert only_close.window(exam()).opens_at == OPENS
    assert only_close.window(exam()).closes_at == OPENS + timedelta(hours=3, minutes=10)


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as refused:
        Accommodations.model_validate({"exempt": ["speech", "window_blur"]})
    [error] = refused.value.errors()
    assert error["loc"] == ("exempt",)
    assert "'window_blur' is not a violation kind" in error["msg"]
    assert "tab_switch" in error["msg"]  # the valid ones are listed


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"extra_minutes": 10, "extra_percent": 25}, "minutes or in percent, not both"),
        ({"extra_percent": 0}, "greater than or equal to 1"),
        ({"extra_minutes": 24 * 60 + 1}, "less than or equal to 1440"),
        ({"opens_at": "2026-12-01T10:00Z", "closes_at": "2026-12-01T09:00Z"}, "close after"),
        ({"opens_at": "2026-12-01T10:00"}, "timezone"),
        ({"extra_hours": 1}, "Extra inputs are not permitted"),
    ],
)
def test_inconsistent_accommodations_are_refused(document: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Accommodations.model_validate(document)


def test_labels_and_storage() -> None:
    accommodations = Accommodations(
        extra_percent=25,
        exempt=[ViolationKind.SPEECH, ViolationKind.TAB_SWITCH, ViolationKind.SPEECH],
        closes_at=datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
    )
    assert accommodations.labels() == [
        "Extra time +25 %",
        "Exempt: speech, tab_switch",
        "Own window the exam's opening to Tue 01 Dec 2026, 14:00 UTC",
    ]
    assert accommodations.stored() == {
        "extra_percent": 25,
        "exempt": ["speech", "tab_switch"],
        "closes_at": "2026-12-01T14:00:00Z",
    }
    assert Accommodations().stored() is None
    assert Accommodations(extra_minutes=15).labels() == ["Extra time +15 min"]
