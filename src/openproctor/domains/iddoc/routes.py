"""POST /api/v1/take/{token}/sessions/{session_id}/id-document: the candidate shows an ID; and
POST /api/v1/take/{token}/practice/id-document, the practice run's try of it."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from openproctor.db import utcnow
from openproctor.deps import AnalysisDep, Context, Hub
from openproctor.domains.iddoc import flows
from openproctor.domains.iddoc.models import IdCheckRead, IdPracticeRead
from openproctor.pipeline.jobs import IdDocumentJob

take_router = APIRouter(prefix="/take/{token}", tags=["candidate"])
# What both ID routes answer to a photo they cannot take.
IMAGE_REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The photo is larger than 4 MiB or 3840x2160 pixels."},
    422: {"description": "The body is not a JPEG or PNG image."},
    503: {"description": "The analysis workers are not running."},
}


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


@take_router.post(
    "/sessions/{session_id}/id-document",
    response_model=IdCheckRead,
    responses={
        409: {"description": "The exam asks for no ID, check-in is over, or a proctor decides."},
        **IMAGE_REFUSALS,
    },
)
async def submit_id_document(
    token: str,
    session_id: uuid.UUID,
    request: Request,
    context: Context,
    hub: Hub,
    analysis: AnalysisDep,
) -> IdCheckRead:
    """Body: one JPEG or PNG: a webcam frame with the ID held up, or a photo of the ID. It is
    kept as evidence (for the exam's id_retention_days), read by an analysis worker (OCR and
    the portrait), and the result is returned: whether the portrait matches the candidate and
    the roster name is printed on it, with the lines read and the time each stage took. It
    is kept on the check-in record; after the enrolment photo it decides the admission: a
    pass admits (with `admission: auto` and a matching photo), a picture that can be put right
    counts as a refused attempt (`enrol_attempts` in a row: the lobby), anything else waits in
    the lobby for a proctor."""
    arrived = time.perf_counter()
    submitter = await asyncio.to_thread(flows.submitter, context, token, session_id)
    image = await request.body()
    content_type = flows.content_type_of(image)
    if analysis is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "image analysis is not running")
    timings = {"received": _ms(arrived)}
    started = time.perf_counter()
    job = IdDocumentJob(str(session_id), image, submitter.reference, submitter.reference_embedder)
    outcome = await analysis.id_document(job)
    timings["analysis"] = _ms(started)
    started = time.perf_counter()
    document_id = await asyncio.to_thread(
        flows.store_document, context, session_id, image, content_type
    )
    timings["store"] = _ms(started)
    result = flows.decide(
        outcome,
        submitter.roster_name,
        document_id=document_id,
        checked_at=utcnow(),
        timings_ms=timings,
    )
    started = time.perf_counter()
    await asyncio.to_thread(flows.record_result, context, hub, token, session_id, result)
    result.timings_ms.update(admission=_ms(started), total=_ms(arrived))
    return result


@take_router.post(
    "/practice/id-document",
    response_model=IdPracticeRead,
    responses={409: {"description": "The exam asks for no ID."}, **IMAGE_REFUSALS},
)
async def practice_id_document(
    token: str, request: Request, context: Context, analysis: AnalysisDep
) -> IdPracticeRead:
    """Body: as for the exam's ID check. Says whether the ID would be read (the portrait and
    the roster name found) and what to change; keeps nothing."""
    candidate_id, roster_name = await asyncio.to_thread(flows.practice_submitter, context, token)
    image = await request.body()
    flows.content_type_of(image)
    if analysis is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "image analysis is not running")
    outcome = await analysis.id_document(IdDocumentJob(f"practice-{candidate_id}", image))
    return flows.practice_verdict(outcome, roster_name)
