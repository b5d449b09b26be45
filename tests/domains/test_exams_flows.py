"""The exams flows: a created or changed exam is committed with its audit entry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openproctor.db import utcnow
from openproctor.domains.exams import flows, service
from openproctor.domains.exams.models import ExamWrite
from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.domains.audit_trail import trail
from tests.domains.test_sessions_flows import auditor

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


def exam_in(title: str) -> ExamWrite:
    opens = utcnow()
    return ExamWrite.model_validate(
        {
            "title": title,
            "opens_at": opens,
            "closes_at": opens + timedelta(hours=2),
            "duration_minutes": 30,
            "external_url": "https://quiz.example.edu/algebra",
        }
    )


def test_an_exam_is_created_and_renamed_with_an_audit_trail(factory: Factory) -> None:
    admin = factory.user(Role.ADMIN)
    db, audit = factory.db, auditor(factory.db, admin)
    exam = flows.create(db=db, audit=audit, exam_in=exam_in("Algebra"), creator=admin)
    flows.update(db=db, audit=audit, exam=exam, exam_in=exam_in("Algebra II"))
    db.expire_all()
    stored = service.get(db=db, exam_id=exam.id)
    assert stored is not None
    assert stored.title == "Algebra II"
    assert trail(db, exam.id) == [
        ("exam.create", {"title": "Algebra"}),
        ("exam.update", {"title": "Algebra II"}),
    ]
