"""The tokens flows: a token works once created and stops once revoked, each audited."""

from __future__ import annotations

import pytest

from openproctor.domains.tokens import flows, service
from openproctor.domains.tokens.models import TokenCreate
from openproctor.domains.tokens.scopes import Scope
from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.domains.audit_trail import trail
from tests.domains.test_sessions_flows import auditor

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])


def test_a_token_is_made_used_and_revoked(factory: Factory) -> None:
    db, audit = factory.db, auditor(factory.db, factory.user(Role.ADMIN))
    token_in = TokenCreate(name="LMS sync", scopes=[Scope.EXAMS_READ])
    row, token = flows.create(db=db, audit=audit, token_in=token_in, creator=audit.actor)
    assert service.authenticate(db=db, token=token) is not None
    flows.revoke(db=db, audit=audit, token=row)
    assert service.authenticate(db=db, token=token) is None
    assert token not in str(trail(db, row.id))
    assert trail(db, row.id) == [
        ("token.create", {"name": "LMS sync", "scopes": ["exams:read"]}),
        ("token.revoke", {"name": "LMS sync"}),
    ]
