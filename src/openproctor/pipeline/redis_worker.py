"""`openproctor worker`: one analysis process taking jobs from Redis (see redis_queue.py)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import RedisError, ResponseError

from openproctor.detectors.config import DetectorConfig
from openproctor.pipeline import worker
from openproctor.pipeline.redis_queue import (
    GROUP,
    JOBS_STREAM,
    RECLAIM_IDLE_MS,
    RETRY_S,
    WORKERS_PREFIX,
    outcome_to_wire,
)
from openproctor.pipeline.worker import FrameJob

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
RECLAIM_EVERY_S = 5.0
RESULT_MAXLEN = 10_000


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def handle(
    job: dict[str, Any], data: bytes, state: bytes, key: bytes
) -> tuple[dict[str, Any], bytes, bytes]:
    """One job through the same functions local workers run, with the session's state from
    its last frame (whichever worker ran that): same results either way. Returns the answer,
    its bytes (a thumbnail) and the session's new state."""
    kind = job.pop("kind")
    if kind == "frame":
        fields = {k: v for k, v in job.items() if k in FrameJob.__dataclass_fields__}
        fields["reference"] = tuple(fields["reference"]) if fields.get("reference") else None
        fields["baseline"] = tuple(fields["baseline"]) if fields.get("baseline") else None
        session_id = fields["session_id"]
        worker.adopt_session_state(session_id, state, key)
        body, thumbnail = outcome_to_wire(worker.analyse_frame(FrameJob(jpeg=data, **fields)))
        return body, thumbnail, worker.take_session_state(session_id, key)
    if kind == "enrol":
        return asdict(worker.enrol(data)), b"", b""
    if kind == "speech":
        return {"probability": worker.speech_probability(data)}, b"", b""
    raise ValueError(f"unknown job kind {kind!r}")


class Worker:
    def __init__(
        self, url: str, model_dir: Path, config: DetectorConfig, name: str, secret: str
    ) -> None:
        self.url = url
        self.name = name
        self.key = worker.state_key(secret)
        worker.init_worker(str(model_dir), config.model_dump_json())
        self.client = redis.Redis.from_url(url)
        self.processed = 0

    def _ensure_group(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            self.client.xgroup_create(JOBS_STREAM, GROUP, id="0", mkstream=True)

    def _process(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        job = json.loads(fields[b"job"])
        job_id, reply = job.pop("id"), job.pop("reply")
        try:
            body, data, state = handle(
                job, fields.get(b"data", b""), fields.get(b"state", b""), self.key
            )
        except Exception as error:
            log.exception("job %s failed", job_id)
            body, data, state = {"error": str(error)}, b"", b""
        self.client.xadd(
            reply,
            {"result": json.dumps({**body, "id": job_id}), "data": data, "state": state},
            maxlen=RESULT_MAXLEN,
            approximate=True,
        )
        self.client.xack(JOBS_STREAM, GROUP, entry_id)
        self.client.xdel(JOBS_STREAM, entry_id)
        self.processed += 1

    def run(self, *, stop_after: float | None = None) -> None:
        """Takes jobs until stopped; survives Redis restarts by retrying."""
        started = time.monotonic()
        last_beat = last_reclaim = 0.0
        while stop_after is None or time.monotonic() - started < stop_after:
            try:
                now = time.monotonic()
                if now - last_beat >= HEARTBEAT_S:
                    self._ensure_group()
                    self.client.set(WORKERS_PREFIX + self.name, self.processed, ex=10)
                    last_beat = now
                if now - last_reclaim >= RECLAIM_EVERY_S:
                    # Jobs another worker took but never finished (it died): take them over.
                    # redis-py types stream replies loosely: [next id, [(id, fields)], ...].
                    reclaimed: Any = self.client.xautoclaim(
                        JOBS_STREAM, GROUP, self.name, RECLAIM_IDLE_MS, "0-0", count=10
                    )
                    for entry_id, fields in reclaimed[1]:
                        if fields:
                            self._process(entry_id, fields)
                    last_reclaim = now
                answer: Any = self.client.xreadgroup(
                    GROUP, self.name, {JOBS_STREAM: ">"}, count=1, block=1000
                )
                for _, entries in answer or []:
                    for entry_id, fields in entries:
                        self._process(entry_id, fields)
            except (RedisError, OSError) as error:
                log.warning("redis unavailable (%s); retrying", error)
                time.sleep(RETRY_S)
