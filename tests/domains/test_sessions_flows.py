"""The sessions flows: each intervention leaves its row, its audit entry and its word to the
live hub (heard on the running app's bus), or, when the state machine refuses it, none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.audit.service import Auditor
from openproctor.domains.exams.models import Exam
from openproctor.domains.sessions import flows
from openproctor.domains.sessions.models import (
    AutoTerminateScope,
    ExamSession,
    IllegalTransition,
    SessionState,
)
from openproctor.domains.users.models import Role, User
from openproctor.live.hub import LiveHub
from openproctor.live.registry import HUB_TOPIC
from tests.conftest import Factory
from tests.domains.listening import listening
from tests.live.clients import running_session

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


def auditor(db: Session, user: User) -> Auditor:
    return Auditor(db=db, actor=user, client_ip="192.0.2.7")


def hub_of(client: TestClient) -> LiveHub:
    hub: LiveHub = client.app.state.context.hub  # type: ignore[attr-defined]
    return hub


def entries(db: Session, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def stored(db: Session, session: ExamSession) -> ExamSession:
    """The row as committed, read afresh."""
    db.expire_all()
    row = db.get(ExamSession, session.id)
    assert row is not None
    return row


def test_pausing_and_resuming_are_committed_audited_and_told(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    db, audit = factory.db, auditor(factory.db, proctor)
    with listening(client, HUB_TOPIC) as hub_topic:
        flows.pause(db=db, audit=audit, hub=hub_of(client), session=session)
        paused_at = stored(db, session).paused_at
        assert stored(db, session).state is SessionState.PAUSED
        assert paused_at is not None
        told = hub_topic.next()
        assert told == {
            "event": "state",
            "session_id": str(session.id),
            "state": "paused",
            "reason": "paused by the proctor",
            "clock": {**told["clock"], "paused_since": pytest.approx(paused_at.timestamp())},
        }
        flows.resume(db=db, audit=audit, hub=hub_of(client), session=session)
        assert stored(db, session).state is SessionState.RUNNING
        resumed = hub_topic.next()
        assert resumed["state"] == "running"
        # The clock the hub hears runs again, with the pause counted.
        assert resumed["clock"]["paused_since"] is None
        assert resumed["clock"]["paused_s"] == pytest.approx(stored(db, session).paused_seconds)
        assert resumed["clock"]["paused_s"] > 0
    [paused] = entries(db, "session.paused")
    assert (paused.actor_id, paused.target_id) == (proctor.id, str(session.id))
    assert paused.details == {"reason": "paused by the proctor"}
    assert entries(db, "session.running")[0].details == {"reason": "resumed by the proctor"}


def test_terminating_keeps_the_proctors_reason(client: TestClient, factory: Factory) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    with listening(client, HUB_TOPIC) as hub_topic:
        flows.terminate(
            db=factory.db,
            audit=auditor(factory.db, proctor),
            hub=hub_of(client),
            session=session,
            reason="phone in hand",
        )
        told = hub_topic.next()
    row = stored(factory.db, session)
    assert (row.state, row.end_reason) == (SessionState.TERMINATED, "phone in hand")
    assert row.ended_at is not None
    assert (told["state"], told["reason"]) == ("terminated", "phone in hand")
    assert entries(factory.db, "session.terminated")[0].details == {"reason": "phone in hand"}


def test_an_illegal_intervention_writes_nothing_and_tells_nobody(
    client: TestClient, factory: Factory
) -> None:
    """Resuming an attempt that never paused, or pausing a submitted one, is refused."""
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    db, audit = factory.db, auditor(factory.db, proctor)
    with listening(client, HUB_TOPIC) as hub_topic:
        with pytest.raises(IllegalTransition, match="from running to running"):
            flows.resume(db=db, audit=audit, hub=hub_of(client), session=session)
        session.transition(SessionState.SUBMITTED, at=session.state_changed_at)
        db.commit()
        with pytest.raises(IllegalTransition, match="from submitted to paused"):
            flows.pause(db=db, audit=audit, hub=hub_of(client), session=session)
        hub_topic.assert_silent()
    db.rollback()
    assert stored(db, session).state is SessionState.SUBMITTED
    assert entries(db, "session.running") == entries(db, "session.paused") == []


def test_a_sessions_own_switch_overrides_the_exam(client: TestClient, factory: Factory) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    with listening(client, HUB_TOPIC) as hub_topic:
        flows.set_auto_terminate(
            db=factory.db,
            audit=auditor(factory.db, proctor),
            hub=hub_of(client),
            session=session,
            enabled=True,
        )
        told = hub_topic.next()
    assert stored(factory.db, session).auto_terminate is True
    assert (told["state"], told["auto_terminate"]) == ("running", True)
    assert entries(factory.db, "session.auto_terminate")[0].details == {"enabled": True}


def exam_with_two_proctors(factory: Factory) -> tuple[Exam, User, ExamSession, ExamSession]:
    exam = factory.exam()
    mine, theirs = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    my_session = running_session(factory, factory.candidate(exam, mine, name="Ada"))
    their_session = running_session(factory, factory.candidate(exam, theirs, name="Bob"))
    their_session.auto_terminate = False
    factory.db.commit()
    return exam, mine, my_session, their_session


def test_the_exam_switch_makes_every_session_follow_the_policy(
    client: TestClient, factory: Factory
) -> None:
    exam, _, first, second = exam_with_two_proctors(factory)
    admin = factory.user(Role.ADMIN)
    with listening(client, HUB_TOPIC) as hub_topic:
        change = flows.set_exam_auto_terminate(
            db=factory.db,
            audit=auditor(factory.db, admin),
            hub=hub_of(client),
            exam=exam,
            enabled=True,
        )
        told = {hub_topic.next()["session_id"] for _ in range(2)}
        hub_topic.assert_silent()
    assert (change.scope, change.sessions, change.enabled) == (AutoTerminateScope.EXAM, 2, True)
    assert told == {str(first.id), str(second.id)}
    factory.db.expire_all()
    assert factory.db.get(Exam, exam.id).policy["auto_terminate"] is True  # type: ignore[union-attr]
    assert stored(factory.db, second).auto_terminate is None  # the override is dropped
    [entry] = entries(factory.db, "exam.auto_terminate")
    assert entry.details == {"enabled": True, "scope": "exam", "sessions": 2}


def test_the_proctor_switch_changes_only_their_candidates(
    client: TestClient, factory: Factory
) -> None:
    exam, mine, my_session, their_session = exam_with_two_proctors(factory)
    policy = dict(exam.policy)
    with listening(client, HUB_TOPIC) as hub_topic:
        change = flows.set_proctor_auto_terminate(
            db=factory.db,
            audit=auditor(factory.db, mine),
            hub=hub_of(client),
            exam=exam,
            proctor_id=mine.id,
            enabled=True,
        )
        told = hub_topic.next()
        hub_topic.assert_silent()
    assert (change.scope, change.sessions) == (AutoTerminateScope.MY_SESSIONS, 1)
    assert (told["session_id"], told["auto_terminate"]) == (str(my_session.id), True)
    assert stored(factory.db, my_session).auto_terminate is True
    assert stored(factory.db, their_session).auto_terminate is False
    factory.db.expire_all()
    assert factory.db.get(Exam, exam.id).policy == policy  # type: ignore[union-attr]


def test_a_candidates_own_change_is_told_with_its_clock(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    session = running_session(factory, factory.candidate(exam))
    with listening(client, HUB_TOPIC) as hub_topic:
        flows.candidate_changed(db=factory.db, hub=hub_of(client), session=session)
        told = hub_topic.next()
    assert session.started_at is not None
    assert told == {
        "event": "state",
        "session_id": str(session.id),
        "state": "running",
        "reason": None,
        "score": None,
        "clock": {
            "started_at": pytest.approx(session.started_at.timestamp()),
            "duration_s": 60 * 60,
            "closes_at": pytest.approx(exam.closes_at.timestamp()),
            "paused_s": 0,
            "paused_since": None,
            "extra_s": 0,
            "accommodated_s": 0,
        },
    }


def test_extra_time_is_committed_audited_and_told_with_the_moved_clock(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    db, audit = factory.db, auditor(factory.db, proctor)
    with listening(client, HUB_TOPIC) as hub_topic:
        flows.give_extra_time(db=db, audit=audit, hub=hub_of(client), session=session, minutes=7)
        told = hub_topic.next()
    assert stored(db, session).extra_seconds == 7 * 60
    assert (told["state"], told["clock"]["extra_s"]) == ("running", 7 * 60)
    [given] = entries(db, "session.extra_time")
    assert given.details["minutes"] == 7
