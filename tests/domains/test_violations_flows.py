"""A live violation's flow: its row first, then the wall, then its evidence (best effort) and
the wall again; a close waits for the evidence. Real database, real files, the in-process bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.local import LocalBus, Subscription, exam_topic
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import Role
from openproctor.domains.violations.flows import Evidence, Seen, Subject, ViolationFlow
from openproctor.domains.violations.models import Violation
from openproctor.live.runtime import Frame, SessionRuntime
from openproctor.metrics import Metrics
from openproctor.rules.engine import EventType, RuleEvent, SessionRules
from openproctor.rules.prompts import SessionPrompts
from openproctor.storage.local import LocalStore
from tests.conftest import Factory
from tests.disks import SmallDisk
from tests.live.clients import ONE_FACE, running_session

T = TypeVar("T")
OPENED = RuleEvent(
    EventType.OPENED, ViolationKind.MULTIPLE_FACES, None, Severity.HIGH, 25, 100.0, None, {}
)
CLOSED = RuleEvent(
    EventType.CLOSED, ViolationKind.MULTIPLE_FACES, None, Severity.HIGH, 25, 100.0, 104.0, {}
)
SEEN = Seen(Frame(7, 1234.5, 100.0, ONE_FACE), {"faces": [(10.0, 10.0, 60.0, 60.0)]})


def run_flow(
    session_factory: sessionmaker[Session],
    factory: Factory,
    store_root: Path,
    scenario: Callable[[ViolationFlow, Subject, Subscription], Awaitable[None]],
) -> None:
    exam = factory.exam()
    candidate = factory.candidate(exam, factory.user(Role.PROCTOR))
    session = running_session(factory, candidate)
    policy = exam.parsed_policy
    subject = SessionRuntime(
        session_id=session.id,
        candidate_id=candidate.id,
        exam_id=exam.id,
        proctor_id=candidate.proctor_id,
        name=candidate.name,
        email=candidate.email,
        policy=policy,
        state=session.state,
        rules=SessionRules(policy),
        prompts=SessionPrompts(policy),
    )

    async def main() -> None:
        bus = LocalBus()
        bus.bind(asyncio.get_running_loop())
        tasks: set[asyncio.Task[Any]] = set()

        def spawn(coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
            task = asyncio.ensure_future(coroutine)
            tasks.add(task)
            return task

        with ThreadPoolExecutor(1) as writer:
            flow = ViolationFlow(
                session_factory=session_factory,
                store=LocalStore(str(store_root)),
                bus=bus,
                metrics=Metrics(),
                webhooks=None,
                writer=writer,
                spawn=spawn,
            )
            async with bus.subscribe(exam_topic(exam.id)) as wall:
                await scenario(flow, subject, wall)
            await asyncio.gather(*tasks)

    asyncio.run(main())


async def next_change(wall: Subscription) -> dict[str, Any]:
    message = await asyncio.wait_for(wall.get(), 10)
    assert isinstance(message, dict)
    assert message["type"] == "violation"
    return message


def test_the_row_exists_when_the_wall_hears_and_the_evidence_follows(
    session_factory: sessionmaker[Session], factory: Factory, tmp_path: Path
) -> None:
    async def scenario(flow: ViolationFlow, subject: Subject, wall: Subscription) -> None:
        await flow.apply(subject, [OPENED], 25.0, SEEN)
        opened = await next_change(wall)
        assert opened["event"] == "opened"
        violation_id = uuid.UUID(opened["violation"]["id"])
        with session_factory() as db:  # written before anyone heard of it
            row = db.get(Violation, violation_id)
            assert row is not None
            assert row.ended_at is None
            session = db.get(ExamSession, subject.session_id)
            assert session is not None
            assert session.risk_score == 25.0
        assert opened["violation"]["evidence_url"] is None
        assert opened["violation"]["frame_ts_ms"] == 1234.5
        assert opened["violation"]["candidate_name"] == subject.name
        assert opened["proctor_id"] == str(subject.proctor_id)

        stored = await next_change(wall)
        assert stored["event"] == "evidence"
        assert stored["violation"]["evidence_error"] is None
        with session_factory() as db:
            pictures = db.scalars(
                select(StoredObject).where(StoredObject.violation_id == violation_id)
            ).all()
        purposes = {p.purpose for p in pictures}
        assert purposes == {ObjectPurpose.EVIDENCE, ObjectPurpose.EVIDENCE_RAW}
        drawn = next(p for p in pictures if p.purpose is ObjectPurpose.EVIDENCE)
        assert stored["violation"]["evidence_url"] == f"/api/v1/evidence/{drawn.id}"
        raw = next(p for p in pictures if p.purpose is ObjectPurpose.EVIDENCE_RAW)
        assert (tmp_path / "objects" / raw.storage_key).read_bytes() == ONE_FACE

        await flow.apply(subject, [CLOSED], 25.0, None)
        closed = await next_change(wall)
        assert closed["event"] == "closed"
        assert closed["violation"]["evidence_url"] == stored["violation"]["evidence_url"]
        with session_factory() as db:
            row = db.get(Violation, violation_id)
            assert row is not None
            assert row.ended_at is not None

    run_flow(session_factory, factory, tmp_path / "objects", scenario)


def test_a_close_waits_for_the_evidence_being_stored(
    session_factory: sessionmaker[Session], factory: Factory, tmp_path: Path
) -> None:
    async def scenario(flow: ViolationFlow, subject: Subject, wall: Subscription) -> None:
        # Opened and closed in one go: the close must not overtake the evidence.
        await flow.apply(subject, [OPENED, CLOSED], 25.0, SEEN)
        changes = [(await next_change(wall))["event"] for _ in range(3)]
        assert changes == ["opened", "evidence", "closed"]

    run_flow(session_factory, factory, tmp_path / "objects", scenario)


def test_a_full_disk_keeps_the_violation_and_says_why_there_is_no_picture(
    session_factory: sessionmaker[Session], factory: Factory, small_disk: SmallDisk
) -> None:
    small_disk.fill()

    async def scenario(flow: ViolationFlow, subject: Subject, wall: Subscription) -> None:
        await flow.apply(subject, [OPENED], 25.0, SEEN)
        opened = await next_change(wall)
        failed = await next_change(wall)
        assert failed["event"] == "evidence"
        assert failed["violation"]["evidence_url"] is None
        assert failed["violation"]["evidence_error"].startswith("no space left to store")
        with session_factory() as db:
            row = db.get(Violation, uuid.UUID(opened["violation"]["id"]))
            assert row is not None
            assert row.evidence_error == failed["violation"]["evidence_error"]

    run_flow(session_factory, factory, small_disk.storage, scenario)


def test_evidence_of_a_session_erased_meanwhile_is_deleted(
    session_factory: sessionmaker[Session], factory: Factory, tmp_path: Path
) -> None:
    async def scenario(flow: ViolationFlow, subject: Subject, wall: Subscription) -> None:
        violation_id = await flow.open(subject, OPENED, 25.0, SEEN)
        with session_factory() as db:
            db.delete(db.get(ExamSession, subject.session_id))
            db.commit()
        evidence = await flow.attach_evidence(subject, violation_id, OPENED, SEEN)
        assert evidence == Evidence()
        assert [p for p in (tmp_path / "objects").rglob("*") if p.is_file()] == []
        assert (await next_change(wall))["event"] == "opened"
        assert wall.queue.empty()  # no "evidence" for a violation that is gone

    run_flow(session_factory, factory, tmp_path / "objects", scenario)


def test_without_a_frame_there_is_no_evidence_to_wait_for(
    session_factory: sessionmaker[Session], factory: Factory, tmp_path: Path
) -> None:
    async def scenario(flow: ViolationFlow, subject: Subject, wall: Subscription) -> None:
        await flow.apply(subject, [OPENED], 25.0, None)  # a browser signal: no frame
        await flow.apply(subject, [CLOSED], 25.0, None)
        assert [(await next_change(wall))["event"] for _ in range(2)] == ["opened", "closed"]
        assert list((tmp_path / "objects").iterdir()) == []

    run_flow(session_factory, factory, tmp_path / "objects", scenario)
