"""The candidate's pages, opened by the invite link alone."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from openproctor.access import invited_candidate, practising_candidate, uploading_candidate
from openproctor.db import utcnow
from openproctor.deps import DbSession
from openproctor.domains.candidates import service as candidates
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.consent import consent_of
from openproctor.web.templating import render

# Seconds of the room scan (the candidate's script shows the same countdown).
ROOM_SCAN_SECONDS = 15

# A link that never was (404), or was withdrawn or replaced (410), rather than a closed exam.
LINK_BROKEN = frozenset({status.HTTP_404_NOT_FOUND, status.HTTP_410_GONE})

router = APIRouter(include_in_schema=False)


@router.get("/take/{token}")
def welcome(token: str, request: Request, db: DbSession) -> Response:
    try:
        candidate, exam = invited_candidate(db=db, token=token, now=utcnow())
    except HTTPException as error:
        return _closed(
            request,
            error,
            upload_session_id=_still_uploading(db, token),
            practice_token=_may_practise(db, token),
        )
    session = sessions.current_for_candidate(db=db, candidate=candidate)
    db.commit()
    return render(
        request,
        "take/welcome.html",
        candidate=candidate,
        exam=exam,
        policy=exam.parsed_policy,
        # The candidate's accommodated extra time, in minutes (the timer counts it in).
        extra_minutes=round(candidate.accommodated.extra_time(exam).total_seconds() / 60, 1),
        consent=consent_of(exam, session),
        session=session,
        token=token,
        room_scan_seconds=ROOM_SCAN_SECONDS,
        chat_max_chars=request.app.state.context.settings.chat_max_chars,
    )


@router.get("/practice/{token}")
def practice(token: str, request: Request, db: DbSession) -> Response:
    """The practice run: the system check and the photo check, without an attempt."""
    try:
        _, exam = practising_candidate(db=db, token=token, now=utcnow())
    except HTTPException as error:
        return _closed(request, error)
    return render(request, "take/practice.html", exam=exam, policy=exam.parsed_policy, token=token)


def _closed(request: Request, error: HTTPException, **extra: Any) -> Response:
    """The page for a link that does not open (now): why, and whether the link itself is bad."""
    return render(
        request,
        "take/closed.html",
        status_code=error.status_code,
        message=error.detail,
        link_broken=error.status_code in LINK_BROKEN,
        **extra,
    )


def _may_practise(db: Session, token: str) -> str | None:
    """The token, when its exam has not opened yet: the closed page offers the practice run."""
    try:
        _, exam = practising_candidate(db=db, token=token, now=utcnow())
    except HTTPException:
        return None
    return token if utcnow() < exam.opens_at else None


def _still_uploading(db: Session, token: str) -> uuid.UUID | None:
    """The session whose recording this browser may still send after the exam closed (its
    script sends what IndexedDB holds, if anything)."""
    candidate = candidates.get_by_invite(db=db, token=token)
    session = sessions.latest_for_candidate(db=db, candidate_id=candidate.id) if candidate else None
    if session is None:
        return None
    try:
        uploading_candidate(db=db, token=token, session_id=session.id, now=utcnow())
    except HTTPException:
        return None
    return session.id
