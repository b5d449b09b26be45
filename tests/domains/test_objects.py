"""Stored pictures are served by what their bytes are, never by the type their row kept."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions import service as sessions
from openproctor.domains.users.models import Role
from tests.conftest import Factory, login

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PAGE = b"<html><script>fetch('/api/v1/users')</script></html>"


@pytest.mark.parametrize(
    ("data", "served_as", "disposition"),
    [
        (JPEG, "image/jpeg", None),
        (PAGE, "application/octet-stream", "attachment"),
    ],
)
def test_evidence_is_served_as_the_picture_it_is(
    client: TestClient,
    factory: Factory,
    data: bytes,
    served_as: str,
    disposition: str | None,
) -> None:
    exam = factory.exam()
    session = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam))
    store = client.app.state.context.store  # type: ignore[attr-defined]
    blob = store.put(f"sessions/{session.id}/evidence/x.jpg", data, "text/html")
    stored = StoredObject(
        purpose=ObjectPurpose.EVIDENCE,
        storage_key=blob.key,
        content_type="text/html",  # as a row could say; the bytes decide
        size_bytes=blob.size_bytes,
        sha256=blob.sha256,
        session_id=session.id,
    )
    factory.db.add(stored)
    factory.db.commit()
    login(client, factory.user(Role.ADMIN))
    response = client.get(f"/api/v1/evidence/{stored.id}")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == served_as
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get("content-disposition", "").split(";")[0] == (disposition or "")
