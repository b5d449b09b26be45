"""The users flows: an account change that ends its sign-ins is committed, audited and told
on the user's staff topic, where every node's open sockets of that user listen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.bus.local import staff_topic
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.users import flows, service
from openproctor.domains.users.models import Role, UserUpdate
from tests.conftest import Factory
from tests.domains.listening import listening
from tests.domains.test_sessions_flows import auditor, hub_of

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])
SIGN_IN_CHANGED = {"type": "sign_in_changed"}


def test_a_new_role_signs_the_user_out_everywhere(client: TestClient, factory: Factory) -> None:
    admin, proctor = factory.user(Role.ADMIN), factory.user(Role.PROCTOR)
    token = service.open_session(
        db=factory.db, user=proctor, client_ip="192.0.2.1", lifetime=timedelta(hours=1)
    )
    factory.db.commit()
    with listening(client, staff_topic(proctor.id)) as sockets:
        flows.update(
            db=factory.db,
            audit=auditor(factory.db, admin),
            hub=hub_of(client),
            user=proctor,
            change=UserUpdate(role=Role.REVIEWER),
        )
        assert sockets.next() == SIGN_IN_CHANGED
    assert service.user_for_session(db=factory.db, token=token) is None
    [entry] = factory.db.scalars(select(AuditEntry).where(AuditEntry.action == "user.update"))
    assert entry.details == {"role": "reviewer"}


def test_reactivating_keeps_sign_ins_and_tells_nobody(client: TestClient, factory: Factory) -> None:
    admin, proctor = factory.user(Role.ADMIN), factory.user(Role.PROCTOR)
    proctor.is_active = False
    factory.db.commit()
    with listening(client, staff_topic(proctor.id)) as sockets:
        flows.update(
            db=factory.db,
            audit=auditor(factory.db, admin),
            hub=hub_of(client),
            user=proctor,
            change=UserUpdate(is_active=True),
        )
        sockets.assert_silent()
    [entry] = factory.db.scalars(select(AuditEntry).where(AuditEntry.action == "user.update"))
    assert entry.details == {"is_active": True}


def test_deactivation_is_audited_and_closes_the_users_sockets(
    client: TestClient, factory: Factory
) -> None:
    admin, proctor = factory.user(Role.ADMIN), factory.user(Role.PROCTOR)
    with listening(client, staff_topic(proctor.id)) as sockets:
        flows.deactivate(
            db=factory.db, audit=auditor(factory.db, admin), hub=hub_of(client), user=proctor
        )
        assert sockets.next() == SIGN_IN_CHANGED
    factory.db.expire_all()
    assert service.get(db=factory.db, user_id=proctor.id).is_active is False  # type: ignore[union-attr]
    [entry] = factory.db.scalars(select(AuditEntry).where(AuditEntry.action == "user.deactivate"))
    assert (entry.target_id, entry.details) == (str(proctor.id), {"email": proctor.email})
