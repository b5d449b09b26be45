"""What each event says, and which events a session's state change and an invitation raise."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.integrations import service as integrations
from openproctor.domains.sessions.models import FINAL_STATES, ExamSession, SessionState
from openproctor.domains.webhooks import service
from openproctor.domains.webhooks.models import CALLBACK_EVENT, WebhookEvent


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]


def session_data(db: Session, session: ExamSession) -> dict[str, Any]:
    candidate = db.get(Candidate, session.candidate_id)
    return {
        "session_id": str(session.id),
        "exam_id": str(session.exam_id),
        "candidate_id": str(session.candidate_id),
        "candidate_external_id": candidate.external_id if candidate else None,
        "candidate_email": candidate.email if candidate else None,
        "attempt": session.attempt,
        "state": session.state.value,
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
        "end_reason": session.end_reason,
        "risk_score": session.risk_score,
        "score": session.score,
        "decision": session.decision.value if session.decision else None,
    }


def enqueue_session_change(*, db: Session, session: ExamSession) -> int:
    """The events the session's current state raises: session.started once when it first
    runs, session.ended and the exam's completion callback once when it ends. Returns how
    many deliveries were added."""
    data = session_data(db, session)
    added = 0
    if session.state is SessionState.RUNNING:
        added += len(
            service.enqueue(
                db=db,
                event_type=WebhookEvent.SESSION_STARTED,
                exam_id=session.exam_id,
                data=data,
                key=str(session.id),
            )
        )
    elif session.state in FINAL_STATES:
        added += len(
            service.enqueue(
                db=db,
                event_type=WebhookEvent.SESSION_ENDED,
                exam_id=session.exam_id,
                data=data,
                key=str(session.id),
            )
        )
        settings = integrations.get(db=db, exam_id=session.exam_id)
        if settings is not None and settings.callback_url:
            callback = service.enqueue_direct(
                db=db,
                url=settings.callback_url,
                event_type=CALLBACK_EVENT,
                exam_id=session.exam_id,
                data=data,
                key=str(session.id),
            )
            added += callback is not None
    return added


def enqueue_review_completed(*, db: Session, session: ExamSession) -> int:
    """A reviewer decided on the attempt (call after PUT /sessions/{id}/decision)."""
    return len(
        service.enqueue(
            db=db,
            event_type=WebhookEvent.REVIEW_COMPLETED,
            exam_id=session.exam_id,
            data=session_data(db, session),
        )
    )


def invitation_data(
    candidate: Candidate, *, link: str, email_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """An invitation: who, to which exam, and the link that lets them in (an external
    system that sends invitations itself mails this link)."""
    return {
        "candidate_id": str(candidate.id),
        "exam_id": str(candidate.exam_id),
        "candidate_external_id": candidate.external_id,
        "candidate_email": candidate.email,
        "candidate_name": candidate.name,
        "invite_url": link,
        "email_id": str(email_id) if email_id else None,
    }


def enqueue_invitation_created(*, db: Session, candidate: Candidate, link: str) -> int:
    """A candidate's invite link was made (candidate added, or link renewed): once per link."""
    return len(
        service.enqueue(
            db=db,
            event_type=WebhookEvent.INVITATION_CREATED,
            exam_id=candidate.exam_id,
            data=invitation_data(candidate, link=link),
        )
    )


def enqueue_invitation_sent(
    *, db: Session, candidate: Candidate, link: str, email_id: uuid.UUID
) -> int:
    """OpenProctor's mailer handed the invitation e-mail to the mail server."""
    return len(
        service.enqueue(
            db=db,
            event_type=WebhookEvent.INVITATION_SENT,
            exam_id=candidate.exam_id,
            data=invitation_data(candidate, link=link, email_id=email_id),
            key=str(email_id),
        )
    )
