"""The LTI flows: a platform registration, its change and its removal are audited with the
fields that identify it and committed; a refused registration writes nothing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.lti import flows, service
from openproctor.domains.lti.models import PlatformWrite
from openproctor.domains.users.models import Role
from openproctor.outbound import OutboundPolicy
from tests.conftest import Factory
from tests.domains.test_sessions_flows import auditor

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])
NO_OUTBOUND = OutboundPolicy.from_entries([])


def registration(**fields: object) -> PlatformWrite:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PlatformWrite.model_validate(
        {
            "name": "Moodle",
            "issuer": "https://moodle.example.edu",
            "client_id": "tool-1",
            "auth_login_url": "https://moodle.example.edu/mod/lti/auth.php",
            "public_key": pem.decode(),
            "deployment_ids": ["1"],
            **fields,
        }
    )


def test_registering_changing_and_removing_are_audited(factory: Factory) -> None:
    db, audit = factory.db, auditor(factory.db, factory.user(Role.ADMIN))
    platform = flows.register(
        db=db, audit=audit, platform_in=registration(), outbound_policy=NO_OUTBOUND
    )
    flows.update(
        db=db,
        audit=audit,
        platform=platform,
        platform_in=registration(deployment_ids=["1", "2"]),
        outbound_policy=NO_OUTBOUND,
    )
    platform_id = platform.id
    flows.delete(db=db, audit=audit, platform=platform)
    assert service.get(db=db, platform_id=platform_id) is None
    trail = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.target_id == str(platform_id))
        .order_by(AuditEntry.created_at)
    ).all()
    assert [entry.action for entry in trail] == [
        "lti.platform.create",
        "lti.platform.update",
        "lti.platform.delete",
    ]
    assert trail[1].details == {
        "issuer": "https://moodle.example.edu",
        "client_id": "tool-1",
        "deployment_ids": ["1", "2"],
        "default_exam_id": None,
    }


def test_a_second_registration_of_the_same_client_is_refused(factory: Factory) -> None:
    db, audit = factory.db, auditor(factory.db, factory.user(Role.ADMIN))
    flows.register(db=db, audit=audit, platform_in=registration(), outbound_policy=NO_OUTBOUND)
    with pytest.raises(service.PlatformError):
        flows.register(
            db=db, audit=audit, platform_in=registration(name="again"), outbound_policy=NO_OUTBOUND
        )
    assert [p.name for p in service.list_all(db=db)] == ["Moodle"]
    created = db.scalars(select(AuditEntry).where(AuditEntry.action == "lti.platform.create"))
    assert len(created.all()) == 1
