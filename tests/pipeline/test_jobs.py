"""What crosses between the web process and the workers (pipeline/jobs.py)."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.detections import Detections
from openproctor.pipeline.gates import Gate
from openproctor.pipeline.jobs import (
    Analysis,
    EnrolOutcome,
    FrameJob,
    FrameOutcome,
)
from openproctor.pipeline.pool import AnalysisPool
from openproctor.pipeline.redis_queue import RedisAnalysis


def test_jobs_and_outcomes_cross_a_process_boundary_unchanged() -> None:
    # Local workers get and give these pickled.
    job = FrameJob("s-1", 3, 99.5, b"jpeg", objects=True, identity=True, reference=(0.1, 0.2))
    outcome = FrameOutcome(
        "s-1",
        3,
        99.5,
        Gate.ANALYSED,
        face_boxes=((1.0, 2.0, 3.0, 4.0),),
        objects=Detections.of([[0.0, 0.0, 9.0, 9.0]], [0.5], ["book"]),
        thumbnail=b"thumb",
        timings_ms={"face": 1.0},
    )
    enrolled = EnrolOutcome(True, "ok", (0.5,) * 128, (1.0, -2.0, 0.1))
    for value in (job, outcome, enrolled):
        assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes


def test_faces_are_counted_from_their_boxes() -> None:
    outcome = FrameOutcome("s", 0, 0.0, Gate.ANALYSED, face_boxes=((0, 0, 1, 1), (2, 2, 3, 3)))
    assert outcome.faces == 2
    assert FrameOutcome("s", 0, 0.0, Gate.COVERED).faces == 0


def test_the_local_pool_and_redis_both_offer_what_analysis_promises(tmp_path: Path) -> None:
    # mypy checks the signatures where app.py assigns both to an Analysis; this checks that
    # neither lacks a member the live layer calls.
    promised = {name for name in vars(Analysis) if not name.startswith("_")}
    assert promised == {
        "waiting",
        "start",
        "close",
        "slot",
        "release",
        "analyse",
        "enrol",
        "speech",
        "id_document",
    }
    pool = AnalysisPool(tmp_path, DetectorConfig(), 1, job_timeout_s=1.0)
    try:
        for analysis in (pool, RedisAnalysis("redis://127.0.0.1:1/0")):
            missing = {name for name in promised if not hasattr(analysis, name)}
            assert not missing, f"{type(analysis).__name__} lacks {missing}"
    finally:
        asyncio.run(pool.close())
