"""The candidate's pages, opened by the invite link alone."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from openproctor.access import invited_candidate
from openproctor.db import utcnow
from openproctor.deps import DbSession
from openproctor.domains.sessions import service as sessions
from openproctor.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/take/{token}")
def welcome(token: str, request: Request, db: DbSession) -> Response:
    try:
        candidate, exam = invited_candidate(db=db, token=token, now=utcnow())
    except HTTPException as error:
        return render(
            request, "take/closed.html", status_code=error.status_code, message=error.detail
        )
    session = sessions.current_for_candidate(db=db, candidate=candidate)
    db.commit()
    return render(
        request,
        "take/welcome.html",
        candidate=candidate,
        exam=exam,
        policy=exam.parsed_policy,
        session=session,
        token=token,
    )
