"""Analysing one still image with the server's real detector, in the analysis pool."""

from __future__ import annotations

import uuid

from openproctor.pipeline.jobs import Analysis, FrameJob, FrameOutcome


async def analyse_image(pool: Analysis, image: bytes) -> FrameOutcome:
    """Faces (and gates) of one image, under a throwaway session id: no tracking state from
    any live session is used or changed."""
    session_id = f"still-{uuid.uuid4().hex}"
    job = FrameJob(
        session_id=session_id, seq=0, ts_ms=0.0, jpeg=image, objects=False, identity=False
    )
    try:
        async with pool.slot(session_id):
            return await pool.analyse(job)
    finally:
        pool.release(session_id)
