"""A candidate's invite link: withdrawn, replaced by a new one, checked when opened, and
exported with the others for a mail merge of the admin's own."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from openproctor.domains.candidates import service
from openproctor.domains.candidates.models import Candidate, ReplacedInvite, new_invite_token
from openproctor.domains.sessions.models import ExamSession, SessionState

EXPORT_COLUMNS = ("name", "email", "external_id", "link")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Attempts that have left the invited state: such a candidate keeps their link and record.
STARTED = frozenset(SessionState) - {SessionState.INVITED}
IN_PROGRESS = frozenset(
    {SessionState.CHECKING, SessionState.ENROLLED, SessionState.RUNNING, SessionState.PAUSED}
)


class LinkRefused(Exception):
    """The link cannot be changed now; the message says why."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def was_replaced(*, db: Session, token: str) -> bool:
    return db.get(ReplacedInvite, digest(token)) is not None


def _refuse_in_progress(candidate: Candidate, session: ExamSession | None) -> None:
    if session is not None and session.state in IN_PROGRESS:
        raise LinkRefused(
            f"{candidate.name} is taking the exam now ({session.state.value}): changing the "
            "link would cut them off. End their attempt first if the link must stop working."
        )


def withdraw(*, candidate: Candidate, session: ExamSession | None, now: datetime) -> None:
    """The link stops working (its page says it was withdrawn) until a new one is made."""
    _refuse_in_progress(candidate, session)
    if candidate.invite_withdrawn_at is None:
        candidate.invite_withdrawn_at = now


def renew(*, db: Session, candidate: Candidate, session: ExamSession | None, now: datetime) -> None:
    """A new link for the candidate; the old one stops working (its page says it was
    replaced)."""
    _refuse_in_progress(candidate, session)
    db.add(
        ReplacedInvite(
            token_digest=digest(candidate.invite_token), candidate_id=candidate.id, replaced_at=now
        )
    )
    candidate.invite_token = new_invite_token()
    candidate.invite_withdrawn_at = None
    db.flush()


def export_csv(*, candidates: Iterable[Candidate], public_url: str) -> str:
    """The roster's links as CSV with a byte-order mark (so that Excel reads it as UTF-8); a
    withdrawn link is left empty."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for candidate in candidates:
        link = (
            ""
            if candidate.invite_withdrawn_at is not None
            else service.invite_url(public_url=public_url, candidate=candidate)
        )
        writer.writerow(
            [_cell(candidate.name), candidate.email, _cell(candidate.external_id or ""), link]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Text as a spreadsheet shows it, never run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
