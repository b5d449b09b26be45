"""The integrations flow: an exam's meeting id and URLs are saved with their audit entry; a
meeting id another exam has is refused."""

from __future__ import annotations

import pytest

from openproctor.domains.integrations import flows, service
from openproctor.domains.integrations.models import IntegrationWrite
from openproctor.domains.users.models import Role
from openproctor.outbound import OutboundPolicy
from tests.conftest import Factory
from tests.domains.audit_trail import trail
from tests.domains.test_sessions_flows import auditor

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])
NO_OUTBOUND = OutboundPolicy.from_entries([])


def test_an_exams_integration_is_saved_and_audited(factory: Factory) -> None:
    db, audit = factory.db, auditor(factory.db, factory.user(Role.ADMIN))
    exam, other = factory.exam(), factory.exam()
    settings = IntegrationWrite.model_validate(
        {"meeting_id": "room-7", "return_url": "https://lms.example.edu/done"}
    )
    flows.save(db=db, audit=audit, exam=exam, settings=settings, outbound_policy=NO_OUTBOUND)
    assert trail(db, exam.id) == [
        (
            "exam.integration",
            {
                "meeting_id": "room-7",
                "callback_url": None,
                "return_url": "https://lms.example.edu/done",
            },
        )
    ]
    with pytest.raises(service.MeetingIdTaken):
        flows.save(db=db, audit=audit, exam=other, settings=settings, outbound_policy=NO_OUTBOUND)
    db.rollback()
    assert trail(db, other.id) == []
