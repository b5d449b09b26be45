"""Analysis through Redis Streams: web nodes queue jobs, `openproctor worker` processes take them.

A job is one stream entry: its description as JSON and its bytes (a JPEG or audio) beside it.
Workers read with a consumer group, so each job goes to one worker; a job a worker took but
never acknowledged (it died) is claimed by another after RECLAIM_IDLE_MS, so nothing it held
is lost; but only once (MAX_DELIVERIES in redis_worker.py), so a job that stops every worker
that runs it stops two at most, and a worker whose job overruns the time limit exits for its
supervisor to restart. Each web node reads its answers from its own result stream.

The web node keeps the same discipline as with local workers: a bounded number of jobs in
flight, and a session takes its newest frame only once it has a place, so older frames are
skipped (and counted) rather than queued. A session's frames go one at a time, each with the
sealed state its last frame left (face tracker, gates), so any worker continues where the last
one stopped, as a pinned local worker does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, fields
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from openproctor.detectors.base import TextLine
from openproctor.detectors.detections import Detections
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import (
    EnrolOutcome,
    FaceLook,
    FrameJob,
    FrameOutcome,
    IdDocumentJob,
    IdDocumentOutcome,
)
from openproctor.pipeline.slots import Slots

log = logging.getLogger(__name__)

JOBS_STREAM = "openproctor:jobs"
GROUP = "workers"
RESULTS_PREFIX = "openproctor:results:"
WORKERS_PREFIX = "openproctor:worker:"
STREAM_MAXLEN = 100_000
RECLAIM_IDLE_MS = 10_000
# A job is given up (counted skipped) after this; longer than a reclaim, so a dead worker's
# jobs still come back in time.
JOB_TIMEOUT_S = 30.0
IN_FLIGHT = 16
RETRY_S = 0.5


def outcome_to_wire(outcome: FrameOutcome) -> tuple[dict[str, Any], bytes]:
    """The outcome as JSON-ready values, and its thumbnail's bytes to send beside them."""
    body = {field.name: getattr(outcome, field.name) for field in fields(outcome)}
    body.pop("thumbnail")
    body["objects"] = outcome.objects.to_wire()
    body["looks"] = [asdict(look) if look else None for look in outcome.looks]
    return body, outcome.thumbnail


def outcome_from_wire(body: dict[str, Any], thumbnail: bytes) -> FrameOutcome:
    return FrameOutcome(
        session_id=body["session_id"],
        seq=body["seq"],
        ts_ms=body["ts_ms"],
        gate=Gate(body["gate"]),
        frozen=body["frozen"],
        changed_a_lot=body["changed_a_lot"],
        face_boxes=tuple(tuple(box) for box in body["face_boxes"]),
        looks=tuple(FaceLook(**look) if look else None for look in body["looks"]),
        width=body["width"],
        height=body["height"],
        objects=Detections.from_wire(body["objects"]),
        persons=body["persons"],
        flags=tuple(body["flags"]),
        identity_distance=body["identity_distance"],
        objects_ran=body["objects_ran"],
        identity_ran=body["identity_ran"],
        thumbnail=thumbnail,
        timings_ms=body["timings_ms"],
    )


def id_document_from_wire(body: dict[str, Any]) -> IdDocumentOutcome:
    """The inverse of dataclasses.asdict on an IdDocumentOutcome (JSON made tuples lists)."""

    def box(value: list[float] | None) -> tuple[float, float, float, float] | None:
        return None if value is None else (value[0], value[1], value[2], value[3])

    return IdDocumentOutcome(
        decoded=body["decoded"],
        lines=tuple(
            TextLine(line["text"], line["score"], box(line["box"]) or (0.0, 0.0, 0.0, 0.0))
            for line in body["lines"]
        ),
        document_face=box(body["document_face"]),
        live_face=box(body["live_face"]),
        distance_enrolment=body["distance_enrolment"],
        distance_frame=body["distance_frame"],
        max_distance=body["max_distance"],
        embedder=body["embedder"],
        timings_ms=body["timings_ms"],
    )


async def ensure_group(client: aioredis.Redis) -> None:
    with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
        await client.xgroup_create(JOBS_STREAM, GROUP, id="0", mkstream=True)


