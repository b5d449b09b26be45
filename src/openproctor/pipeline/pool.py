"""The analysis worker processes, seen from the server's event loop.

Each worker is a process with its own model set. A session is pinned to one worker (the least
loaded when it first sends a frame), so the worker's per-session gate state is always right.
At most IN_FLIGHT jobs wait at each worker: a session first takes a slot, then the newest
frame it has, so a slow worker means older frames are skipped (and counted by the caller)
rather than queued and analysed late.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from openproctor.detectors.config import DetectorConfig
from openproctor.pipeline import worker
from openproctor.pipeline.slots import Slots
from openproctor.pipeline.worker import EnrolOutcome, FrameJob, FrameOutcome

IN_FLIGHT = 2


class AnalysisPool:
    def __init__(self, model_dir: Path, config: DetectorConfig, workers: int) -> None:
        self._initargs = (str(model_dir), config.model_dump_json())
        self._executors = [self._new_executor() for _ in range(workers)]
        self._slots = [Slots(IN_FLIGHT) for _ in range(workers)]
        self._pinned: dict[str, int] = {}
        self._sessions_per_worker = [0] * workers
        self.restarts = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server process has threads, and forking those is unsafe.
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker.init_worker,
            initargs=self._initargs,
        )

    @property
    def size(self) -> int:
        return len(self._executors)

    async def start(self) -> None:
        """Loads the models in every worker now, so the first frame is not slow."""
        await asyncio.gather(*(self._run(i, _ready) for i in range(self.size)))

    async def close(self) -> None:
        for executor in self._executors:
            executor.shutdown(wait=False, cancel_futures=True)

    def _worker_of(self, session_id: str) -> int:
        index = self._pinned.get(session_id)
        if index is None:
            index = min(range(self.size), key=self._sessions_per_worker.__getitem__)
            self._pinned[session_id] = index
            self._sessions_per_worker[index] += 1
        return index

    def release(self, session_id: str) -> None:
        index = self._pinned.pop(session_id, None)
        if index is not None:
            self._sessions_per_worker[index] -= 1

    @property
    def waiting(self) -> int:
        """Sessions waiting for room at a worker: the queue depth."""
        return sum(slots.waiting for slots in self._slots)

    @asynccontextmanager
    async def slot(self, session_id: str, *, urgent: bool = False) -> AsyncIterator[None]:
        """Waits for room at the session's worker (urgent sessions first, see slots.py);
        take the newest frame only once inside."""
        async with self._slots[self._worker_of(session_id)].held(urgent=urgent):
            yield

    async def _run(self, index: int, function: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executors[index], function, *args)
        except BrokenProcessPool:
            # A worker died (out of memory, a crash in a model): start a fresh one and retry
            # once; the frame it held is lost, which the caller counts.
            self._executors[index] = self._new_executor()
            self.restarts += 1
            return await loop.run_in_executor(self._executors[index], function, *args)

    async def analyse(self, job: FrameJob) -> FrameOutcome:
        outcome: FrameOutcome = await self._run(
            self._worker_of(job.session_id), worker.analyse_frame, job
        )
        return outcome

    async def enrol(self, session_id: str, jpeg: bytes) -> EnrolOutcome:
        async with self.slot(session_id):
            outcome: EnrolOutcome = await self._run(self._worker_of(session_id), worker.enrol, jpeg)
            return outcome

    async def speech(self, session_id: str, pcm: bytes) -> float | None:
        async with self.slot(session_id):
            probability: float | None = await self._run(
                self._worker_of(session_id), worker.speech_probability, pcm
            )
            return probability


def _ready() -> bool:
    return True
