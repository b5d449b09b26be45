"""The analysis pool with real worker processes and the real models: a job that overruns its
time limit is ended by replacing its worker, and the other workers keep answering."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from openproctor.detectors.config import DetectorConfig
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import FrameJob
from openproctor.pipeline.pool import AnalysisPool, JobTimedOut

FIXTURES = Path(__file__).parent.parent / "fixtures"
TIME_LIMIT_S = 3.0

pytestmark = pytest.mark.analysis


def alive(pid: int) -> bool:
    """Whether pid is a running process (a zombie has ended: it only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_stuck_job_is_ended_by_replacing_its_worker_while_others_flow(model_dir: Path) -> None:
    frame = (FIXTURES / "pai_webcam_center.jpg").read_bytes()

    async def scenario() -> None:
        config = DetectorConfig(objects=None, speech=False)
        pool = AnalysisPool(model_dir, config, workers=2, job_timeout_s=TIME_LIMIT_S)
        try:
            await pool.start()
            stuck_pid = await pool.run("stuck", os.getpid)
            calm_pid = await pool.run("calm", os.getpid)
            assert stuck_pid != calm_pid  # each session pinned to its own worker

            started = time.monotonic()
            # A genuinely slow job: a minute of sleep, far over the limit.
            stuck = asyncio.create_task(pool.run("stuck", time.sleep, 60))
            calm = FrameJob("calm", 0, 0.0, frame, objects=False, identity=False)
            assert (await pool.analyse(calm)).gate is Gate.ANALYSED
            with pytest.raises(JobTimedOut, match="analysis took longer than 3 s"):
                await stuck
            assert TIME_LIMIT_S <= time.monotonic() - started < TIME_LIMIT_S + 5
            assert pool.restarts == 1
            for _ in range(50):
                if not alive(stuck_pid):
                    break
                await asyncio.sleep(0.1)
            assert not alive(stuck_pid)

            # A fresh process took the stuck one's place; the other worker is the same one.
            assert await pool.run("stuck", os.getpid) not in (stuck_pid, calm_pid)
            assert await pool.run("calm", os.getpid) == calm_pid
            again = FrameJob("stuck", 1, 1.0, frame, objects=False, identity=False)
            assert (await pool.analyse(again)).gate is Gate.ANALYSED
        finally:
            await pool.close()

    asyncio.run(scenario())