class RedisAnalysis:
    """The web node's side: an Analysis (see jobs.py) whose workers are behind Redis."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results = RESULTS_PREFIX + uuid.uuid4().hex
        self._client: aioredis.Redis | None = None
        self._slots = Slots(IN_FLIGHT)
        self._futures: dict[str, asyncio.Future[tuple[dict[str, Any], bytes, bytes]]] = {}
        # Each live session's state as its last frame left it, sealed by the worker.
        self._states: dict[str, bytes] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        client = aioredis.from_url(self.url)
        try:
            await ensure_group(client)
        except BaseException:
            await client.aclose()
            raise
        self._client = client
        self._reader = asyncio.create_task(self._read_results(client))

    async def close(self) -> None:
        """Stops the result reader (it retries until then, through Redis restarts) and drops
        this node's result stream. The app's shutdown runs this; so must anything else that
        started it."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(RedisError, OSError):
                await client.delete(self.results)
            await client.aclose()

    async def workers_alive(self) -> int:
        assert self._client is not None
        return len([key async for key in self._client.scan_iter(match=WORKERS_PREFIX + "*")])

    def release(self, session_id: str) -> None:
        """Nothing is pinned (any worker may take any session's frame); the state goes."""
        self._states.pop(session_id, None)

    @property
    def waiting(self) -> int:
        return self._slots.waiting

    @asynccontextmanager
    async def slot(self, session_id: str, *, urgent: bool = False) -> AsyncIterator[None]:
        async with self._slots.held(urgent=urgent):
            yield

    async def _submit(
        self, job: dict[str, Any], data: bytes, state: bytes = b""
    ) -> tuple[dict[str, Any], bytes, bytes]:
        assert self._client is not None
        job_id = uuid.uuid4().hex
        future: asyncio.Future[tuple[dict[str, Any], bytes, bytes]] = (
            asyncio.get_running_loop().create_future()
        )
        self._futures[job_id] = future
        fields = {
            "job": json.dumps({**job, "id": job_id, "reply": self.results}),
            "data": data,
            "state": state,
        }
        try:
            await self._client.xadd(JOBS_STREAM, fields, maxlen=STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]
            return await asyncio.wait_for(future, JOB_TIMEOUT_S)
        finally:
            self._futures.pop(job_id, None)

    async def _read_results(self, client: aioredis.Redis) -> None:
        last = "0-0"
        while True:
            try:
                # redis-py types stream replies loosely; they are [(stream, [(id, fields)])].
                answer: Any = await client.xread({self.results: last}, count=100, block=1000)
                for _, entries in answer:
                    for entry_id, fields in entries:
                        last = entry_id
                        body = json.loads(fields[b"result"])
                        future = self._futures.get(body.pop("id"))
                        if future is None or future.done():
                            continue  # given up on already
                        if "error" in body:
                            future.set_exception(RuntimeError(body["error"]))
                        else:
                            future.set_result(
                                (body, fields.get(b"data", b""), fields.get(b"state", b""))
                            )
                    await client.xtrim(self.results, minid=last)
            except (RedisError, OSError) as error:
                log.warning("reading analysis results failed (%s); retrying", error)
                await asyncio.sleep(RETRY_S)

    async def analyse(self, job: FrameJob) -> FrameOutcome:
        description = asdict(job)
        data = description.pop("jpeg")
        body, thumbnail, state = await self._submit(
            {"kind": "frame", **description}, data, self._states.get(job.session_id, b"")
        )
        self._states[job.session_id] = state
        return outcome_from_wire(body, thumbnail)

    async def enrol(self, session_id: str, jpeg: bytes, *, reference: bool = False) -> EnrolOutcome:
        async with self.slot(session_id):
            job = {"kind": "enrol", "session_id": session_id, "reference": reference}
            body, _, _ = await self._submit(job, jpeg)
        return EnrolOutcome(
            body["ok"],
            body["guidance"],
            tuple(body["embedding"]),
            tuple(body["baseline"]),
            body.get("embedder", ""),
        )

    async def speech(self, session_id: str, pcm: bytes) -> float | None:
        async with self.slot(session_id):
            body, _, _ = await self._submit({"kind": "speech", "session_id": session_id}, pcm)
        probability: float | None = body["probability"]
        return probability

    async def id_document(self, job: IdDocumentJob) -> IdDocumentOutcome:
        description = asdict(job)
        data = description.pop("image")
        async with self.slot(job.session_id):
            body, _, _ = await self._submit({"kind": "id_document", **description}, data)
        return id_document_from_wire(body)
