from __future__ import annotations

import itertools

import pytest

from openproctor.db import utcnow
from openproctor.domains.sessions.models import (
    ALLOWED_TRANSITIONS,
    FINAL_STATES,
    ExamSession,
    IllegalTransition,
    SessionState,
)

S = SessionState
HAPPY_PATH = [S.CHECKING, S.ENROLLED, S.RUNNING, S.PAUSED, S.RUNNING, S.SUBMITTED]


def session_in(state: SessionState) -> ExamSession:
    return ExamSession(state=state, attempt=1)


def test_the_happy_path_is_allowed_and_stamps_times() -> None:
    session = session_in(S.INVITED)
    for state in HAPPY_PATH:
        session.transition(state, at=utcnow())
    assert session.state is S.SUBMITTED
    assert session.started_at is not None
    assert session.ended_at is not None
    assert session.started_at <= session.ended_at


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(S, S)))
def test_every_pair_follows_the_table(current: SessionState, wanted: SessionState) -> None:
    session = session_in(current)
    if wanted in ALLOWED_TRANSITIONS[current]:
        session.transition(wanted, at=utcnow(), reason="test")
        assert session.state is wanted
    else:
        with pytest.raises(IllegalTransition, match=f"from {current} to {wanted}"):
            session.transition(wanted, at=utcnow())
        assert session.state is current


def test_final_states_are_submitted_terminated_expired() -> None:
    assert {S.SUBMITTED, S.TERMINATED, S.EXPIRED} == FINAL_STATES


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.INVITED, S.RUNNING),
        (S.CHECKING, S.RUNNING),
        (S.PAUSED, S.SUBMITTED),
        (S.RUNNING, S.ENROLLED),
    ],
)
def test_skipping_steps_raises(current: SessionState, wanted: SessionState) -> None:
    with pytest.raises(IllegalTransition):
        session_in(current).transition(wanted, at=utcnow())


def test_termination_keeps_its_reason() -> None:
    session = session_in(S.RUNNING)
    session.transition(S.TERMINATED, at=utcnow(), reason="phone in hand")
    assert session.end_reason == "phone in hand"
