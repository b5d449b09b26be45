"""`openproctor worker`: one analysis process taking jobs from Redis (see redis_queue.py)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import RedisError, ResponseError

from openproctor.detectors.config import DetectorConfig
from openproctor.pipeline import worker
from openproctor.pipeline.jobs import FrameJob, IdDocumentJob
from openproctor.pipeline.redis_queue import (
    GROUP,
    JOBS_STREAM,
    RECLAIM_IDLE_MS,
    RETRY_S,
    WORKERS_PREFIX,
    outcome_to_wire,
)

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
RECLAIM_EVERY_S = 5.0
RESULT_MAXLEN = 10_000
# A job is run by at most two workers: the one that took it and one that took it over when
# the first died or hung. A job that stopped both would stop every worker it reached.
MAX_DELIVERIES = 2
# The exit status of a worker that ended itself because a job overran its time limit.
EXIT_STUCK = 3


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
        return asdict(worker.enrol(data, reference=bool(job.get("reference")))), b"", b""
    if kind == "speech":
        return {"probability": worker.speech_probability(data)}, b"", b""
    if kind == "id_document":
        reference = job.get("reference")
        document = IdDocumentJob(
            session_id=job["session_id"],
            image=data,
            reference=tuple(reference) if reference else None,
            reference_embedder=job.get("reference_embedder"),
        )
        return asdict(worker.id_document(document)), b"", b""
    raise ValueError(f"unknown job kind {kind!r}")


class Worker:
    def __init__(
        self,
        url: str,
        model_dir: Path,
        config: DetectorConfig,
        name: str,
        secret: str,
        *,
        job_timeout_s: float,
    ) -> None:
        self.url = url
        self.name = name
        self.key = worker.state_key(secret)
        self.job_timeout_s = job_timeout_s
        worker.init_worker(str(model_dir), config.model_dump_json())
        self.client = redis.Redis.from_url(url)
        self.processed = 0
        self._job_started: float | None = None

    def _exit_when_stuck(self) -> None:
        """A job cannot be interrupted from inside (a model or a decoder may hang in C code),
        so a worker whose job overruns ends itself; its supervisor starts a fresh one, and the
        job goes to one other worker at most (MAX_DELIVERIES)."""
        while True:
            time.sleep(min(1.0, self.job_timeout_s / 2))
            started = self._job_started
            if started is not None and time.monotonic() - started > self.job_timeout_s:
                log.error(
                    "a job took longer than %.0f s: this worker exits so a fresh one takes over",
                    self.job_timeout_s,
                )
                os._exit(EXIT_STUCK)

    def _give_up(self, entry_id: bytes, fields: dict[bytes, bytes], deliveries: int) -> None:
        job = json.loads(fields[b"job"])
        log.error("job %s given up: %d workers took it and none finished", job["id"], deliveries)
        error = f"given up after {deliveries} workers took it and none finished it"
        self.client.xadd(
            job["reply"],
            {"result": json.dumps({"error": error, "id": job["id"]})},
            maxlen=RESULT_MAXLEN,
            approximate=True,
        )
        self.client.xack(JOBS_STREAM, GROUP, entry_id)
        self.client.xdel(JOBS_STREAM, entry_id)

    def _deliveries(self, entry_id: bytes) -> int:
        pending: Any = self.client.xpending_range(JOBS_STREAM, GROUP, entry_id, entry_id, 1)
        return int(pending[0]["times_delivered"]) if pending else 0

    def _ensure_group(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            self.client.xgroup_create(JOBS_STREAM, GROUP, id="0", mkstream=True)

    def _process(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        job = json.loads(fields[b"job"])
        job_id, reply = job.pop("id"), job.pop("reply")
        self._job_started = time.monotonic()
        try:
            body, data, state = handle(
                job, fields.get(b"data", b""), fields.get(b"state", b""), self.key
            )
        except Exception as error:
            log.exception("job %s failed", job_id)
            body, data, state = {"error": str(error)}, b"", b""
        finally:
            self._job_started = None
        self.client.xadd(
            reply,
            {"result": json.dumps({**body, "id": job_id}), "data": data, "state": state},
            maxlen=RESULT_MAXLEN,
            approximate=True,
        )
        self.client.xack(JOBS_STREAM, GROUP, entry_id)
        self.client.xdel(JOBS_STREAM, entry_id)
        self.processed += 1

    def run(self) -> None:
        """Takes jobs until the process ends; survives Redis restarts by retrying."""
        last_beat = last_reclaim = 0.0
        threading.Thread(target=self._exit_when_stuck, name="job-watch", daemon=True).start()
        while True:
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
                        if not fields:
                            continue
                        deliveries = self._deliveries(entry_id)
                        if deliveries > MAX_DELIVERIES:
                            self._give_up(entry_id, fields, deliveries)
                        else:
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
