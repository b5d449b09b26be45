"""Proctor and reviewer pages: the exams a staff member works on, the proctor's live wall, the
reviewer's candidate list and the reviewer's page for one attempt (recordings, flags,
evidence, verdicts and decision; its script reads and changes them through the REST API)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openproctor.access import proctor_scope, visible_candidate, visible_exam, visible_session
from openproctor.deps import DbSession, ProctorUser, ReviewerUser
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams import service as exams
from openproctor.domains.lti import service_links
from openproctor.domains.notes import service as notes
from openproctor.domains.reports import service as reports
from openproctor.domains.reports.answers import answer_sheet
from openproctor.domains.reports.times import review_zone, when, zone_name
from openproctor.domains.sessions import identity_gaps
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.models import User
from openproctor.domains.violations import service as violations
from openproctor.domains.violations.models import ReviewStatus
from openproctor.live.runtime import CandidateSummary
from openproctor.web.templating import render

router = APIRouter(include_in_schema=False)


def _exam_list(request: Request, db: DbSession, user: User, area: str) -> Response:
    exam_list = exams.list_visible(db=db, user=user)
    return render(request, "staff/exams.html", user=user, area=area, exams=exam_list)


@dataclass(frozen=True)
class ReviewRow:
    """A candidate on the reviewer's list: their latest attempt and its flags by status."""

    candidate: Candidate
    session: ExamSession | None
    pending: int = 0
    confirmed: int = 0
    dismissed: int = 0

    @property
    def flags(self) -> int:
        return self.pending + self.confirmed + self.dismissed

    @property
    def waiting(self) -> bool:
        """Flags to review, or no decision yet."""
        return self.session is not None and (self.pending > 0 or self.session.decision is None)


def _review_rows(db: DbSession, user: User, exam_id: uuid.UUID) -> list[ReviewRow]:
    """The exam's candidates with their latest attempt; attempts waiting for a verdict or a
    decision first, then by risk."""
    scope = proctor_scope(user)
    roster = candidates.list_for_exam(db=db, exam_id=exam_id, proctor_id=scope)
    latest = {s.candidate_id: s for s in sessions.list_for_exam(db=db, exam_id=exam_id)}
    flags: dict[uuid.UUID, Counter[ReviewStatus]] = {}
    for violation in violations.list_for_exam(db=db, exam_id=exam_id, proctor_id=scope):
        flags.setdefault(violation.session_id, Counter())[violation.review_status] += 1
    rows = []
    for candidate in roster:
        session = latest.get(candidate.id)
        counts = flags.get(session.id, Counter()) if session else Counter()
        rows.append(
            ReviewRow(
                candidate=candidate,
                session=session,
                pending=counts[ReviewStatus.PENDING],
                confirmed=counts[ReviewStatus.CONFIRMED],
                dismissed=counts[ReviewStatus.DISMISSED],
            )
        )
    rows.sort(
        key=lambda row: (
            row.session is None,
            not row.waiting,
            -(row.session.risk_score if row.session else 0.0),
            row.candidate.name,
        )
    )
    return rows


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
    start = [
        CandidateSummary.offline(c, latest[c.id], policy).to_json()
        for c in roster
        if c.id in latest
    ]
    # The proctor's "my candidates" toggle is on when every one of their candidates is.
    mine_on = all(entry["auto_terminate"] for entry in start) if start else policy.auto_terminate
    return render(
        request,
        "proctor/wall.html",
        user=user,
        exam=exam,
        start=start,
        my_auto_terminate=mine_on,
        course_page=service_links.course_page_for(db=db, exam=exam, user=user),
    )


@router.get("/review")
def review_exams(request: Request, db: DbSession, user: ReviewerUser) -> Response:
    return _exam_list(request, db, user, "review")


@router.get("/review/exams/{exam_id}")
def review_exam(
    exam_id: uuid.UUID, request: Request, db: DbSession, user: ReviewerUser
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    rows = _review_rows(db, user, exam.id)
    return render(
        request,
        "review/exam.html",
        user=user,
        exam=exam,
        rows=rows,
        zone=review_zone(exam),
        when=when,
    )


@router.get("/review/sessions/{session_id}")
def review_session(
    session_id: uuid.UUID, request: Request, db: DbSession, user: ReviewerUser
) -> Response:
    """One attempt: the page is a frame; review/session.js loads recordings, flags and
    evidence from the API and sends verdicts and the decision back to it."""
    session = visible_session(db=db, user=user, session_id=session_id)
    candidate = visible_candidate(db=db, user=user, candidate_id=session.candidate_id)
    exam = visible_exam(db=db, user=user, exam_id=session.exam_id)
    zone = review_zone(exam)
    return render(
        request,
        "review/session.html",
        user=user,
        exam=exam,
        candidate=candidate,
        session=session,
        prompts=sessions.prompts_of(db=db, session_id=session.id),
        notes=notes.for_session(db=db, session_id=session.id),
        identity_gaps=identity_gaps.gaps(db=db, session=session),
        answers=answer_sheet(exam=exam, session=session),
        reviewer=reports.reviewer_of(db=db, session=session),
        termination_reason=reports.termination_reason(session),
        zone=zone,
        zone_name=zone_name(zone),
        when=when,
    )
