"""The words of an e-mail: an exam's wording with its placeholders checked, filled in for one
candidate, and made into a message."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.invitations.models import EmailKind, TemplateWrite

PLACEHOLDERS = {
    "name": "the candidate's name",
    "exam": "the exam's title",
    "link": "the candidate's own link to the exam",
    "opens_at": "when the candidate's window opens (UTC)",
    "closes_at": "when it closes (UTC)",
    "duration": "the exam's length in minutes",
}
# A body without the link would be an e-mail the candidate cannot use.
REQUIRED_IN_BODY = ("link",)
DATE_FORMAT = "%Y-%m-%d %H:%M UTC"
LINE_BREAKS = re.compile(r"[\r\n]+")

DEFAULT_TEMPLATE = TemplateWrite(
    invitation_subject="Your invitation: {exam}",
    invitation_body=(
        "Hello {name},\n\n"
        "You are invited to take {exam}, proctored online. Open your personal link any time "
        "between {opens_at} and {closes_at}:\n\n{link}\n\n"
        "The exam takes {duration} minutes. You need a computer with a camera and a "
        "microphone, and a current Chrome, Edge or Firefox. Before the exam opens, the same "
        "link lets you try the system check.\n\n"
        "This link is yours alone: please do not share it."
    ),
    reminder_subject="Reminder: {exam} opens at {opens_at}",
    reminder_body=(
        "Hello {name},\n\n{exam} opens at {opens_at}. Your personal link:\n\n{link}\n\n"
        "Please be ready a few minutes early, with your camera and microphone working."
    ),
    reminder_lead_minutes=None,
)


def problems(template: TemplateWrite) -> list[str]:
    """What is wrong with the wording's placeholders, for the admin; empty when it is fine."""
    found: list[str] = []
    for kind in EmailKind:
        for part in ("subject", "body"):
            text: str = getattr(template, f"{kind.value}_{part}")
            label = f"{kind.value.capitalize()} {part}"
            found.extend(f"{label}: {problem}" for problem in _text_problems(text))
            if part == "subject" and LINE_BREAKS.search(text):
                found.append(f"{label}: must be one line")
            used = _fields(text)
            if part == "body" and used is not None:  # an unreadable one is named above
                found.extend(
                    f"{label}: must contain {{{name}}}"
                    for name in REQUIRED_IN_BODY
                    if name not in used
                )
    return found


def _fields(text: str) -> set[str] | None:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


def _text_problems(text: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return ["a { or } without its partner (write {{ or }} for a brace itself)"]
    found = []
    allowed = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            found.append(f"{{{shown}}} is not a placeholder (use {allowed})")
    return found


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


def letter(
    template: TemplateWrite, kind: EmailKind, *, candidate: Candidate, exam: Exam, link: str
) -> Letter:
    """The e-mail's words for this candidate (the wording must have no problems())."""
    window = candidate.accommodated.window(exam)
    values = {
        "name": candidate.name,
        "exam": exam.title,
        "link": link,
        "opens_at": window.opens_at.strftime(DATE_FORMAT),
        "closes_at": window.closes_at.strftime(DATE_FORMAT),
        "duration": str(exam.duration_minutes),
    }
    subject: str = getattr(template, f"{kind.value}_subject").format(**values)
    body: str = getattr(template, f"{kind.value}_body").format(**values)
    # A name from a roster may hold a line break; a header may not.
    return Letter(subject=LINE_BREAKS.sub(" ", subject).strip(), body=body)


def message(words: Letter, *, to: str, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    # As stored (validated at entry); a non-ASCII one goes out over SMTPUTF8.
    mail["To"] = to
    mail["Subject"] = words.subject
    mail["Message-ID"] = make_msgid(domain=_domain(sender))
    mail.set_content(words.body)
    return mail


def _domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2] or "openproctor.invalid"
