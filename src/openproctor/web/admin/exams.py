"""Admin pages for exams: the list, the exam and policy editor, and an exam's page with its
roster import (and its reference photos), invite links and assignment to proctors."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openproctor.access import visible_exam
from openproctor.db import utcnow
from openproctor.deps import AdminUser, AnalysisDep, Audit, Context, DbSession, Hub
from openproctor.domains.candidates import flows as candidate_flows
from openproctor.domains.candidates import service as candidates
from openproctor.domains.checkin import references
from openproctor.domains.exams import flows as exam_flows
from openproctor.domains.exams import overview
from openproctor.domains.exams import questions as exam_questions
from openproctor.domains.exams import service as exams
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.questions import CandidateQuestion, Question
from openproctor.domains.exams.zones import zone_names
from openproctor.domains.invitations import service as invitations
from openproctor.domains.lti import grades as lti_grades
from openproctor.domains.sessions import service as sessions
from openproctor.domains.users import service as users
from openproctor.web.admin import exam_form
from openproctor.web.admin.forms import see_other
from openproctor.web.templating import form_status, render

router = APIRouter(include_in_schema=False)

MAX_ROSTER_BYTES = 2 * 1024 * 1024


@router.get("/exams")
def exam_list(request: Request, db: DbSession, user: AdminUser) -> Response:
    exam_list = exams.list_visible(db=db, user=user)
    rows = overview.overviews(db=db, exams=exam_list, now=utcnow())
    return render(request, "admin/exams.html", user=user, rows=rows)


def _exam_form(
    request: Request,
    user: AdminUser,
    *,
    values: dict[str, str],
    exam: Exam | None,
    errors: list[str] | None = None,
) -> Response:
    return render(
        request,
        "admin/exam_form.html",
        user=user,
        exam=exam,
        values=values,
        errors=errors or [],
        policy_inputs=exam_form.policy_inputs(),
        rule_inputs=exam_form.rule_inputs(),
        rule_columns=exam_form.RULE_COLUMNS,
        zones=zone_names(),
        status_code=form_status(errors),
    )


async def posted_form(request: Request) -> dict[str, str]:
    """The posted fields over a new exam's: a field not sent shows and counts as its default."""
    return exam_form.form_values(None) | exam_form.read_form(await request.form())


ExamFormValues = Annotated[dict[str, str], Depends(posted_form)]


class PreviewRequest(BaseModel):
    """What the question editor asks to preview: its questions as they stand, not yet saved."""

    model_config = ConfigDict(extra="forbid")

    questions: list[Question] = Field(max_length=500)
    shuffle_questions: bool = False
    shuffle_choices: bool = False


@router.post("/exams/preview-questions", response_model=list[CandidateQuestion])
def preview_questions(
    body: Annotated[dict[str, Any], Body()], _: AdminUser
) -> list[CandidateQuestion]:
    """The questions as one candidate would see them, in an order of their own each time; a
    question that cannot be saved is answered 422 with what to fix, in the form's words."""
    try:
        preview = PreviewRequest.model_validate(body)
    except ValidationError as error:
        raise HTTPException(422, " · ".join(exam_form.plain_messages(error))) from None
    return exam_questions.as_candidate_sees(
        preview.questions,
        seed=secrets.token_hex(8),
        shuffle_questions=preview.shuffle_questions,
        shuffle_choices=preview.shuffle_choices,
    )


@router.get("/exams/new")
def new_exam(request: Request, user: AdminUser) -> Response:
    return _exam_form(request, user, values=exam_form.form_values(None), exam=None)


@router.post("/exams/new")
def create_exam(
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    values: ExamFormValues,
) -> Response:
    exam_in, errors = exam_form.parse(values)
    if exam_in is None:
        return _exam_form(request, user, values=values, exam=None, errors=errors)
    exam = exam_flows.create(db=db, audit=audit, exam_in=exam_in, creator=user)
    return see_other(f"/admin/exams/{exam.id}")


