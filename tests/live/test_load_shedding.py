"""When the workers skip many frames, every candidate is asked for fewer, and proctors are told."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.local import LocalBus, exam_topic, session_topic
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.sessions.models import SessionState
from openproctor.live.hub import LOAD_FACTOR_MIN, LiveHub
from openproctor.live.runtime import SessionRuntime
from openproctor.metrics import Metrics
from openproctor.rules.engine import SessionRules
from openproctor.storage.local import LocalStore


def runtime(exam_id: uuid.UUID) -> SessionRuntime:
    policy = ExamPolicy()
    return SessionRuntime(
        session_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        exam_id=exam_id,
        proctor_id=None,
        name="A",
        email="a@example.com",
        policy=policy,
        state=SessionState.RUNNING,
        rules=SessionRules(policy),
    )


def test_rate_falls_while_frames_are_skipped_and_recovers(
    session_factory: sessionmaker[Session], tmp_path: object
) -> None:
    async def scenario() -> None:
        metrics = Metrics()
        hub = LiveHub(
            session_factory=session_factory,
            store=LocalStore(str(tmp_path)),
            bus=LocalBus(),
            pool=None,
            min_speech=0.5,
            metrics=metrics,
        )
        hub.bus.bind(asyncio.get_running_loop())
        exam_id = uuid.uuid4()
        people = [runtime(exam_id) for _ in range(10)]
        hub.runtimes = {r.session_id: r for r in people}
        async with (
            hub.bus.subscribe(session_topic(people[0].session_id)) as candidate,
            hub.bus.subscribe(exam_topic(exam_id)) as wall,
        ):
            for _ in range(6):  # every check: half the frames skipped
                for r in people:
                    r.counters.received += 10
                    r.counters.skipped += 5
                hub._adapt_to_load(0.0)
            assert hub.load_factor == LOAD_FACTOR_MIN
            assert people[0].fps == LOAD_FACTOR_MIN * people[0].policy.frames_per_second
            rates = [m for m in drain(candidate) if m["type"] == "rate"]
            assert [m["fps"] for m in rates] == sorted((m["fps"] for m in rates), reverse=True)
            loads = [m for m in drain(wall) if m["type"] == "load"]
            assert loads[-1]["degraded"] is True
            for _ in range(12):  # then the workers keep up again
                for r in people:
                    r.counters.received += 10
                hub._adapt_to_load(0.0)
            assert hub.load_factor == 1.0
            assert people[0].fps == people[0].policy.frames_per_second
            assert [m for m in drain(wall) if m["type"] == "load"][-1]["degraded"] is False
            assert b"openproctor_analysis_rate_factor 1.0" in metrics.render()

    asyncio.run(scenario())


def drain(subscription: object) -> list[dict[str, object]]:
    queue = subscription.queue  # type: ignore[attr-defined]
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
