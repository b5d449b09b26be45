"""Proctor and reviewer pages: the exams a staff member works on, the proctor's live wall and
the reviewer's candidate list."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openproctor.access import proctor_scope, visible_exam
from openproctor.deps import DbSession, ProctorUser, ReviewerUser
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams import service as exams
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import User
from openproctor.domains.violations import service as violations
from openproctor.web.templating import render

router = APIRouter(include_in_schema=False)


def _exam_list(request: Request, db: DbSession, user: User, area: str) -> Response:
    exam_list = exams.list_visible(db=db, user=user)
    return render(request, "staff/exams.html", user=user, area=area, exams=exam_list)


def _exam_candidates(
    request: Request, db: DbSession, user: User, area: str, exam_id: uuid.UUID
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    scope = proctor_scope(user)
    roster = candidates.list_for_exam(db=db, exam_id=exam.id, proctor_id=scope)
    latest = {s.candidate_id: s for s in sessions.list_for_exam(db=db, exam_id=exam.id)}
    counts = Counter(
        v.candidate_id for v in violations.list_for_exam(db=db, exam_id=exam.id, proctor_id=scope)
    )
    rows = sorted(roster, key=lambda c: -(latest[c.id].risk_score if c.id in latest else 0.0))
    return render(
        request,
        "staff/exam.html",
        user=user,
        exam=exam,
        area=area,
        candidates=rows,
        sessions=latest,
        violation_counts=counts,
    )


def _wall_entry(candidate: Candidate, session: ExamSession, policy: ExamPolicy) -> dict[str, Any]:
    """A candidate as the proctor socket describes one (CANDIDATE in live/protocol.py)."""
    return {
        "candidate_id": str(candidate.id),
        "session_id": str(session.id),
        "name": candidate.name,
        "email": candidate.email,
        "state": session.state.value,
        "risk_score": session.risk_score,
        "open_violations": [],
        "connected": False,
        "frames": {"received": 0, "analysed": 0, "skipped": 0},
        "auto_terminate": policy.auto_terminate
        if session.auto_terminate is None
        else session.auto_terminate,
    }


@router.get("/proctor")
def proctor_exams(request: Request, db: DbSession, user: ProctorUser) -> Response:
    return _exam_list(request, db, user, "proctor")


@router.get("/proctor/exams/{exam_id}")
def proctor_exam(
    exam_id: uuid.UUID, request: Request, db: DbSession, user: ProctorUser
) -> Response:
    """The live wall. The page starts from the roster; from then on candidates, frames and
    alerts arrive over the proctor WebSocket (its snapshot replaces this starting list)."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    roster = candidates.list_for_exam(db=db, exam_id=exam.id, proctor_id=proctor_scope(user))
    latest = {s.candidate_id: s for s in sessions.list_for_exam(db=db, exam_id=exam.id)}
    policy = exam.parsed_policy
    start = [_wall_entry(c, latest[c.id], policy) for c in roster if c.id in latest]
    return render(request, "proctor/wall.html", user=user, exam=exam, start=start)


@router.get("/review")
def review_exams(request: Request, db: DbSession, user: ReviewerUser) -> Response:
    return _exam_list(request, db, user, "review")


@router.get("/review/exams/{exam_id}")
def review_exam(
    exam_id: uuid.UUID, request: Request, db: DbSession, user: ReviewerUser
) -> Response:
    return _exam_candidates(request, db, user, "review", exam_id)
