"""The attention score and the overlay's analysis on a real server with the real models: the
watched candidate's analysed frames reach the proctor (faces, objects, flags), the tile follows
the score, and the samples are in the session's record once it ends (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from websockets.asyncio.client import connect

from openproctor.bus.local import LocalBus, exam_topic
from openproctor.domains.attention.models import AttentionSample
from openproctor.domains.users.models import Role
from openproctor.live.attention import AttentionFlow, tile_moved
from openproctor.live.registry import Registry
from openproctor.live.runtime import Frame
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import FaceLook, FrameOutcome
from openproctor.rules.attention import WINDOW_S, Attention
from tests.conftest import Factory
from tests.live.clients import (
    NO_FACE,
    ONE_FACE,
    TWO_FACES,
    Proctor,
    candidate_messages,
    proctor_socket,
    running_session,
    stream,
    ws_url,
)
from tests.live.test_registry import runtime as registry_runtime

pytestmark = pytest.mark.analysis
TWO_FACES_MIRRORED = cv2.imencode(
    ".jpg", cv2.flip(cv2.imdecode(np.frombuffer(TWO_FACES, np.uint8), cv2.IMREAD_COLOR), 1)
)[1].tobytes()


def tile_label(label: str) -> Any:
    def match(event: dict[str, Any]) -> bool:
        attention = event.get("candidate", {}).get("attention")
        return event["type"] == "candidate" and bool(attention) and attention["label"] == label

    return match


def test_the_watched_candidate_gets_overlays_and_the_score_is_on_the_tile_and_recorded(
    live_server: str, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    # Objects on every analysed frame, so that the two people are found while they show.
    exam = factory.exam(policy={"object_interval_s": 0})
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    proctor = Proctor(live_server, proctor_user)
    admin = Proctor(live_server, factory.user(Role.ADMIN))  # on the same exam, not watching

    async def scenario() -> None:
        async with proctor_socket(proctor, exam.id) as wall, proctor_socket(admin, exam.id):
            await wall.wait_for(lambda e: e["type"] == "snapshot")
            assert wall.socket is not None
            async with connect(ws_url(live_server, f"/ws/take/{candidate.invite_token}")) as cand:
                await candidate_messages(cand, "hello")
                seq = await stream(cand, ONE_FACE, 2.0, 0)
                focused = await wall.wait_for(tile_label("focused"))
                assert focused["candidate"]["attention"]["score"] >= 70
                # Nobody watches yet: the overlay's messages are not sent.
                assert not [e for e in wall.events if e["type"] == "analysis"]

                await wall.socket.send(json.dumps({"type": "watch", "session_id": str(session.id)}))
                # Mirrored every other frame, so no frame is skipped as unchanged.
                seq = await stream(cand, TWO_FACES, 1.0, seq)
                seq = await stream(cand, TWO_FACES_MIRRORED, 1.0, seq)
                seq = await stream(cand, TWO_FACES, 1.0, seq)
                two = await wall.wait_for(
                    lambda e: e["type"] == "analysis" and len(e["faces"]) == 2
                )
                assert two["session_id"] == str(session.id)
                assert "proctor_id" not in two
                assert two["ts_ms"] > 0
                assert (two["width"], two["height"]) == (640, 376)
                assert "multiple_faces" in two["flags"]
                for face in two["faces"]:
                    x1, y1, x2, y2 = face["box"]
                    assert 0 <= x1 < x2 <= two["width"]
                    assert 0 <= y1 < y2 <= two["height"]
                assert two["faces"][0]["look"] is not None
                assert set(two["faces"][0]["look"]) == {
                    "yaw",
                    "pitch",
                    "gaze_x",
                    "gaze_y",
                    "eyes_open",
                }
                # The object pass runs on some frames; its newest answer comes with each.
                seen = await wall.wait_for(
                    lambda e: (
                        e["type"] == "analysis"
                        and sum(o["label"] == "person" for o in e["objects"]) >= 2
                    )
                )
                assert seen["objects_ts_ms"] is not None
                assert seen["objects_ts_ms"] <= seen["ts_ms"]
                assert two["attention"]["label"] in {"focused", "distracted"}

                await stream(cand, NO_FACE, 9.0, seq)
                await wall.wait_for(tile_label("away"))
                # Only the socket watching the candidate gets the overlay's messages.
                await admin.wait_for(tile_label("away"))
                assert [e["type"] for e in admin.events if e["type"] in ("analysis", "frame")] == []
                ended = proctor.post(f"/api/v1/sessions/{session.id}/terminate", {"reason": "x"})
                assert ended.status_code == 200, ended.text
                await candidate_messages(cand, "state")

    asyncio.run(scenario())
    # Written when the session ended, before the state was announced.
    series = proctor.get(f"/api/v1/sessions/{session.id}/attention")
    assert series.status_code == 200, series.text
    samples = series.json()
    assert len(samples) >= 3  # 14 s of frames, one sample every 5 s
    assert samples[0]["label"] == "focused"
    assert samples[-1]["label"] == "away"
    assert samples[-1]["score"] < samples[0]["score"]
    times = [s["at"] for s in samples]
    assert times == sorted(times)
    factory.db.expire_all()
    rows = factory.db.scalars(select(AttentionSample)).all()
    assert len(rows) == len(samples)
    # Another proctor's candidate is not this proctor's business.
    stranger = Proctor(live_server, factory.user(Role.PROCTOR))
    assert stranger.get(f"/api/v1/sessions/{session.id}/attention").status_code == 403


def outcome(session_id: uuid.UUID, seq: int, *, faces: int) -> FrameOutcome:
    ahead = FaceLook(yaw=1.0, pitch=0.0, gaze_x=0.0, gaze_y=0.0, eyes_open=True)
    return FrameOutcome(
        str(session_id),
        seq,
        seq * 500.0,
        Gate.ANALYSED,
        face_boxes=((10.0, 10.0, 50.0, 50.0),) * faces,
        looks=(ahead,) * faces,
        width=640,
        height=480,
    )


def test_the_flow_publishes_the_tile_in_steps_and_writes_samples_in_batches(
    session_factory: sessionmaker[Session], factory: Factory
) -> None:
    """A minute and a half of frames (2 a second) through AttentionFlow on a real bus,
    registry and writer thread: 45 s in view, then nobody; then no frames at all."""
    exam = factory.exam()
    session = running_session(factory, factory.candidate(exam, factory.user(Role.PROCTOR)))
    runtime = registry_runtime(exam.id)
    runtime.session_id = session.id

    async def scenario() -> tuple[list[dict[str, Any]], list[int]]:
        bus = LocalBus()
        bus.bind(asyncio.get_running_loop())
        writer = ThreadPoolExecutor(1)
        spawned: list[asyncio.Task[None]] = []

        def spawn(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
            spawned.append(asyncio.ensure_future(coroutine))
            return spawned[-1]

        flow = AttentionFlow(
            session_factory=session_factory,
            bus=bus,
            registry=Registry(session_factory=session_factory, bus=bus),
            writer=writer,
            spawn=spawn,
        )
        written = []
        start = 1_000_000.0
        async with bus.subscribe(exam_topic(exam.id)) as wall:
            for seq in range(180):
                faces = 1 if seq < 90 else 0
                frame = Frame(seq, seq * 500.0, start + seq / 2, b"")
                flow.on_frame(runtime, frame, outcome(session.id, seq, faces=faces), watched=False)
                if seq % 30 == 29:  # every 15 s: what is in the database so far
                    await asyncio.gather(*spawned)
                    written.append(count_samples(session_factory))
            await flow.flush(session.id)
            written.append(count_samples(session_factory))
            flow.tick(runtime, start + 89.5 + 10)  # no frame for 10 s: the score holds
            flow.tick(runtime, start + 89.5 + WINDOW_S)  # ... and runs out after the window
            writer.shutdown(wait=True)
            tiles = []
            while not wall.queue.empty():
                message = await wall.get()
                assert isinstance(message, dict)
                tiles.append(message)
        return tiles, written

    tiles, written = asyncio.run(scenario())
    shown = [tile["candidate"]["attention"] for tile in tiles]
    assert shown[0] == {"score": 100, "label": "focused"}
    assert shown[-2] == {"score": 0, "label": "away"}
    assert shown[-1] is None
    for before, after in itertools.pairwise(shown[:-1]):
        assert after["label"] != before["label"] or abs(after["score"] - before["score"]) >= 5
    assert len(tiles) < 30  # not one per frame (90 frames changed the score)
    # One sample per 5 s (18 in 90 s), written a minute's worth (12) at a time, the rest at
    # the end.
    assert written == [0, 0, 0, 12, 12, 12, 18]


def count_samples(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as db:
        return len(db.scalars(select(AttentionSample)).all())


def test_the_tile_follows_the_score_in_steps_and_every_label_change() -> None:
    focused = Attention(90, "focused")
    assert not tile_moved(focused, Attention(86, "focused"))
    assert tile_moved(focused, Attention(85, "focused"))
    assert tile_moved(focused, Attention(95, "focused"))
    assert tile_moved(Attention(71, "focused"), Attention(69, "distracted"))
    assert tile_moved(None, focused)
    assert tile_moved(focused, None)
    assert not tile_moved(None, None)
