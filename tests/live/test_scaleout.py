"""Scale-out with a real redis-server: two web nodes and `openproctor worker` processes.

A proctor on node A sees a violation of a candidate streaming to node B, and A's actions
reach the candidate on B; killing the worker that holds a frame loses no violation: another
worker takes its unfinished job over."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_client
from websockets.asyncio.client import connect

from openproctor.domains.users.models import Role
from openproctor.live.schedule import CONFIRM_FPS
from openproctor.pipeline.redis_queue import GROUP, JOBS_STREAM, WORKERS_PREFIX
from openproctor.pipeline.redis_worker import EXIT_STUCK
from openproctor.settings import Settings
from tests.conftest import Factory, serving
from tests.live.clients import (
    ONE_FACE,
    TWO_FACES,
    Proctor,
    candidate_messages,
    evidence_of,
    opened,
    proctor_socket,
    running_session,
    stream,
    ws_url,
)
from tests.servers import RedisServer, redis_server

# Scale-out is PostgreSQL's configuration: web nodes and workers on Redis run there.
pytestmark = [pytest.mark.analysis, pytest.mark.databases("postgresql")]


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def redis_url(redis: RedisServer) -> str:
    return redis.url


class Workers:
    """`openproctor worker` processes, started and killed by the test."""

    def __init__(self, settings: Settings, redis_url: str) -> None:
        self.env = {
            **os.environ,
            "OPENPROCTOR_DATA_DIR": str(settings.data_dir),
            "OPENPROCTOR_REDIS_URL": redis_url,
        }
        self.client = redis_client.Redis.from_url(redis_url)
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, **settings: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "openproctor.cli", "worker", "--name", name],
            env={**self.env, **settings},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while self.client.get(WORKERS_PREFIX + name) is None:
            assert process.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(10)


@pytest.fixture
def workers(settings: Settings, redis_url: str) -> Iterator[Workers]:
    pool = Workers(settings, redis_url)
    yield pool
    pool.stop_all()


def test_a_proctor_on_node_a_sees_a_candidate_on_node_b(
    settings: Settings, redis_url: str, workers: Workers, factory: Factory
) -> None:
    workers.start("w1")
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    scaled = settings.model_copy(update={"redis_url": redis_url})

    with serving(scaled) as node_a, serving(scaled) as node_b:
        proctor = Proctor(node_a, proctor_user)

        async def scenario() -> None:
            async with proctor_socket(proctor, exam.id):
                await proctor.wait_for(lambda e: e["type"] == "snapshot")
                url = ws_url(node_b, f"/ws/take/{candidate.invite_token}")
                async with connect(url) as socket:
                    await socket.recv()  # hello
                    seq = await stream(socket, ONE_FACE, 1.0, 0)
                    await stream(socket, TWO_FACES, 3.0, seq)
                    event = await proctor.wait_for(opened("multiple_faces"))
                    assert event["violation"]["session_id"] == str(session.id)
                    event = await proctor.wait_for(evidence_of("multiple_faces"))
                    evidence = proctor.get(event["violation"]["evidence_url"])
                    assert evidence.status_code == 200
                    sent = proctor.post(
                        f"/api/v1/sessions/{session.id}/messages", {"body": "Hello from A"}
                    )
                    assert sent.status_code == 201
                    message = await candidate_messages(socket, "message")
                    assert message["body"] == "Hello from A"
                    ended = proctor.post(f"/api/v1/sessions/{session.id}/terminate")
                    assert ended.status_code == 200
                    state = await candidate_messages(socket, "state")
                    assert state["state"] == "terminated"

        asyncio.run(scenario())


def test_a_proctor_on_node_a_watches_a_candidate_on_node_b_at_the_full_rate(
    settings: Settings, redis_url: str, workers: Workers, factory: Factory
) -> None:
    workers.start("w1")
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    scaled = settings.model_copy(update={"redis_url": redis_url})

    with serving(scaled) as node_a, serving(scaled) as node_b:
        proctor = Proctor(node_a, proctor_user)

        async def scenario() -> None:
            async with proctor_socket(proctor, exam.id):
                await proctor.wait_for(lambda e: e["type"] == "snapshot")
                url = ws_url(node_b, f"/ws/take/{candidate.invite_token}")
                async with connect(url) as socket:
                    hello = json.loads(await socket.recv())
                    assert hello["fps"] == 1.0  # the policy's rate
                    seq = await stream(socket, ONE_FACE, 2.0, 0)
                    assert proctor.socket is not None
                    await proctor.socket.send(
                        json.dumps({"type": "watch", "session_id": str(session.id)})
                    )
                    # Node B hears of the watch on the hub topic: it asks for the confirming
                    # rate, and every analysed frame goes to node A's wall at full size.
                    streaming = asyncio.create_task(stream(socket, ONE_FACE, 6.0, seq))
                    rate = await candidate_messages(socket, "rate", timeout=6)
                    assert rate["fps"] == CONFIRM_FPS
                    pictures = await full_frames(proctor, str(session.id), 5, timeout=8)
                    await streaming
                    assert all(jpeg == ONE_FACE for jpeg in pictures)
                    assert proctor.socket is not None
                    await proctor.socket.send(json.dumps({"type": "watch", "session_id": None}))

        asyncio.run(scenario())


async def full_frames(proctor: Proctor, session_id: str, count: int, timeout: float) -> list[bytes]:
    """The JPEGs of the next `count` full frames of the watched session on the proctor socket."""
    assert proctor.socket is not None
    deadline = time.monotonic() + timeout
    pictures: list[bytes] = []
    expecting = False
    while len(pictures) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"{len(pictures)} full frames in {timeout} s, expected {count}"
        raw = await asyncio.wait_for(proctor.socket.recv(), left)
        if isinstance(raw, bytes):
            if expecting:
                pictures.append(raw)
            expecting = False
            continue
        event = json.loads(raw)
        expecting = event["type"] == "frame"
        if expecting:
            assert event["session_id"] == session_id
    return pictures


def test_killing_a_worker_loses_no_violation(
    settings: Settings, redis_url: str, workers: Workers, factory: Factory
) -> None:
    doomed = workers.start("doomed")
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor_user)
    running_session(factory, candidate)
    scaled = settings.model_copy(update={"redis_url": redis_url})
    queue = redis_client.Redis.from_url(redis_url)

    with serving(scaled) as node:
        proctor = Proctor(node, proctor_user)

        async def scenario() -> None:
            async with proctor_socket(proctor, exam.id):
                await proctor.wait_for(lambda e: e["type"] == "snapshot")
                url = ws_url(node, f"/ws/take/{candidate.invite_token}")
                async with connect(url) as socket:
                    await socket.recv()
                    await stream(socket, ONE_FACE, 1.0, 0)
                    # The worker hangs holding frames, then dies: its jobs stay pending.
                    doomed.send_signal(signal.SIGSTOP)
                    await stream(socket, TWO_FACES, 2.5, 100)
                    pending = queue.xpending(JOBS_STREAM, GROUP)
                    assert pending["pending"] >= 1
                    doomed.kill()
                    workers.start("rescuer")
                    event = await proctor.wait_for(opened("multiple_faces"), timeout=45)
                    assert event["violation"]["kind"] == "multiple_faces"

        asyncio.run(scenario())
    assert queue.xpending(JOBS_STREAM, GROUP)["pending"] == 0


def test_the_service_recovers_from_a_redis_restart(
    settings: Settings, redis: RedisServer, workers: Workers, factory: Factory
) -> None:
    workers.start("w1")
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor_user)
    running_session(factory, candidate)
    scaled = settings.model_copy(update={"redis_url": redis.url})

    with serving(scaled) as node:
        proctor = Proctor(node, proctor_user)

        async def scenario() -> None:
            async with proctor_socket(proctor, exam.id):
                await proctor.wait_for(lambda e: e["type"] == "snapshot")
                url = ws_url(node, f"/ws/take/{candidate.invite_token}")
                async with connect(url) as socket:
                    await socket.recv()
                    seq = await stream(socket, ONE_FACE, 1.0, 0)
                    redis.restart()  # nothing survives: streams, groups, subscriptions
                    await asyncio.sleep(3)  # bus, queue and worker reconnect by themselves
                    await stream(socket, TWO_FACES, 4.0, seq)
                    await proctor.wait_for(opened("multiple_faces"), timeout=30)

        asyncio.run(scenario())


def test_workers_need_redis(settings: Settings, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openproctor.cli", "worker"],
        env={**os.environ, "OPENPROCTOR_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "OPENPROCTOR_REDIS_URL" in result.stderr


def _queue_frame(queue: redis_client.Redis, reply: str) -> bytes:
    """One frame job as a web node queues it (see RedisAnalysis.analyse); its entry id."""
    job = {"kind": "frame", "id": "job-1", "reply": reply, "session_id": "s-1", "seq": 0}
    job |= {"ts_ms": 0.0, "objects": False, "identity": False, "thumbnail": False}
    entry_id: bytes = queue.xadd(JOBS_STREAM, {"job": json.dumps(job), "data": ONE_FACE})
    return entry_id


def test_a_job_two_workers_took_and_never_finished_is_given_up(
    settings: Settings, redis_url: str, workers: Workers
) -> None:
    queue = redis_client.Redis.from_url(redis_url)
    queue.xgroup_create(JOBS_STREAM, GROUP, id="0", mkstream=True)
    entry_id = _queue_frame(queue, "results:test")
    # Taken by one worker, then by another after the first hung; both hung on it too.
    assert queue.xreadgroup(GROUP, "hung-1", {JOBS_STREAM: ">"}, count=1)
    queue.xclaim(JOBS_STREAM, GROUP, "hung-2", 0, [entry_id], idle=60_000, retrycount=2)

    workers.start("third")
    deadline = time.monotonic() + 30
    while not (answers := queue.xrange("results:test")):
        assert time.monotonic() < deadline, "no answer to the job"
        time.sleep(0.2)
    [(_, fields)] = answers
    assert json.loads(fields[b"result"]) == {
        "id": "job-1",
        "error": "given up after 3 workers took it and none finished it",
    }
    assert queue.xpending(JOBS_STREAM, GROUP)["pending"] == 0
    assert queue.xrange(JOBS_STREAM) == []


def test_a_worker_whose_job_overruns_exits_and_leaves_the_job_to_another(
    settings: Settings, redis_url: str, workers: Workers
) -> None:
    # Analysing a real frame (decode, face detection and mesh: 5 ms and more) takes longer
    # than a millisecond: a stuck job here. (At 10 ms a fast machine finished it in time.)
    stuck = workers.start("stuck", OPENPROCTOR_ANALYSIS_JOB_TIMEOUT_S="0.001")
    queue = redis_client.Redis.from_url(redis_url)
    _queue_frame(queue, "results:test")
    assert stuck.wait(90) == EXIT_STUCK  # loading the models first takes long on a busy machine
    [pending] = queue.xpending_range(JOBS_STREAM, GROUP, "-", "+", 10)
    assert pending["consumer"] == b"stuck"

    workers.start("fresh")  # takes the job over once it has been idle for RECLAIM_IDLE_MS
    deadline = time.monotonic() + 90
    while not (answers := queue.xrange("results:test")):
        assert time.monotonic() < deadline, "no answer to the job"
        time.sleep(0.2)
    [(_, fields)] = answers
    assert json.loads(fields[b"result"])["gate"] == "analysed"
