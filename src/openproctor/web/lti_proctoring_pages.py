"""LTI Proctoring Services pages: what the launch endpoint does with LtiStartProctoring and
LtiEndAssessment, and /lti/assessment/{token}, the page that hands an admitted learner back
to the platform's assessment with a signed LtiStartAssessment (posted by their browser)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from openproctor.access import invited_candidate
from openproctor.context import AppContext
from openproctor.db import utcnow
from openproctor.deps import Context, DbSession, client_ip
from openproctor.domains.audit import service as audit_log
from openproctor.domains.lti import proctoring
from openproctor.domains.lti.keys import tool_key
from openproctor.domains.lti.launch import Launch
from openproctor.domains.lti.models import LtiPlatform
from openproctor.domains.lti.proctoring_models import LtiProctoredAttempt
from openproctor.domains.sessions import flows as sessions_flows
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.middleware import page_policy
from openproctor.web.templating import render

# Included by web/lti_pages.py under its /lti prefix.
router = APIRouter(include_in_schema=False)


def _audit(
    request: Request,
    db: Session,
    action: str,
    attempt: LtiProctoredAttempt,
    label: str | None,
) -> None:
    audit_log.record(
        db=db,
        actor=None,
        actor_label=label,
        action=action,
        target_type="session",
        target_id=attempt.session_id,
        details={
            "platform_id": str(attempt.platform_id),
            "subject": attempt.subject,
            "resource_link_id": attempt.resource_link_id,
            "attempt_number": attempt.attempt_number,
        },
        client_ip=client_ip(request),
    )


def start_proctoring(
    request: Request, db: Session, context: AppContext, platform: LtiPlatform, launch: Launch
) -> Response:
    """LtiStartProctoring: the learner goes through our check-in for the exam of the
    activity (raises LaunchError)."""
    attempt, candidate = proctoring.start_proctoring(
        db=db,
        platform=platform,
        launch=launch,
        outbound_policy=context.settings.outbound_policy,
    )
    _audit(request, db, "lti.start_proctoring", attempt, candidate.email)
    db.commit()
    return RedirectResponse(f"/take/{candidate.invite_token}", status.HTTP_303_SEE_OTHER)


def end_assessment(
    request: Request, db: Session, context: AppContext, platform: LtiPlatform, launch: Launch
) -> Response:
    """LtiEndAssessment: our session ends (submitted), recordings are finalised by the live
    hub, the attempt goes to review; the learner sees that it is over."""
    attempt, session = proctoring.end_assessment(db=db, platform=platform, launch=launch)
    _audit(request, db, "lti.end_assessment", attempt, launch.email)
    db.commit()
    sessions_flows.candidate_changed(db=db, hub=context.hub, session=session)
    return render(request, "lti/ended.html", session=session)


@router.get("/assessment/{token}")
def hand_back(token: str, request: Request, db: DbSession, context: Context) -> Response:
    """The admitted learner's way to the platform's assessment: a form the page's module
    posts to start_assessment_url, carrying the signed LtiStartAssessment."""
    try:
        candidate, _ = invited_candidate(db=db, token=token, now=utcnow())
    except HTTPException as error:
        return render(
            request, "lti/handback.html", status_code=error.status_code, refused=error.detail
        )
    attempt = proctoring.attempt_for_candidate(db=db, candidate=candidate)
    session = db.get(ExamSession, attempt.session_id) if attempt is not None else None
    platform = db.get(LtiPlatform, attempt.platform_id) if attempt is not None else None
    if attempt is None or session is None or platform is None:
        return render(
            request,
            "lti/handback.html",
            status_code=status.HTTP_404_NOT_FOUND,
            refused="this exam was not opened from a course site: go back to your exam page",
        )
    if session.state is not SessionState.RUNNING:
        return render(
            request,
            "lti/handback.html",
            status_code=status.HTTP_409_CONFLICT,
            refused=_not_running(session.state),
        )
    message = proctoring.hand_back(attempt=attempt, platform=platform, signing_key=tool_key(db=db))
    if attempt.assessment_started_at is None:
        attempt.assessment_started_at = utcnow()
        _audit(request, db, "lti.start_assessment", attempt, candidate.email)
    db.commit()
    response = render(request, "lti/handback.html", message=message)
    target = urlsplit(message.url)
    response.headers["Content-Security-Policy"] = page_policy(
        form_origins=f"{target.scheme}://{target.netloc}"
    )
    return response


def _not_running(state: SessionState) -> str:
    if state is SessionState.PAUSED:
        return "your proctor paused your exam: go back to your exam page and wait there"
    if state in (SessionState.INVITED, SessionState.CHECKING, SessionState.ENROLLED):
        return "finish the check-in on your exam page first; your exam opens once you start"
    return "your proctored session has ended: there is no exam to open any more"
