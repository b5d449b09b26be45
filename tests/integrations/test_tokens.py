"""API tokens: scoped, revocable bearer credentials on the REST API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.sessions import service as sessions
from openproctor.domains.tokens.models import ApiToken
from openproctor.domains.tokens.scopes import Scope
from openproctor.domains.users.models import Role, User
from openproctor.settings import Settings
from tests.conftest import Factory


def _exam_body() -> dict[str, Any]:
    opens = utcnow() - timedelta(minutes=5)
    return {
        "title": "Token exam",
        "opens_at": opens.isoformat(),
        "closes_at": (opens + timedelta(hours=2)).isoformat(),
        "duration_minutes": 30,
        "external_url": "https://quiz.example.com/exam/7",
    }


def make_token(client: TestClient, *scopes: str, name: str = "sync") -> str:
    response = client.post("/api/v1/tokens", json={"name": name, "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token"].startswith("opk_")
    assert body["token"].startswith(body["hint"])
    return str(body["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_acts_as_an_admin_within_its_scopes(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    db: Session,
) -> None:
    login_as(factory.user(Role.ADMIN))
    token = make_token(client, "exams:read", "exams:write", "candidates:write")
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token")

    created = client.post("/api/v1/exams", json=_exam_body(), headers=bearer(token))
    assert created.status_code == 201, created.text
    exam_id = created.json()["id"]
    candidate = client.post(
        f"/api/v1/exams/{exam_id}/candidates",
        json={"name": "Ada", "email": "ada@example.com", "external_id": "S-1"},
        headers=bearer(token),
    )
    assert candidate.status_code == 201, candidate.text
    assert candidate.json()["invite_url"].endswith(candidate.json()["invite_url"][-43:])
    assert client.get(f"/api/v1/exams/{exam_id}", headers=bearer(token)).status_code == 200

    missing = client.get(f"/api/v1/exams/{exam_id}/candidates", headers=bearer(token))
    assert missing.status_code == 403
    assert missing.json()["detail"] == "this API token lacks the scope candidates:read"
    sessions = client.get(f"/api/v1/exams/{exam_id}/sessions", headers=bearer(token))
    assert sessions.json()["detail"] == "this API token lacks the scope sessions:read"
    # Staff accounts, the audit log and tokens themselves never take a token.
    for method, path in (("GET", "/api/v1/users"), ("GET", "/api/v1/audit")):
        refused = client.request(method, path, headers=bearer(token))
        assert refused.status_code == 403
        assert "API tokens cannot be used" in refused.json()["detail"]
    minted = client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["exams:read"]}, headers=bearer(token)
    )
    assert minted.status_code == 403

    row = db.scalar(select(ApiToken).where(ApiToken.name == "sync"))
    assert row is not None
    db.refresh(row)
    assert row.last_used_at is not None
    labels = db.scalars(select(AuditEntry.actor_label).where(AuditEntry.action == "exam.create"))
    assert list(labels) == ["api-token:sync"]


def test_revoked_and_unknown_tokens_get_401(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    login_as(factory.user(Role.ADMIN))
    token = make_token(client, "exams:read")
    listed = client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["sync"]
    assert "token" not in listed[0]
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}").status_code == 200

    client.cookies.clear()
    revoked = client.get("/api/v1/exams", headers=bearer(token))
    assert revoked.status_code == 401
    assert revoked.headers["www-authenticate"] == "Bearer"
    assert "unknown or was revoked" in revoked.json()["detail"]
    unknown = client.get("/api/v1/exams", headers=bearer("opk_" + "x" * 43))
    assert unknown.status_code == 401
    assert client.get("/api/v1/exams").status_code == 401


def test_only_known_scopes_and_admins_make_tokens(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    login_as(factory.user(Role.PROCTOR))
    refused = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["exams:read"]})
    assert refused.status_code == 403
    client.post("/api/v1/auth/logout")
    login_as(factory.user(Role.ADMIN))
    bad = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["everything"]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-2:] == ["scopes", 0]
    empty = client.post("/api/v1/tokens", json={"name": "x", "scopes": []})
    assert empty.status_code == 422


def test_openapi_documents_the_bearer_scheme(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["APIToken"]["description"],
    }
    assert {"APIToken": []} in spec["paths"]["/api/v1/exams"]["post"]["security"]
    assert "/api/v1/tokens" in spec["paths"]


def test_admin_page_creates_shows_once_and_revokes(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    login_as(factory.user(Role.ADMIN))
    csrf = client.headers["X-CSRF-Token"]
    page = client.post(
        "/admin/tokens",
        data={"csrf_token": csrf, "name": "LMS", "scopes": ["exams:read", "reports:read"]},
    )
    assert page.status_code == 200
    assert 'data-testid="token-value"' in page.text
    token = page.text.split('data-testid="token-value">')[1].split("<")[0]
    listing = client.get("/admin/tokens")
    assert token not in listing.text
    assert "exams:read, reports:read" in listing.text
    assert "never" in listing.text
    token_id = client.get("/api/v1/tokens").json()[0]["id"]
    revoked = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert "revoked" in client.get("/admin/tokens").text
    no_scope = client.post("/admin/tokens", data={"csrf_token": csrf, "name": "none"})
    assert no_scope.status_code == 422


def test_cli_creates_a_token_that_works(settings: Settings, client: TestClient) -> None:
    env = {
        **os.environ,
        "OPENPROCTOR_DATA_DIR": str(settings.data_dir),
        "OPENPROCTOR_DATABASE_URL": settings.resolved_database_url,
    }
    done = subprocess.run(
        [
            *(sys.executable, "-m", "openproctor.cli", "token", "create", "--name", "ci"),
            *("--scope", "exams:read", "--scope", "reports:read,sessions:read", "--json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["scopes"] == ["exams:read", "reports:read", "sessions:read"]
    assert client.get("/api/v1/exams", headers=bearer(created["token"])).json() == []


# One route per token-protected family and direction, with the one scope it needs (None:
# API tokens are refused whatever their scopes). Written out by hand, so that a change in
# the mapping shows up here.
SCOPE_MATRIX: list[tuple[str, str, str | None]] = [
    ("GET", "/api/v1/exams", "exams:read"),
    ("PUT", "/api/v1/exams/{exam}/integration", "exams:write"),
    ("GET", "/api/v1/exams/{exam}/candidates", "candidates:read"),
    ("POST", "/api/v1/exams/{exam}/candidates", "candidates:write"),
    ("GET", "/api/v1/exams/{exam}/emails", "candidates:read"),
    ("PUT", "/api/v1/exams/{exam}/mail-template", "candidates:write"),
    ("GET", "/api/v1/exams/{exam}/sessions", "sessions:read"),
    ("PUT", "/api/v1/sessions/{session}/decision", "sessions:write"),
    ("GET", "/api/v1/sessions/{session}/messages", "sessions:read"),
    ("POST", "/api/v1/sessions/{session}/messages", "sessions:write"),
    ("PUT", "/api/v1/exams/{exam}/auto-terminate", "sessions:write"),
    ("GET", "/api/v1/exams/{exam}/violations", "violations:read"),
    ("PUT", "/api/v1/violations/{missing}/review", "violations:write"),
    ("GET", "/api/v1/sessions/{session}/recordings", "recordings:read"),
    ("GET", "/api/v1/exams/{exam}/report.json", "reports:read"),
    ("GET", "/api/v1/webhooks", "webhooks:read"),
    ("POST", "/api/v1/webhooks", "webhooks:write"),
    ("POST", "/detect_faces/", "detect"),
    ("POST", "/multiple_faces_list/", "violations:read"),
    ("GET", "/api/v1/users", None),
    ("GET", "/api/v1/audit", None),
    ("POST", "/api/v1/tokens", None),
    ("GET", "/api/v1/lti/platforms", None),
]
# Tags whose routes take no bearer token at all: the candidate's invite-token routes.
INVITE_TAGS = {"candidate"}


def _shape(path: str) -> str:
    """The path with its parameters' names left out: /exams/{} for /exams/{exam_id}."""
    return re.sub(r"{[^}]*}", "{}", path)