@router.get("/exams/{exam_id}/edit")
def edit_exam(exam_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    values = exam_form.form_values(exams.to_write(exam))
    return _exam_form(request, user, values=values, exam=exam)


@router.post("/exams/{exam_id}/edit")
def update_exam(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    values: ExamFormValues,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    exam_in, errors = exam_form.parse(values)
    if exam_in is None:
        return _exam_form(request, user, values=values, exam=exam, errors=errors)
    exam_flows.update(db=db, audit=audit, exam=exam, exam_in=exam_in)
    return see_other(f"/admin/exams/{exam.id}")


def exam_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    context: Context,
    exam: Exam,
    *,
    roster_errors: list[candidates.RosterError] | None = None,
    photo_errors: list[str] | None = None,
    notice: str | None = None,
    error: str | None = None,
    new_candidate: dict[str, str] | None = None,
    new_candidate_errors: list[str] | None = None,
) -> Response:
    """The exam's page; given what the add-a-candidate form held, it shows it again with
    what was wrong."""
    roster = candidates.list_for_exam(db=db, exam_id=exam.id)
    latest = {s.candidate_id: s for s in sessions.list_for_exam(db=db, exam_id=exam.id)}
    proctors = users.list_proctors(db=db)
    has_errors = bool(roster_errors or photo_errors or error or new_candidate_errors)
    return render(
        request,
        "admin/exam_detail.html",
        user=user,
        exam=exam,
        candidates=roster,
        sessions=latest,
        proctors=proctors,
        proctor_names={p.id: p.name for p in proctors},
        invite_urls={
            c.id: candidates.invite_url(public_url=context.settings.public_url, candidate=c)
            for c in roster
        },
        emails=invitations.latest_by_candidate(db=db, exam_id=exam.id),
        mail_configured=context.mailer.configured,
        grade_sync=lti_grades.sync_status(db=db, exam_id=exam.id),
        new_candidate=new_candidate or {},
        new_candidate_errors=new_candidate_errors or [],
        roster_errors=roster_errors or [],
        photo_errors=photo_errors or [],
        notice=notice,
        error=error,
        default_max=candidates.DEFAULT_MAX_PER_PROCTOR,
        status_code=form_status(has_errors),
    )


@router.get("/exams/{exam_id}")
def exam_detail(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    context: Context,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    return exam_page(request, db, user, context, exam, notice=notice, error=error)


@router.post("/exams/{exam_id}/roster")
async def import_roster(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    roster: UploadFile,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    data = await roster.read(MAX_ROSTER_BYTES + 1)
    problem = None
    if len(data) > MAX_ROSTER_BYTES:
        problem = f"the roster file is larger than {MAX_ROSTER_BYTES // 1024} KiB"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problem = "the roster file is not UTF-8 text; save it as CSV UTF-8"
    if problem:
        return exam_page(request, db, user, context, exam, error=problem)
    result = candidate_flows.import_roster(
        db=db, audit=audit, exam=exam, text=text, public_url=context.settings.public_url
    )
    if result.errors:
        return exam_page(request, db, user, context, exam, roster_errors=result.errors)
    return see_other(f"/admin/exams/{exam.id}?notice=Imported+{len(result.created)}+candidates")


@router.post("/exams/{exam_id}/reference-photos")
async def import_reference_photos(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    analysis: AnalysisDep,
    archive: UploadFile,
) -> Response:
    """The roster's reference photos from a ZIP, all or none (domains/checkin/references.py)."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    roster = list(candidates.list_for_exam(db=db, exam_id=exam.id))
    data = await archive.read()
    try:
        photos = references.match_archive(data, roster)
        await references.register(
            photos=photos, analysis=analysis, store=context.store, audit=audit
        )
    except references.ReferenceRefused as refused:
        problems = [f"{name}: {why}" for name, why in refused.problems]
        return exam_page(request, db, user, context, exam, photo_errors=problems)
    return see_other(f"/admin/exams/{exam.id}?notice=Registered+{len(photos)}+reference+photos")


@router.post("/exams/{exam_id}/assign")
def assign_candidate(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    hub: Hub,
    context: Context,
    candidate_id: Annotated[uuid.UUID, Form()],
    proctor_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    candidate = candidates.get(db=db, candidate_id=candidate_id)
    if candidate is None or candidate.exam_id != exam.id:
        return exam_page(request, db, user, context, exam, error="no such candidate in this exam")
    try:
        target = uuid.UUID(proctor_id) if proctor_id else None
        candidate_flows.assign(db=db, audit=audit, hub=hub, candidate=candidate, proctor_id=target)
    except (ValueError, candidates.CandidateError) as error:
        return exam_page(request, db, user, context, exam, error=str(error))
    return see_other(f"/admin/exams/{exam.id}?notice=Assignment+saved")


@router.post("/exams/{exam_id}/auto-assign")
def auto_assign(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    hub: Hub,
    context: Context,
    max_per_proctor: Annotated[int, Form(ge=1, le=1000)] = candidates.DEFAULT_MAX_PER_PROCTOR,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    try:
        assigned = candidate_flows.auto_assign(
            db=db, audit=audit, hub=hub, exam=exam, max_per_proctor=max_per_proctor
        )
    except candidates.CandidateError as error:
        return exam_page(request, db, user, context, exam, error=str(error))
    return see_other(f"/admin/exams/{exam.id}?notice=Assigned+{len(assigned)}+candidates")
