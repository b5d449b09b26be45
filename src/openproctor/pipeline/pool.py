"""The analysis worker processes, seen from the server's event loop.

Each worker is a process with its own model set. A session is pinned to one worker (the least
loaded when it first sends a frame), so the worker's per-session gate state is always right.
At most IN_FLIGHT jobs wait at each worker: a session first takes a slot, then the newest
frame it has, so a slow worker means older frames are skipped (and counted by the caller)
rather than queued and analysed late. A job has a time limit; a worker that overruns it is
killed and replaced, so one stuck job holds up its sessions for that long and no longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from openproctor.detectors.config import DetectorConfig
from openproctor.pipeline.jobs import (
    EnrolOutcome,
    FrameJob,
    FrameOutcome,
    IdDocumentJob,
    IdDocumentOutcome,
)
from openproctor.pipeline.slots import Slots

IN_FLIGHT = 2

log = logging.getLogger(__name__)


class JobTimedOut(RuntimeError):
    """A job overran the time limit; its worker was killed and replaced."""


# These run in the worker process. The models' code (worker.py) is imported there, and never
# in the server process, which only pickles references to these functions.
def _init_in_worker(model_dir: str, config_json: str) -> None:
    from openproctor.pipeline import worker

    worker.init_worker(model_dir, config_json)


def _analyse_in_worker(job: FrameJob) -> FrameOutcome:
    from openproctor.pipeline import worker

    return worker.analyse_frame(job)


def _enrol_in_worker(jpeg: bytes, reference: bool) -> EnrolOutcome:
    from openproctor.pipeline import worker

    return worker.enrol(jpeg, reference=reference)


def _id_document_in_worker(job: IdDocumentJob) -> IdDocumentOutcome:
    from openproctor.pipeline import worker

    return worker.id_document(job)


def _speech_in_worker(pcm: bytes) -> float | None:
    from openproctor.pipeline import worker

    return worker.speech_probability(pcm)


class _Process:
    """One worker process (a one-process executor). Its pid is the first thing asked of it, so
    a job that overruns can be ended by killing the process, and so a job's time limit starts
    only once the process has loaded its models."""

    def __init__(self, initargs: tuple[str, str]) -> None:
        # spawn, not fork: the server process has threads, and forking those is unsafe.
        self.executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_in_worker,
            initargs=initargs,
        )
        self._pid: Future[int] | None = None

    async def started(self) -> None:
        if self._pid is None:
            self._pid = self.executor.submit(os.getpid)
        await asyncio.wrap_future(self._pid)

    async def run(self, timeout_s: float, function: Any, *args: Any) -> Any:
        await self.started()
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(
            loop.run_in_executor(self.executor, function, *args), timeout_s
        )

    def kill(self) -> None:
        """Ends a stuck process now; its other job fails as broken. (Only a live process: the
        pid of a dead one, reaped by the executor, may belong to another process by now.)"""
        if self._pid is not None and self._pid.done() and self._pid.exception() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid.result(), signal.SIGKILL)


class AnalysisPool:
    """An Analysis (see jobs.py) on worker processes of this node."""

    def __init__(
        self, model_dir: Path, config: DetectorConfig, workers: int, *, job_timeout_s: float
    ) -> None:
        self._initargs = (str(model_dir), config.model_dump_json())
        self._processes = [_Process(self._initargs) for _ in range(workers)]
        self._slots = [Slots(IN_FLIGHT) for _ in range(workers)]
        self._pinned: dict[str, int] = {}
        self._sessions_per_worker = [0] * workers
        self.job_timeout_s = job_timeout_s
        self.restarts = 0

    @property
    def size(self) -> int:
        return len(self._processes)

    async def start(self) -> None:
        """Loads the models in every worker now, so the first frame is not slow."""
        await asyncio.gather(*(process.started() for process in self._processes))

    async def close(self) -> None:
        for process in self._processes:
            process.executor.shutdown(wait=False, cancel_futures=True)

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

    async def run(self, session_id: str, function: Any, *args: Any) -> Any:
        """function(*args) in the session's worker, within the time limit."""
        index = self._worker_of(session_id)
        try:
            return await self._attempt(index, function, *args)
        except BrokenProcessPool:
            # A worker died (out of memory, a crash in a model): it was replaced by a fresh
            # one; retry once. The frame it held is lost, which the caller counts.
            return await self._attempt(index, function, *args)

    async def _attempt(self, index: int, function: Any, *args: Any) -> Any:
        process = self._processes[index]
        try:
            return await process.run(self.job_timeout_s, function, *args)
        except BrokenProcessPool:
            self._replace(index, process)
            raise
        except TimeoutError:
            # Stuck (a model that hangs, an image that takes minutes): the sessions pinned to
            # this worker would wait behind it, so it goes; the caller counts the frame.
            log.warning(
                "a %s job overran %.0f s: its worker was killed and replaced",
                getattr(function, "__name__", function),
                self.job_timeout_s,
            )
            process.kill()
            self._replace(index, process)
            raise JobTimedOut(f"analysis took longer than {self.job_timeout_s:.0f} s") from None

    def _replace(self, index: int, process: _Process) -> _Process:
        """Puts a fresh process in the place of a dead one, unless another job that failed
        with it did so already (both in-flight jobs see it die)."""
        if self._processes[index] is process:
            process.executor.shutdown(wait=False, cancel_futures=True)
            self._processes[index] = _Process(self._initargs)
            self.restarts += 1
        return self._processes[index]

    async def analyse(self, job: FrameJob) -> FrameOutcome:
        outcome: FrameOutcome = await self.run(job.session_id, _analyse_in_worker, job)
        return outcome

    async def enrol(self, session_id: str, jpeg: bytes, *, reference: bool = False) -> EnrolOutcome:
        async with self.slot(session_id):
            outcome: EnrolOutcome = await self.run(session_id, _enrol_in_worker, jpeg, reference)
            return outcome

    async def speech(self, session_id: str, pcm: bytes) -> float | None:
        async with self.slot(session_id):
            probability: float | None = await self.run(session_id, _speech_in_worker, pcm)
            return probability

    async def id_document(self, job: IdDocumentJob) -> IdDocumentOutcome:
        async with self.slot(job.session_id):
            outcome: IdDocumentOutcome = await self.run(job.session_id, _id_document_in_worker, job)
            return outcome