def test_each_scope_opens_exactly_its_route_families(
    client: TestClient, factory: Factory, login_as: Callable[[User], TestClient]
) -> None:
    exam = factory.exam()
    session = sessions.current_for_candidate(db=factory.db, candidate=factory.candidate(exam))
    factory.db.commit()
    login_as(factory.user(Role.ADMIN))
    tokens = {scope.value: make_token(client, scope.value, name=scope.value) for scope in Scope}
    spec = client.get("/api/v1/openapi.json").json()
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token")

    # Every tag of the API is in the matrix, so a new route family cannot go unpinned.
    tags_of = {
        (method.upper(), _shape(path)): operation["tags"][0]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    pinned = {tags_of[(method, _shape(template))] for method, template, _ in SCOPE_MATRIX}
    assert pinned | INVITE_TAGS == set(tags_of.values())

    for method, template, needed in SCOPE_MATRIX:
        path = template.format(exam=exam.id, session=session.id, missing=uuid.uuid4())
        body = {"meeting_id": str(exam.id)} if path == "/multiple_faces_list/" else {}
        for scope, token in tokens.items():
            response = client.request(method, path, json=body, headers=bearer(token))
            where = f"{scope} token, {method} {template}: {response.text[:200]}"
            if scope == needed:
                assert response.status_code not in (401, 403), where
            elif needed is None:
                assert response.status_code == 403, where
                assert "API tokens cannot be used" in response.json()["detail"], where
            else:
                assert response.status_code == 403, where
                assert response.json()["detail"] == f"this API token lacks the scope {needed}"
    # The seed API's dashboard check agrees with the list it opens.
    admins = {
        scope
        for scope, token in tokens.items()
        if client.post("/is_admin/", json={"meeting_id": str(exam.id), "admin_id": token}).json()[
            "admin"
        ]
    }
    assert admins == {"violations:read"}
