"""The whole run: set up, stream, drain, count."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from openproctor.tools.loadtest.client import (
    RecordingChunk,
    final_counters,
    pass_counts,
    run_candidate,
    run_proctor,
    setup,
    upload_recording,
)
from openproctor.tools.loadtest.meter import ServerMeter
from openproctor.tools.loadtest.report import Results, in_flight
from openproctor.tools.loadtest.scenario import frame_variants
from openproctor.tools.loadtest.server import Target, local_server

DRAIN_S = 6.0
SETTLE_TRIES = 30


async def loadtest(
    *,
    candidates: int,
    fps: float,
    duration: float,
    proctors: int,
    url: str | None,
    admin_email: str | None,
    admin_password: str | None,
    models_dir: Path,
    workers: int | None,
    fixed_rate: bool = False,
    database_url: str | None = None,
    redis_url: str | None = None,
    recording_kbps: float = 0.0,
) -> dict[str, Any]:
    """`database_url` and `redis_url` put the local server on them (with `workers` worker
    processes); `recording_kbps` adds each candidate's webcam recording uploads at that rate."""
    scenes = frame_variants()
    async with contextlib.AsyncExitStack() as stack:
        if url is None:
            target = await stack.enter_async_context(
                local_server(models_dir, workers, database_url=database_url, redis_url=redis_url)
            )
        else:
            if database_url or redis_url:
                raise ValueError(
                    "--database-url and --redis-url are for the server started here: "
                    "leave out --url"
                )
            if not admin_email or not admin_password:
                raise ValueError(
                    "--url needs --admin-email and --admin-password to set up the exam"
                )
            target = Target(url.rstrip("/"), admin_email, admin_password)
        exam_id, people, accounts, debounce = await setup(
            target, candidates, proctors, duration, fps, scenes
        )
        results = Results(candidates=candidates)
        meter = ServerMeter(target) if target.process else None
        if meter is not None:
            await meter.start()
        passes_before = await pass_counts(target.base_url)
        stop = asyncio.Event()
        watchers = [
            asyncio.create_task(
                run_proctor(target.base_url, exam_id, email, password, results, stop)
            )
            for email, password in accounts
        ]
        await asyncio.sleep(1)  # let the dashboards subscribe before anything happens
        uploads = []
        if recording_kbps:
            chunk = RecordingChunk.of_rate(recording_kbps)
            uploads = [
                upload_recording(target.base_url, p, chunk, duration, results) for p in people
            ]
        await asyncio.gather(
            *(
                run_candidate(
                    target.base_url, p, fps, duration, scenes, results, debounce, fixed_rate
                )
                for p in people
            ),
            *uploads,
        )
        await asyncio.sleep(DRAIN_S)
        stop.set()
        await asyncio.gather(*watchers)
        expected = {(e.session_id, e.kind) for e in results.expected}
        # The two-person scene is two people: an object pass that counts both while the faces
        # miss one of them rightly adds this.
        allowed = {
            (e.session_id, "extra_person") for e in results.expected if e.kind == "multiple_faces"
        }
        for session_id, kind in results.received:
            if (session_id, kind) not in expected | allowed:
                results.unexpected[kind] = results.unexpected.get(kind, 0) + 1
        # Frames still waiting for a worker are not lost: wait until every one is analysed or
        # skipped (or half a minute has passed; what is left is then reported as in flight).
        for _ in range(SETTLE_TRIES):
            results.frames = await final_counters(target.base_url, exam_id, target)
            if in_flight(results.frames) == 0:
                break
            await asyncio.sleep(1)
        passes = await pass_counts(target.base_url)
        results.passes = {key: passes[key] - passes_before.get(key, 0.0) for key in passes}
        for stage in ("objects", "identity"):
            if results.passes.get(stage):
                seconds = candidates * duration / results.passes[stage]
                results.passes[f"{stage}_every_s"] = round(seconds, 1)
        if meter is not None:
            results.server = await meter.finish(candidates=candidates, streamed_s=duration)
        return results.report()
