"""Roster import (all or nothing, per-line errors) and assignment to proctors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from openproctor.domains.candidates import service
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.users.models import Role
from tests.conftest import Factory


def count(factory: Factory) -> int:
    return factory.db.scalar(select(func.count()).select_from(Candidate)) or 0


def test_a_clean_roster_imports_every_line(factory: Factory) -> None:
    proctor = factory.user(Role.PROCTOR, email="pat@example.com")
    exam = factory.exam()
    roster = (
        "\ufeffName,Email,External_ID,Proctor_Email\n"
        "Ada Lovelace,ADA@example.com,S-1,pat@example.com\n"
        "\n"
        "Alan Turing,alan@example.com,,\n"
    )
    result = service.import_roster(db=factory.db, exam=exam, text=roster)
    factory.db.commit()
    assert result.errors == []
    assert [(c.name, c.email, c.external_id) for c in result.created] == [
        ("Ada Lovelace", "ada@example.com", "S-1"),
        ("Alan Turing", "alan@example.com", None),
    ]
    assert result.created[0].proctor_id == proctor.id
    assert result.created[1].proctor_id is None


def test_errors_are_reported_per_line_and_nothing_is_imported(factory: Factory) -> None:
    exam = factory.exam()
    existing = factory.candidate(exam, name="Grace")
    roster = (
        "name,email,proctor_email\n"
        "Ada,ada@example.com,\n"  # line 2: fine
        ",nobody@example.com,\n"  # line 3: no name
        "Bob,not-an-email,\n"  # line 4: bad email
        "Ada Again,ADA@example.com,\n"  # line 5: duplicate in file
        f"Grace,{existing.email},\n"  # line 6: already in the exam
        "Carl,carl@example.com,ghost@example.com\n"  # line 7: unknown proctor
        "Dan,dan@example.com,,extra\n"  # line 8: too many fields
    )
    before = count(factory)
    result = service.import_roster(db=factory.db, exam=exam, text=roster)
    factory.db.rollback()
    lines = {e.line: e.message for e in result.errors}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8]
    assert "name is empty" in lines[3]
    assert "not valid" in lines[4]
    assert "appears twice (first on line 2)" in lines[5]
    assert "already a candidate" in lines[6]
    assert "ghost@example.com is not an active proctor" in lines[7]
    assert "more fields than columns" in lines[8]
    assert result.created == []
    assert count(factory) == before


@pytest.mark.parametrize(
    ("roster", "message"),
    [
        ("", "missing column(s): name, email"),
        ("full_name,mail\nA,a@example.com\n", "missing column(s): name, email"),
        ("name,email,phone\nA,a@example.com,1\n", "unknown column(s): phone"),
        ("name,email\n", "the roster has no candidates"),
    ],
)
def test_bad_headers_and_empty_rosters(factory: Factory, roster: str, message: str) -> None:
    result = service.import_roster(db=factory.db, exam=factory.exam(), text=roster)
    assert [e.line for e in result.errors] == [1]
    assert message in result.errors[0].message


def test_auto_balance_spreads_candidates_evenly(factory: Factory) -> None:
    proctors = [factory.user(Role.PROCTOR) for _ in range(3)]
    exam = factory.exam()
    for i in range(7):
        factory.candidate(exam, name=f"C{i}")
    assigned = service.auto_balance(db=factory.db, exam=exam, max_per_proctor=30)
    factory.db.commit()
    assert len(assigned) == 7
    loads = sorted(
        sum(
            1 for c in service.list_for_exam(db=factory.db, exam_id=exam.id) if c.proctor_id == p.id
        )
        for p in proctors
    )
    assert loads == [2, 2, 3]


def test_auto_balance_keeps_existing_assignments_and_the_maximum(factory: Factory) -> None:
    busy, free = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR)
    exam = factory.exam()
    for i in range(2):
        factory.candidate(exam, busy, name=f"Busy{i}")
    for i in range(2):
        factory.candidate(exam, name=f"New{i}")
    service.auto_balance(db=factory.db, exam=exam, max_per_proctor=2)
    factory.db.commit()
    by_proctor = {
        c.name: c.proctor_id for c in service.list_for_exam(db=factory.db, exam_id=exam.id)
    }
    assert by_proctor["Busy0"] == by_proctor["Busy1"] == busy.id
    assert by_proctor["New0"] == by_proctor["New1"] == free.id


def test_auto_balance_refuses_when_there_is_not_enough_room(factory: Factory) -> None:
    factory.user(Role.PROCTOR)
    exam = factory.exam()
    for i in range(3):
        factory.candidate(exam, name=f"C{i}")
    with pytest.raises(service.CandidateError, match="room for only 2"):
        service.auto_balance(db=factory.db, exam=exam, max_per_proctor=2)
    factory.db.rollback()
    assert all(c.proctor_id is None for c in service.list_for_exam(db=factory.db, exam_id=exam.id))


def test_auto_balance_needs_proctors(factory: Factory) -> None:
    exam = factory.exam()
    factory.candidate(exam)
    with pytest.raises(service.CandidateError, match="no active proctors"):
        service.auto_balance(db=factory.db, exam=exam, max_per_proctor=30)


def test_only_active_proctors_can_be_assigned(factory: Factory) -> None:
    exam = factory.exam()
    candidate = factory.candidate(exam)
    reviewer = factory.user(Role.REVIEWER)
    with pytest.raises(service.CandidateError, match="not an active proctor"):
        service.assign(db=factory.db, candidate=candidate, proctor_id=reviewer.id)
