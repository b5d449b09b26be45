"""Admin pages for one candidate at a time and for e-mailing the roster: add and remove a
candidate, withdraw or renew their link, send invitations (to all, to those not invited yet,
to one), and the exam's e-mail wording with a preview. (The links' CSV export is the API's
GET /api/v1/exams/{exam_id}/candidates/invites.csv, which the page links to.)"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from openproctor.access import visible_candidate, visible_exam
from openproctor.deps import AdminUser, Audit, Context, DbSession
from openproctor.domains.candidates import flows as candidate_flows
from openproctor.domains.candidates import invites
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate, CandidateCreate, new_invite_token
from openproctor.domains.exams.models import Exam
from openproctor.domains.invitations import flows, letters, service
from openproctor.domains.invitations.models import EmailKind, TemplateWrite
from openproctor.web.admin.exams import exam_page
from openproctor.web.admin.forms import see_other, validation_messages
from openproctor.web.templating import form_status, render

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form(max_length=400)]
FormLong = Annotated[str, Form(max_length=20_000)]


def _back(exam_id: uuid.UUID, notice: str) -> Response:
    return see_other(f"/admin/exams/{exam_id}?{urlencode({'notice': notice})}")


def _candidate_and_exam(
    db: DbSession, user: AdminUser, candidate_id: uuid.UUID
) -> tuple[Candidate, Exam]:
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    return candidate, visible_exam(db=db, user=user, exam_id=candidate.exam_id)


@router.post("/exams/{exam_id}/candidates/add")
def add_candidate(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    name: FormText = "",
    email: FormText = "",
    external_id: FormText = "",
    proctor_id: FormText = "",
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    values = {"name": name, "email": email, "external_id": external_id, "proctor_id": proctor_id}
    try:
        candidate_in = CandidateCreate(
            name=name.strip(),
            email=email.strip(),
            external_id=external_id.strip() or None,
            proctor_id=uuid.UUID(proctor_id) if proctor_id else None,
        )
        candidate = candidate_flows.create(
            db=db,
            audit=audit,
            exam=exam,
            candidate_in=candidate_in,
            public_url=context.settings.public_url,
        )
    except ValidationError as error:
        problems = validation_messages(error)
    except (ValueError, candidates.CandidateError) as error:
        problems = [str(error)]
    else:
        return _back(exam.id, f"Added {candidate.name}")
    db.rollback()
    return exam_page(
        request, db, user, context, exam, new_candidate=values, new_candidate_errors=problems
    )


@router.post("/candidates/{candidate_id}/remove")
def remove_candidate(
    candidate_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> Response:
    candidate, exam = _candidate_and_exam(db, user, candidate_id)
    name = candidate.name
    try:
        candidate_flows.remove(db=db, audit=audit, store=context.store, candidate=candidate)
    except candidate_flows.RemovalRefused as refused:
        return exam_page(request, db, user, context, exam, error=str(refused))
    return _back(exam.id, f"Removed {name}")


@router.post("/candidates/{candidate_id}/link")
def change_link(
    candidate_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    action: Annotated[str, Form(pattern="^(withdraw|renew)$")],
) -> Response:
    candidate, exam = _candidate_and_exam(db, user, candidate_id)
    renew = action == "renew"
    try:
        candidate_flows.withdraw_link(
            db=db,
            audit=audit,
            candidate=candidate,
            renew=renew,
            public_url=context.settings.public_url,
        )
    except invites.LinkRefused as refused:
        return exam_page(request, db, user, context, exam, error=str(refused))
    if renew:
        return _back(exam.id, f"{candidate.name} has a new link; the old one no longer works")
    return _back(exam.id, f"{candidate.name}'s link is withdrawn")


@router.post("/candidates/{candidate_id}/invite")
def invite_one(
    candidate_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
) -> Response:
    candidate, exam = _candidate_and_exam(db, user, candidate_id)
    try:
        queued = flows.invite(
            db=db, audit=audit, mailer=context.mailer, exam=exam, candidates=[candidate]
        )
    except flows.MailRefused as refused:
        return exam_page(request, db, user, context, exam, error=str(refused))
    if not queued.queued:
        error = f"{candidate.name}'s link is withdrawn: make a new link first"
        return exam_page(request, db, user, context, exam, error=error)
    return _back(exam.id, f"Invitation to {candidate.name} queued")


@router.post("/exams/{exam_id}/invitations")
def invite_many(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    to: Annotated[str, Form(pattern="^(all|unsent)$")],
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    recipients = service.recipients(db=db, exam_id=exam.id, only_unsent=to == "unsent")
    try:
        queued = flows.invite(
            db=db, audit=audit, mailer=context.mailer, exam=exam, candidates=recipients
        )
    except flows.MailRefused as refused:
        return exam_page(request, db, user, context, exam, error=str(refused))
    notice = f"{queued.queued} invitation(s) queued"
    if queued.skipped:
        notice += f"; {queued.skipped} left out (link withdrawn)"
    return _back(exam.id, notice)


def _wording_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    context: Context,
    exam: Exam,
    values: dict[str, Any],
    *,
    errors: list[str] | None = None,
    notice: str | None = None,
) -> Response:
    """The wording form, with each e-mail as the first candidate would get it (when the
    wording is valid)."""
    previews = []
    try:
        template = TemplateWrite.model_validate(values)
    except ValidationError:
        template = None
    if template is not None and not letters.problems(template):
        roster = candidates.list_for_exam(db=db, exam_id=exam.id)
        # With no candidate yet, an example one (never stored) shows the words.
        sample = (
            roster[0] if roster else Candidate(name="Ada Lovelace", invite_token=new_invite_token())
        )
        link = candidates.invite_url(public_url=context.settings.public_url, candidate=sample)
        previews = [
            (kind, letters.letter(template, kind, candidate=sample, exam=exam, link=link))
            for kind in EmailKind
        ]
    return render(
        request,
        "admin/exam_email.html",
        user=user,
        exam=exam,
        values=values,
        errors=errors or [],
        notice=notice,
        previews=previews,
        placeholders=letters.PLACEHOLDERS,
        mail_configured=context.mailer.configured,
        sender=context.settings.smtp.sender,
        status_code=form_status(errors),
    )


@router.get("/exams/{exam_id}/email")
def wording(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    context: Context,
    notice: str | None = None,
) -> Response:
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    values = service.wording(db=db, exam_id=exam.id).model_dump()
    return _wording_page(request, db, user, context, exam, values, notice=notice)


@router.post("/exams/{exam_id}/email")
def save_wording(
    exam_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    context: Context,
    invitation_subject: FormText,
    invitation_body: FormLong,
    reminder_subject: FormText,
    reminder_body: FormLong,
    reminder_lead_minutes: FormText = "",
    action: Annotated[str, Form(pattern="^(save|preview)$")] = "save",
) -> Response:
    """Saves the wording, or (preview) shows it filled in without saving."""
    exam = visible_exam(db=db, user=user, exam_id=exam_id)
    values: dict[str, Any] = {
        "invitation_subject": invitation_subject,
        "invitation_body": invitation_body,
        "reminder_subject": reminder_subject,
        "reminder_body": reminder_body,
        "reminder_lead_minutes": reminder_lead_minutes.strip() or None,
    }
    try:
        template = TemplateWrite.model_validate(values)
    except ValidationError as error:
        problems = validation_messages(error)
        return _wording_page(request, db, user, context, exam, values, errors=problems)
    problems = letters.problems(template)
    if problems or action == "preview":
        return _wording_page(request, db, user, context, exam, values, errors=problems)
    flows.save_wording(db=db, audit=audit, exam=exam, template=template)
    return see_other(
        f"/admin/exams/{exam.id}/email?{urlencode({'notice': 'E-mail wording saved'})}"
    )
