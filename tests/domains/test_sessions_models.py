"""The session state machine as candidates and proctors meet it: the moves they make, and
the ones that are refused. Expectations are written out here, not read from the table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openproctor.db import utcnow
from openproctor.domains.sessions.models import (
    FINAL_STATES,
    ExamSession,
    IllegalTransition,
    SessionState,
)

S = SessionState


def session_in(state: SessionState) -> ExamSession:
    return ExamSession(state=state, attempt=1)


def walk(*states: SessionState) -> ExamSession:
    """A session moved from invited through the given states, a minute apart."""
    session = session_in(S.INVITED)
    at = utcnow()
    for step, state in enumerate(states):
        session.transition(state, at=at + timedelta(minutes=step))
    return session


def test_a_candidate_checks_enrols_starts_and_submits() -> None:
    session = walk(S.CHECKING, S.ENROLLED, S.RUNNING, S.SUBMITTED)
    assert session.state is S.SUBMITTED
    assert session.started_at is not None
    assert session.ended_at is not None
    assert session.ended_at - session.started_at == timedelta(minutes=1)


def test_a_pause_and_resume_keep_the_start_time() -> None:
    session = walk(S.CHECKING, S.ENROLLED, S.RUNNING)
    started = session.started_at
    session.transition(S.PAUSED, at=utcnow() + timedelta(hours=1))
    session.transition(S.RUNNING, at=utcnow() + timedelta(hours=2))
    assert session.state is S.RUNNING
    assert session.started_at == started
    assert session.ended_at is None


@pytest.mark.parametrize(
    "before",
    [
        pytest.param((), id="invited"),
        pytest.param((S.CHECKING,), id="checking"),
        pytest.param((S.CHECKING, S.ENROLLED), id="enrolled"),
        pytest.param((S.CHECKING, S.ENROLLED, S.RUNNING), id="running"),
        pytest.param((S.CHECKING, S.ENROLLED, S.RUNNING, S.PAUSED), id="paused"),
    ],
)
def test_a_proctor_can_terminate_an_attempt_at_any_stage_before_it_ends(
    before: tuple[SessionState, ...],
) -> None:
    session = walk(*before)
    session.transition(S.TERMINATED, at=utcnow(), reason="phone in hand")
    assert (session.state, session.end_reason) == (S.TERMINATED, "phone in hand")
    assert session.ended_at is not None


def test_time_runs_out_while_running_or_paused() -> None:
    for path in ((S.RUNNING,), (S.RUNNING, S.PAUSED)):
        session = walk(S.CHECKING, S.ENROLLED, *path, S.EXPIRED)
        assert session.state is S.EXPIRED
        assert session.ended_at is not None


@pytest.mark.parametrize(
    ("before", "wanted"),
    [
        pytest.param((), S.RUNNING, id="starting-without-the-system-check"),
        pytest.param((S.CHECKING,), S.RUNNING, id="starting-without-enrolment"),
        pytest.param((S.CHECKING, S.ENROLLED), S.SUBMITTED, id="submitting-before-starting"),
        pytest.param((S.CHECKING, S.ENROLLED), S.PAUSED, id="pausing-before-starting"),
        pytest.param(
            (S.CHECKING, S.ENROLLED, S.RUNNING), S.RUNNING, id="resuming-what-is-not-paused"
        ),
        pytest.param(
            (S.CHECKING, S.ENROLLED, S.RUNNING, S.PAUSED), S.SUBMITTED, id="submitting-while-paused"
        ),
        pytest.param((S.CHECKING, S.ENROLLED, S.RUNNING), S.ENROLLED, id="enrolling-again"),
        pytest.param((S.CHECKING, S.ENROLLED, S.RUNNING), S.INVITED, id="going-back-to-invited"),
    ],
)
def test_steps_out_of_order_are_refused(
    before: tuple[SessionState, ...], wanted: SessionState
) -> None:
    session = walk(*before)
    state, changed, started = session.state, session.state_changed_at, session.started_at
    with pytest.raises(IllegalTransition, match=f"from {state} to {wanted}") as refused:
        session.transition(wanted, at=utcnow() + timedelta(days=1))
    assert (refused.value.current, refused.value.wanted) == (state, wanted)
    assert (session.state, session.state_changed_at, session.started_at) == (
        state,
        changed,
        started,
    )


@pytest.mark.parametrize(
    "ending",
    [
        pytest.param((S.RUNNING, S.SUBMITTED), id="submitted"),
        pytest.param((S.TERMINATED,), id="terminated"),
        pytest.param((S.RUNNING, S.EXPIRED), id="expired"),
    ],
)
def test_an_ended_attempt_stays_ended(ending: tuple[SessionState, ...]) -> None:
    """No resuming, pausing, submitting or ending it again (a second termination would
    overwrite the first reason)."""
    session = walk(S.CHECKING, S.ENROLLED, *ending)
    ended, reason = session.ended_at, session.end_reason
    for wanted in (S.RUNNING, S.PAUSED, S.SUBMITTED, S.TERMINATED, S.EXPIRED, S.CHECKING):
        with pytest.raises(IllegalTransition):
            session.transition(wanted, at=utcnow() + timedelta(days=1), reason="again")
    assert (session.state, session.ended_at, session.end_reason) == (ending[-1], ended, reason)


def test_final_states_are_submitted_terminated_expired() -> None:
    assert {S.SUBMITTED, S.TERMINATED, S.EXPIRED} == FINAL_STATES
