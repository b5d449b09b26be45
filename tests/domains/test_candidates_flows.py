"""The candidates flows: an assignment is committed, audited and moves the tile between the
proctors' walls (heard on the exam's and the hub's topics); erasure is audited with counts
only, and refused while the candidate sits a live session."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.bus.local import exam_topic
from openproctor.db import utcnow
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates import flows
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.candidates.service import CandidateError
from openproctor.domains.sessions import service as sessions
from openproctor.domains.users.models import Role
from openproctor.live.registry import HUB_TOPIC
from tests.conftest import Factory
from tests.domains.listening import listening
from tests.domains.test_sessions_flows import auditor, hub_of
from tests.live.clients import running_session

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


def test_a_reassignment_leaves_one_wall_and_joins_the_other(
    client: TestClient, factory: Factory
) -> None:
    first, second = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    admin = factory.user(Role.ADMIN)
    exam = factory.exam()
    candidate = factory.candidate(exam, first)
    with listening(client, exam_topic(exam.id)) as walls, listening(client, HUB_TOPIC) as nodes:
        flows.assign(
            db=factory.db,
            audit=auditor(factory.db, admin),
            hub=hub_of(client),
            candidate=candidate,
            proctor_id=second.id,
        )
        left, joined = walls.next(), walls.next()
        told = nodes.next()
    assert left == {
        "type": "unassigned",
        "candidate_id": str(candidate.id),
        "proctor_id": str(first.id),
    }
    assert (joined["type"], joined["proctor_id"]) == ("assigned", str(second.id))
    assert joined["candidate"]["candidate_id"] == str(candidate.id)
    assert told == {
        "event": "assigned",
        "candidate_id": str(candidate.id),
        "proctor_id": str(second.id),
    }
    factory.db.expire_all()
    assert factory.db.get(Candidate, candidate.id).proctor_id == second.id  # type: ignore[union-attr]
    [entry] = factory.db.scalars(select(AuditEntry).where(AuditEntry.action == "candidate.assign"))
    assert (entry.actor_id, entry.details) == (admin.id, {"proctor_id": str(second.id)})


def test_unassigning_is_audited_as_no_proctor(client: TestClient, factory: Factory) -> None:
    proctor, admin = factory.user(Role.PROCTOR), factory.user(Role.ADMIN)
    candidate = factory.candidate(factory.exam(), proctor)
    flows.assign(
        db=factory.db,
        audit=auditor(factory.db, admin),
        hub=hub_of(client),
        candidate=candidate,
        proctor_id=None,
    )
    [entry] = factory.db.scalars(select(AuditEntry).where(AuditEntry.action == "candidate.assign"))
    assert entry.details == {"proctor_id": None}


def test_an_assignment_to_a_non_proctor_writes_and_tells_nothing(
    client: TestClient, factory: Factory
) -> None:
    reviewer, admin = factory.user(Role.REVIEWER), factory.user(Role.ADMIN)
    exam = factory.exam()
    candidate = factory.candidate(exam)
    with listening(client, exam_topic(exam.id)) as walls:
        with pytest.raises(CandidateError):
            flows.assign(
                db=factory.db,
                audit=auditor(factory.db, admin),
                hub=hub_of(client),
                candidate=candidate,
                proctor_id=reviewer.id,
            )
        walls.assert_silent()
    factory.db.rollback()
    assert factory.db.get(Candidate, candidate.id).proctor_id is None  # type: ignore[union-attr]
    assert (
        factory.db.scalar(select(AuditEntry).where(AuditEntry.action == "candidate.assign")) is None
    )


def test_auto_assignment_shares_the_unassigned_and_tells_each(
    client: TestClient, factory: Factory
) -> None:
    proctors = [factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)]
    admin = factory.user(Role.ADMIN)
    exam = factory.exam()
    roster = [factory.candidate(exam, name=name) for name in ("Ada", "Bob", "Cy")]
    with listening(client, HUB_TOPIC) as nodes:
        assigned = flows.auto_assign(
            db=factory.db,
            audit=auditor(factory.db, admin),
            hub=hub_of(client),
            exam=exam,
            max_per_proctor=2,
        )
        told = [nodes.next() for _ in roster]
    assert {c.id for c in assigned} == {c.id for c in roster}
    assert {t["candidate_id"] for t in told} == {str(c.id) for c in roster}
    loads = sorted(sum(c.proctor_id == p.id for c in assigned) for p in proctors)
    assert loads == [1, 2]
    [entry] = factory.db.scalars(
        select(AuditEntry).where(AuditEntry.action == "candidate.auto_assign")
    )
    assert (entry.target_id, entry.details) == (str(exam.id), {"assigned": 3})


def test_erasure_is_audited_with_counts_only(client: TestClient, factory: Factory) -> None:
    admin = factory.user(Role.ADMIN)
    candidate = factory.candidate(factory.exam())
    sessions.current_for_candidate(db=factory.db, candidate=candidate)
    factory.db.commit()
    context = client.app.state.context  # type: ignore[attr-defined]
    erased = flows.erase(
        db=factory.db,
        audit=auditor(factory.db, admin),
        store=context.store,
        candidate_id=candidate.id,
        now=utcnow(),
    )
    assert (erased.sessions, erased.violations, erased.messages) == (1, 0, 0)
    factory.db.expire_all()
    assert factory.db.get(Candidate, candidate.id) is None
    [entry] = factory.db.scalars(select(AuditEntry).where(AuditEntry.action == "candidate.erase"))
    assert entry.target_id == str(candidate.id)
    assert entry.details == erased.details()
    assert candidate.email not in str(entry.details)


def test_erasure_waits_for_a_live_session_to_end(client: TestClient, factory: Factory) -> None:
    admin = factory.user(Role.ADMIN)
    candidate = factory.candidate(factory.exam())
    running_session(factory, candidate)
    context = client.app.state.context  # type: ignore[attr-defined]
    with pytest.raises(flows.ErasureRefused, match="running in an open exam: terminate it"):
        flows.erase(
            db=factory.db,
            audit=auditor(factory.db, admin),
            store=context.store,
            candidate_id=candidate.id,
            now=utcnow(),
        )
    factory.db.rollback()
    assert factory.db.get(Candidate, candidate.id) is not None
    assert (
        factory.db.scalar(select(AuditEntry).where(AuditEntry.action == "candidate.erase")) is None
    )
