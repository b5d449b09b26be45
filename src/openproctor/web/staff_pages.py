"""Proctor and reviewer pages: the exams a staff member works on and their candidates."""

from __future__ import annotations

import uuid
from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openproctor.access import proctor_scope, visible_exam
from openproctor.deps import DbSession, ProctorUser, ReviewerUser
from openproctor.domains.candidates import service as candidates
from openproctor.domains.exams import service as exams
from openproctor.domains.sessions import service as sessions
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


@router.get("/proctor")
def proctor_exams(request: Request, db: DbSession, user: ProctorUser) -> Response:
    return _exam_list(request, db, user, "proctor")


@router.get("/proctor/exams/{exam_id}")
def proctor_exam(
    exam_id: uuid.UUID, request: Request, db: DbSession, user: ProctorUser
) -> Response:
    return _exam_candidates(request, db, user, "proctor", exam_id)


@router.get("/review")
def review_exams(request: Request, db: DbSession, user: ReviewerUser) -> Response:
    return _exam_list(request, db, user, "review")


@router.get("/review/exams/{exam_id}")
def review_exam(
    exam_id: uuid.UUID, request: Request, db: DbSession, user: ReviewerUser
) -> Response:
    return _exam_candidates(request, db, user, "review", exam_id)
