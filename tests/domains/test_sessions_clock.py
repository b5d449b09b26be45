"""The exam clock as pure arithmetic: an hour's exam, paused and given extra time, at instants
written out here (minutes after a fixed start)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from openproctor.background import time_is_up
from openproctor.domains.sessions.clock import SUBMIT_GRACE, Clock
from openproctor.domains.sessions.models import ExamSession, SessionState

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = SessionState


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def hour_exam(
    *,
    paused: float = 0,
    paused_since: float | None = None,
    extra: float = 0,
    accommodated: float = 0,
    closes_after: float = 24 * 60,
) -> Clock:
    """An hour's exam started at START; pauses and extra time in minutes."""
    return Clock(
        started_at=START,
        duration=timedelta(hours=1),
        closes_at=at(closes_after),
        paused=timedelta(minutes=paused),
        paused_since=at(paused_since) if paused_since is not None else None,
        extra=timedelta(minutes=extra),
        accommodated=timedelta(minutes=accommodated),
    )


def test_a_running_clock_counts_down_to_the_duration() -> None:
    clock = hour_exam()
    assert clock.deadline(at(0)) == at(60)
    assert clock.left(at(15)) == timedelta(minutes=45)
    assert clock.left(at(75)) == timedelta(0)  # never below zero


def test_a_pause_stands_the_clock_still_and_moves_the_deadline() -> None:
    paused = hour_exam(paused_since=20)  # paused at 20 minutes in: 40 left
    assert paused.left(at(20)) == paused.left(at(95)) == timedelta(minutes=40)
    assert paused.deadline(at(30)) == at(70)  # ten minutes into the pause
    # Resumed after 10 s (the testers' case): the deadline is 10 s later than it was.
    resumed = hour_exam(paused=10 / 60)
    assert resumed.deadline(at(21)) == at(60) + timedelta(seconds=10)


def test_an_attempt_paused_past_its_deadline_is_not_up_until_it_runs_out_after_resuming() -> None:
    paused = hour_exam(paused_since=55)  # 5 minutes left when paused
    assert not paused.is_up(at(90))  # half an hour past the original deadline
    assert not time_is_up(state=S.PAUSED, clock=paused, now=at(90).timestamp())
    resumed = hour_exam(paused=35)  # resumed at 90: runs out at 95
    assert resumed.left(at(90)) == timedelta(minutes=5)
    assert not resumed.is_up(at(95))  # the grace to submit
    assert resumed.is_up(at(95) + SUBMIT_GRACE)
    assert time_is_up(state=S.RUNNING, clock=resumed, now=(at(95) + SUBMIT_GRACE).timestamp())


def test_extra_time_and_pauses_add_up() -> None:
    clock = hour_exam(paused=3, paused_since=50, extra=10)
    # At 52: 2 minutes into the second pause. 60 + 3 + 2 + 10 = 75.
    assert clock.deadline(at(52)) == at(75)
    assert clock.left(at(52)) == timedelta(minutes=23)
    assert clock.read(at(52)).model_dump() == {
        "ends_at": at(75),
        "paused": True,
        "left_s": 23 * 60,
        "extra_s": 10 * 60,
        "accommodated_s": 0,
        "paused_s": 5 * 60,
    }


def test_accommodated_extra_time_adds_to_the_proctors_and_the_pauses() -> None:
    clock = hour_exam(paused=3, extra=10, accommodated=15)
    assert clock.deadline(at(0)) == at(60 + 15 + 10 + 3)
    assert clock.read(at(0)).accommodated_s == 15 * 60
    assert hour_exam(accommodated=15, closes_after=70).deadline(at(0)) == at(70)


def test_nothing_moves_the_deadline_past_the_window_close() -> None:
    clock = hour_exam(extra=30, closes_after=70)
    assert clock.deadline(at(0)) == at(70)
    paused = hour_exam(paused_since=50, closes_after=70)
    assert paused.left(at(55)) == timedelta(minutes=10)
    assert paused.left(at(65)) == timedelta(minutes=5)  # the close draws near all the same
    # Paused past the close it is not up (nobody can reach it, but nothing ends it behind
    # the proctor's back); resumed, it is.
    assert not paused.is_up(at(80))
    assert hour_exam(paused=30, closes_after=70).is_up(at(80))


def test_no_deadline_before_the_start() -> None:
    clock = Clock(
        started_at=None,
        duration=timedelta(hours=1),
        closes_at=at(100),
        paused=timedelta(0),
        paused_since=None,
        extra=timedelta(0),
    )
    assert clock.deadline(at(0)) is None
    assert clock.left(at(0)) is None
    assert not clock.is_up(at(500))


def test_the_clock_travels_between_nodes_unchanged() -> None:
    clock = hour_exam(paused=1.5, paused_since=40, extra=7, accommodated=15)
    assert Clock.from_json(clock.to_json()) == clock


def test_the_state_machine_keeps_the_paused_time() -> None:
    session = ExamSession(state=S.RUNNING, attempt=1, started_at=at(0), paused_seconds=0.0)
    session.transition(S.PAUSED, at=at(10))
    assert session.paused_at == at(10)
    session.transition(S.RUNNING, at=at(10) + timedelta(seconds=10))
    assert (session.paused_at, session.paused_seconds) == (None, 10.0)
    session.transition(S.PAUSED, at=at(30))
    session.transition(S.TERMINATED, at=at(32))  # ended while paused: the pause ends too
    assert (session.paused_at, session.paused_seconds) == (None, 130.0)
