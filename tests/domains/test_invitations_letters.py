"""An exam's e-mail wording: unknown placeholders, a body without the link, a stray brace and
a subject of several lines are named; a letter is filled in for the candidate."""

from __future__ import annotations

import pytest

from openproctor.domains.invitations import letters
from openproctor.domains.invitations.models import EmailKind
from tests.conftest import Factory

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


def test_the_default_wording_has_no_problems(database_kind: str) -> None:
    assert letters.problems(letters.DEFAULT_TEMPLATE) == []


def test_problems_are_named_per_field(database_kind: str) -> None:
    wording = letters.DEFAULT_TEMPLATE.model_copy(
        update={
            "invitation_subject": "Hi {nmae}",
            "invitation_body": "Come on {opens_at}",
            "reminder_subject": "Line one\nline two",
            "reminder_body": "{link} {name!r} {exam:>10} {",
        }
    )
    problems = letters.problems(wording)
    assert problems[0].startswith("Invitation subject: {nmae} is not a placeholder (use {name}")
    assert problems[1:] == [
        "Invitation body: must contain {link}",
        "Reminder subject: must be one line",
        "Reminder body: a { or } without its partner (write {{ or }} for a brace itself)",
    ]
    wording = wording.model_copy(update={"reminder_body": "{link} {name!r} {exam:>10} {{"})
    assert [p.split(" (use")[0] for p in letters.problems(wording)[3:]] == [
        "Reminder body: {name!r} is not a placeholder",
        "Reminder body: {exam:>10} is not a placeholder",
    ]


def test_a_letter_is_filled_in_for_the_candidate(factory: Factory) -> None:
    exam = factory.exam(title="Algebra {final}")
    ada = factory.candidate(exam, name="Ada")
    ada.name = "Ada\r\nBcc: x@example.com"  # as a hostile roster might hold it
    words = letters.letter(
        letters.DEFAULT_TEMPLATE, EmailKind.INVITATION, candidate=ada, exam=exam, link="L1"
    )
    assert words.subject == "Your invitation: Algebra {final}"
    assert "\nL1\n" in words.body
    assert f"between {exam.opens_at:%Y-%m-%d %H:%M} UTC and" in words.body
    reminder = letters.DEFAULT_TEMPLATE.model_copy(update={"reminder_subject": "{name} {{x}}"})
    words = letters.letter(reminder, EmailKind.REMINDER, candidate=ada, exam=exam, link="L1")
    assert words.subject == "Ada Bcc: x@example.com {x}"  # no header can be slipped in
