"""When the workers fall behind, the hub asks every candidate for fewer frames and tells the
proctors, and asks for more again once they keep up (the rules themselves: test_schedule.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.local import LocalBus, Subscription, exam_topic, session_topic
from openproctor.detectors.config import IdentityConfig
from openproctor.live.hub import LiveHub
from openproctor.live.protocol import MediaKind, MediaMessage
from openproctor.live.schedule import LOAD_FACTOR_MIN
from openproctor.metrics import Metrics
from openproctor.storage.local import LocalStore
from tests.conftest import Factory
from tests.live.clients import ONE_FACE, running_session


def test_rate_falls_while_frames_are_skipped_and_recovers(
    session_factory: sessionmaker[Session], factory: Factory, tmp_path: object
) -> None:
    exam = factory.exam()
    sessions = [running_session(factory, factory.candidate(exam, name=f"C{i}")) for i in range(3)]
    metrics = Metrics()
    # No analysis pool: every frame the candidates send is skipped, as on a swamped server.
    hub = LiveHub(
        session_factory=session_factory,
        store=LocalStore(str(tmp_path)),
        bus=LocalBus(),
        pool=None,
        min_speech=0.5,
        metrics=metrics,
        embedder=IdentityConfig().embedder,
        reconnect_grace_s=5.0,
    )

    async def scenario() -> None:
        hub.bus.bind(asyncio.get_running_loop())
        people = [await hub.runtime_for(session.id) for session in sessions]
        policy_fps = people[0].policy.frames_per_second
        seq = 0

        async def send_frames(count: int) -> None:
            nonlocal seq
            for _ in range(count):
                for person in people:
                    hub.on_media(person, MediaMessage(MediaKind.FRAME, seq, 0.0, ONE_FACE))
                seq += 1
                await asyncio.sleep(0)  # the analysis loops take (and skip) each frame

        async with (
            hub.bus.subscribe(session_topic(sessions[0].id)) as candidate,
            hub.bus.subscribe(exam_topic(exam.id)) as wall,
        ):
            for _ in range(6):
                await send_frames(10)
                hub.load.adapt()
            assert all(p.counters.skipped == p.counters.received == 60 for p in people)
            assert people[0].fps == LOAD_FACTOR_MIN * policy_fps
            rates = [m["fps"] for m in drain(candidate) if m["type"] == "rate"]
            assert rates == sorted(rates, reverse=True)
            assert rates[-1] == LOAD_FACTOR_MIN * policy_fps
            loads = [m for m in drain(wall) if m["type"] == "load"]
            assert loads[-1]["degraded"] is True
            assert loads[-1]["fps"] == LOAD_FACTOR_MIN * policy_fps

            for _ in range(12):  # the workers keep up again: frames arrive, none skipped
                for person in people:
                    person.counters.received += 10
                hub.load.adapt()
            assert people[0].fps == policy_fps
            assert [m["fps"] for m in drain(candidate) if m["type"] == "rate"][-1] == policy_fps
            assert [m for m in drain(wall) if m["type"] == "load"][-1]["degraded"] is False
            assert b"openproctor_analysis_rate_factor 1.0" in metrics.render()
        for person in people:
            assert person.task is not None
            person.task.cancel()

    asyncio.run(scenario())


def drain(subscription: Subscription) -> list[dict[str, Any]]:
    items = []
    while not subscription.queue.empty():
        message = subscription.queue.get_nowait()
        assert isinstance(message, dict)
        items.append(message)
    return items
