"""The messages flows: a message or warning is stored, audited and pushed to the candidate's
session topic (heard on the running app's bus); clearing warnings likewise."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.bus.local import session_topic
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.messages import flows
from openproctor.domains.messages.models import Message, MessageKind
from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.domains.listening import listening
from tests.domains.test_sessions_flows import auditor, hub_of
from tests.live.clients import running_session

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


def test_a_warning_is_stored_audited_and_pushed_to_the_candidate(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    with listening(client, session_topic(session.id)) as candidate_page:
        message = flows.send(
            db=factory.db,
            audit=auditor(factory.db, proctor),
            hub=hub_of(client),
            session=session,
            proctor=proctor,
            kind=MessageKind.WARNING,
            body="  eyes on your screen  ",
        )
        pushed = candidate_page.next()
    assert pushed == {
        "type": "message",
        "id": str(message.id),
        "sender": "proctor",
        "kind": "warning",
        "body": "eyes on your screen",
        "at": message.created_at.isoformat(),
        "cleared": False,
    }
    factory.db.expire_all()
    row = factory.db.get(Message, message.id)
    assert row is not None
    assert row.sender_user_id == proctor.id
    [entry] = factory.db.scalars(select(AuditEntry).where(AuditEntry.action == "session.warning"))
    assert (entry.target_id, entry.details) == (str(session.id), {"body": "eyes on your screen"})


def test_clearing_marks_open_warnings_read_and_tells_the_page(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    session = running_session(factory, factory.candidate(factory.exam(), proctor))
    db, audit, hub = factory.db, auditor(factory.db, proctor), hub_of(client)
    for kind in (MessageKind.WARNING, MessageKind.WARNING, MessageKind.MESSAGE):
        flows.send(
            db=db, audit=audit, hub=hub, session=session, proctor=proctor, kind=kind, body="x"
        )
    with listening(client, session_topic(session.id)) as candidate_page:
        assert flows.clear_warnings(db=db, audit=audit, hub=hub, session=session) == 2
        assert candidate_page.next() == {"type": "warnings_cleared"}
        assert flows.clear_warnings(db=db, audit=audit, hub=hub, session=session) == 0
        assert candidate_page.next() == {"type": "warnings_cleared"}
    db.expire_all()
    unread = db.scalars(select(Message).where(Message.read_at.is_(None))).all()
    assert [m.kind for m in unread] == [MessageKind.MESSAGE]
    cleared = db.scalars(
        select(AuditEntry.details)
        .where(AuditEntry.action == "session.clear_warnings")
        .order_by(AuditEntry.created_at)
    ).all()
    assert cleared == [{"cleared": 2}, {"cleared": 0}]
