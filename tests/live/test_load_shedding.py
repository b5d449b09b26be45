"""When the workers fall behind: costly passes wait for a frame that did not queue, then every
candidate is asked for fewer frames, and proctors are told."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.local import LocalBus, exam_topic, session_topic
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.sessions.models import SessionState
from openproctor.live.hub import DEFER_AFTER_S, LOAD_FACTOR_MIN, LOAD_MIN_FRAMES, LiveHub
from openproctor.live.runtime import Frame, SessionRuntime
from openproctor.metrics import Metrics
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import FrameOutcome
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


def new_hub(session_factory: sessionmaker[Session], tmp_path: object, metrics: Metrics) -> LiveHub:
    hub = LiveHub(
        session_factory=session_factory,
        store=LocalStore(str(tmp_path)),
        bus=LocalBus(),
        pool=None,
        min_speech=0.5,
        metrics=metrics,
    )
    hub.bus.bind(asyncio.get_running_loop())
    return hub


def test_rate_falls_while_frames_are_skipped_and_recovers(
    session_factory: sessionmaker[Session], tmp_path: object
) -> None:
    async def scenario() -> None:
        metrics = Metrics()
        hub = new_hub(session_factory, tmp_path, metrics)
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


def test_costly_passes_wait_for_a_frame_that_did_not_queue(
    session_factory: sessionmaker[Session], tmp_path: object
) -> None:
    async def scenario() -> None:
        metrics = Metrics()
        hub = new_hub(session_factory, tmp_path, metrics)
        exam_id = uuid.uuid4()
        person = runtime(exam_id)
        person.reference = (0.0,) * 128
        hub.runtimes = {person.session_id: person}
        now = time.time()
        person.next_objects_at = person.next_identity_at = now - 1
        frame = Frame(1, now * 1000, now, b"")
        queued = hub._job(person, frame, waited=DEFER_AFTER_S + 0.1)
        assert (queued.objects, queued.identity, queued.reference) == (False, False, None)
        rendered = metrics.render()
        assert b'openproctor_analysis_deferred_total{stage="objects"} 1.0' in rendered
        assert b'openproctor_analysis_deferred_total{stage="identity"} 1.0' in rendered
        prompt = hub._job(person, frame, waited=0.0)
        assert (prompt.objects, prompt.identity) == (True, True)
        assert prompt.reference == person.reference
        # Put off by at most one more interval: then they run however long frames wait.
        late_at = now + person.policy.identity_interval_s
        late = Frame(2, late_at * 1000, late_at, b"")
        overdue = hub._job(person, late, waited=DEFER_AFTER_S + 0.1)
        assert (overdue.objects, overdue.identity) == (True, True)

        async with hub.bus.subscribe(exam_topic(exam_id)) as wall:
            person.counters.received += LOAD_MIN_FRAMES
            hub._adapt_to_load(now)
            load = [m for m in drain(wall) if m["type"] == "load"][-1]
            assert load["deferring"] is True
            assert load["degraded"] is False  # no frame was skipped: the rate stays
            person.counters.received += LOAD_MIN_FRAMES
            hub._adapt_to_load(now)
            assert [m for m in drain(wall) if m["type"] == "load"][-1]["deferring"] is False

    asyncio.run(scenario())


def test_a_load_factor_change_never_makes_sessions_due_together(
    session_factory: sessionmaker[Session], tmp_path: object
) -> None:
    async def scenario() -> None:
        hub = new_hub(session_factory, tmp_path, Metrics())
        exam_id = uuid.uuid4()
        people = [runtime(exam_id) for _ in range(4)]
        hub.runtimes = {r.session_id: r for r in people}
        interval = people[0].policy.object_interval_s
        start = time.time()
        for i, person in enumerate(people):  # passes at 1 s steps, while the load factor is 0.5
            person.load_factor = 0.5
            ran_at = start + i
            outcome = FrameOutcome(str(person.session_id), 1, ran_at * 1000, Gate.ANALYSED)
            outcome = replace(outcome, objects_ran=True)
            await hub._handle_outcome(person, Frame(1, ran_at * 1000, ran_at, b""), outcome)
            assert person.next_objects_at == ran_at + 2 * interval
        for person in people:  # the workers keep up again
            person.load_factor = 1.0
        due_at = [p.next_objects_at for p in people]
        assert due_at == [start + 2 * interval + i for i in range(4)]
        # Right after the change no session is due; they come due one by one, as they ran.
        after = start + interval + 3.5
        assert not any(hub._job(p, Frame(2, after * 1000, after, b"")).objects for p in people)

    asyncio.run(scenario())


def drain(subscription: object) -> list[dict[str, object]]:
    queue = subscription.queue  # type: ignore[attr-defined]
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
