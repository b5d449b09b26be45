"""The web node's side of Redis analysis (pipeline/redis_queue.py), against a real
redis-server: outcomes survive the wire, and a closed reader stops for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from openproctor.detectors.detections import Detections
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import FaceLook, FrameOutcome
from openproctor.pipeline.redis_queue import RedisAnalysis, outcome_from_wire, outcome_to_wire
from tests.servers import RedisServer, redis_server


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def test_an_outcome_survives_the_wire() -> None:
    outcome = FrameOutcome(
        "s-1",
        7,
        1234.5,
        Gate.ANALYSED,
        changed_a_lot=True,
        face_boxes=((1.0, 2.0, 30.0, 40.0), (50.0, 60.0, 70.0, 80.0)),
        looks=(FaceLook(-3.5, 2.0, 0.125, -0.01, True), None),
        width=640,
        height=480,
        objects=Detections.of([[5.0, 6.0, 7.5, 8.25]], [0.6109999], ["cell phone"]),
        persons=3,
        flags=("multiple_faces",),
        identity_distance=0.42,
        objects_ran=True,
        thumbnail=b"\xff\xd8jpeg",
        timings_ms={"face": 3.5},
    )
    body, thumbnail = outcome_to_wire(outcome)
    assert "thumbnail" not in body
    assert outcome_from_wire(body, thumbnail) == outcome


def test_a_closed_reader_stops_for_good(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        analysis = RedisAnalysis(redis.url)
        await analysis.start()
        redis.stop()
        with caplog.at_level(logging.WARNING, "openproctor.pipeline.redis_queue"):
            # Until closed, the reader retries against the Redis that is gone ...
            for _ in range(50):
                if "retrying" in caplog.text:
                    break
                await asyncio.sleep(0.1)
            assert "reading analysis results failed" in caplog.text
            await analysis.close()
            caplog.clear()
            # ... and once closed, nothing of it runs on.
            assert asyncio.all_tasks() == {asyncio.current_task()}
            await asyncio.sleep(1.5)
        assert caplog.text == ""
        await analysis.close()  # twice is harmless

    asyncio.run(scenario())
