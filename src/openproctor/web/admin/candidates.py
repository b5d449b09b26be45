"""Admin page for one candidate: their name, external id and accommodations (extra time, exempt
violation kinds, their own window), the same fields the roster's columns and the API take."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from openproctor.access import visible_candidate
from openproctor.deps import AdminUser, Audit, DbSession, Hub
from openproctor.domains.candidates import flows, service
from openproctor.domains.candidates.models import Candidate, CandidateUpdate
from openproctor.domains.exams import service as exams
from openproctor.domains.exams.policy import KIND_LABELS
from openproctor.domains.exams.zones import to_wall_clock
from openproctor.web.admin.forms import see_other, validation_messages
from openproctor.web.templating import form_status, render

router = APIRouter(include_in_schema=False)

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
FormText = Annotated[str, Form(max_length=400)]


def _values(candidate: Candidate, zone: str) -> dict[str, Any]:
    accommodations = candidate.accommodated
    extra = ""
    if accommodations.extra_minutes is not None:
        extra = str(accommodations.extra_minutes)
    elif accommodations.extra_percent is not None:
        extra = f"{accommodations.extra_percent}%"
    window = {
        name: to_wall_clock(at, zone).strftime(LOCAL_INPUT_FORMAT) if at else ""
        for name, at in (
            ("opens_at", accommodations.opens_at),
            ("closes_at", accommodations.closes_at),
        )
    }
    return {
        "name": candidate.name,
        "external_id": candidate.external_id or "",
        "extra_time": extra,
        "exempt": [kind.value for kind in accommodations.exempt],
        **window,
    }


def _exam_zone(db: DbSession, candidate: Candidate) -> str:
    """The candidate's own window is entered and shown on their exam's clock."""
    exam = exams.get(db=db, exam_id=candidate.exam_id)
    return exam.timezone if exam else "UTC"


def _form(
    request: Request,
    user: AdminUser,
    candidate: Candidate,
    values: dict[str, Any],
    zone: str,
    errors: list[str] | None = None,
) -> Response:
    return render(
        request,
        "admin/candidate_form.html",
        user=user,
        candidate=candidate,
        values=values,
        zone=zone,
        kinds=KIND_LABELS,
        errors=errors or [],
        status_code=form_status(errors),
    )


@router.get("/candidates/{candidate_id}/edit")
def edit_candidate(
    candidate_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser
) -> Response:
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    zone = _exam_zone(db, candidate)
    return _form(request, user, candidate, _values(candidate, zone), zone)


@router.post("/candidates/{candidate_id}/edit")
def update_candidate(
    candidate_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    hub: Hub,
    name: FormText,
    external_id: FormText = "",
    extra_time: FormText = "",
    exempt: Annotated[list[str] | None, Form(max_length=100)] = None,
    opens_at: FormText = "",
    closes_at: FormText = "",
) -> Response:
    candidate = visible_candidate(db=db, user=user, candidate_id=candidate_id)
    zone = _exam_zone(db, candidate)
    values: dict[str, Any] = {
        "name": name,
        "external_id": external_id,
        "extra_time": extra_time.strip(),
        "exempt": exempt or [],
        "opens_at": opens_at,
        "closes_at": closes_at,
    }
    parsed = service.parse_accommodations(
        {
            "extra_time": extra_time.strip(),
            "exempt": " ".join(exempt or []),
            "opens_at": opens_at,
            "closes_at": closes_at,
        },
        zone=zone,
    )
    if isinstance(parsed, list):
        return _form(request, user, candidate, values, zone, parsed)
    try:
        change = CandidateUpdate(
            name=name, external_id=external_id.strip() or None, accommodations=parsed
        )
    except ValidationError as error:
        return _form(request, user, candidate, values, zone, validation_messages(error))
    flows.update(db=db, audit=audit, hub=hub, candidate=candidate, candidate_in=change)
    return see_other(f"/admin/exams/{candidate.exam_id}?notice=Candidate+saved")
