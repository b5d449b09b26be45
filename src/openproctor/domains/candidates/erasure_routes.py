"""DELETE /api/v1/candidates/{candidate_id}: erase one candidate's data (admins only)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, status

from openproctor.db import utcnow
from openproctor.deps import AdminUser, Audit, Context, DbSession
from openproctor.domains.candidates.erasure import ErasureRefused, erase_candidate
from openproctor.storage import StorageError

router = APIRouter(tags=["candidates"])


@router.delete(
    "/candidates/{candidate_id}",
    responses={
        409: {"description": "A session of this candidate is live: terminate it first."},
        503: {"description": "Storage refused; nothing was erased from the database."},
    },
)
def erase(
    candidate_id: uuid.UUID, db: DbSession, user: AdminUser, audit: Audit, context: Context
) -> dict[str, Any]:
    """Erases the candidate with their sessions, violations, messages, recordings, evidence
    and files. The audit log keeps the counts and the candidate's id, nothing personal."""
    try:
        erased = erase_candidate(
            db=db, store=context.store, candidate_id=candidate_id, now=utcnow()
        )
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "candidate not found") from None
    except ErasureRefused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except StorageError as error:
        db.rollback()
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"storage refused, nothing was erased; try again: {error}",
        ) from None
    details = erased.details()
    audit("candidate.erase", "candidate", candidate_id, **details)
    db.commit()
    return {"candidate_id": str(candidate_id), **details}
