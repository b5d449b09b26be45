"""/api/v1/take/{token}/practice: the practice run's photo check, any time before the exam.

It runs the enrolment check on a photo (one well-lit, frontal face: the same check, in the
same analysis workers, as the real enrolment) and says what to change, but keeps nothing: no
attempt, no photo, no violation. A passing photo records when the candidate last practised,
for the admin's roster.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from openproctor.access import practising_candidate
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.deps import AnalysisDep, Context
from openproctor.domains.sessions.photos import judge_webcam_photo
from openproctor.pipeline import images

router = APIRouter(prefix="/take/{token}", tags=["candidate"])


class PracticeResult(BaseModel):
    ok: bool
    guidance: str
    practised_at: datetime | None


def _frame_size(context: AppContext, token: str) -> tuple[uuid.UUID, images.ImageSize]:
    with context.session_factory() as db:
        candidate, exam = practising_candidate(db=db, token=token, now=utcnow())
        policy = exam.parsed_policy
        return candidate.id, images.ImageSize(policy.frame_width, policy.frame_height)


def _practised(context: AppContext, token: str) -> datetime:
    with context.session_factory() as db:
        candidate, _ = practising_candidate(db=db, token=token, now=utcnow())
        candidate.practised_at = utcnow()
        db.commit()
        return candidate.practised_at


@router.post(
    "/practice",
    response_model=PracticeResult,
    responses={413: {"description": "The photo declares more pixels than the exam's frame."}},
)
async def practice_photo(
    token: str, request: Request, context: Context, analysis: AnalysisDep
) -> PracticeResult:
    """Body: one JPEG from the webcam. ok: it would be accepted as the reference photo;
    otherwise guidance says what to change (light, distance, one face)."""
    candidate_id, limit = await asyncio.to_thread(_frame_size, context, token)
    photo = await request.body()
    outcome = await judge_webcam_photo(
        photo, limit=limit, analysis=analysis, key=f"practice-{candidate_id}"
    )
    if not outcome.ok:
        return PracticeResult(ok=False, guidance=outcome.guidance, practised_at=None)
    at = await asyncio.to_thread(_practised, context, token)
    return PracticeResult(ok=True, guidance="your face is found and well lit", practised_at=at)
