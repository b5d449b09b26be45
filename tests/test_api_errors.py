"""Every API operation documents its error answers (api_errors.py) with the one error body,
and the answers documented are the ones the server gives."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openproctor.api_errors import ERROR_SCHEMA
from openproctor.pagination import NEXT_CURSOR_HEADER

ERROR_REF = f"#/components/schemas/{ERROR_SCHEMA}"
PATH_ID = re.compile(r"\{[a-z_]+\}")
LIST_FILTERS = {
    "/api/v1/exams/{exam_id}/sessions": {"state", "since", "proctor"},
    "/api/v1/exams/{exam_id}/violations": {"kind", "severity", "status", "since"},
    "/api/v1/exams/{exam_id}/candidates": {"search"},
    "/api/v1/audit": {"action", "since"},
    "/api/v1/exams/{exam_id}/emails": {"status"},
}


@pytest.fixture
def database_kind() -> str:
    """The schema and the sign-in check do not depend on the database: SQLite only."""
    return "sqlite"


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
    ]


def test_every_operation_declares_its_errors_with_the_shared_body(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert ERROR_SCHEMA in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    signed_in = 0
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        staff_only = any("APIToken" in scheme for scheme in operation.get("security", []))
        if staff_only:
            signed_in += 1
            assert {"401", "403"} <= responses.keys(), where
        if method != "get":
            assert "403" in responses, f"{where}: the CSRF check"
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in responses, where
        if PATH_ID.search(path):
            assert "404" in responses, where
        for code, response in responses.items():
            if code[0] in "45":
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": ERROR_REF}, f"{where} {code}"
    assert signed_in > 80


def test_every_schema_reference_resolves(client: TestClient) -> None:
    """ReDoc refuses the whole document over one dangling $ref (the seed-compatible routes
    outside /api/v1 still use FastAPI's own validation error model)."""
    schema = client.get("/api/v1/openapi.json").json()
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert referenced - set(schema["components"]["schemas"]) == set()


def test_an_anonymous_client_gets_the_401_each_list_documents(client: TestClient) -> None:
    """The documented 401 is read from the routes' dependencies: check it against the server,
    on every GET (any id: the sign-in is checked before the id is looked up)."""
    schema = client.get("/api/v1/openapi.json").json()
    checked = 0
    for path, method, operation in operations(schema):
        if method != "get" or "401" not in operation["responses"]:
            continue
        url = PATH_ID.sub(str(uuid.uuid4()), path)
        assert client.get(url).status_code == 401, path
        checked += 1
    assert checked > 30


def test_every_list_that_grows_pages_and_filters(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paged = set()
    for path, method, operation in operations(schema):
        ok = operation["responses"].get("200", {})
        body = ok.get("content", {}).get("application/json", {}).get("schema", {})
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        if {"limit", "cursor"} <= names:
            paged.add(path)
            assert NEXT_CURSOR_HEADER in ok["headers"], path
        elif method == "get" and body.get("type") == "array":
            # The lists left whole are bounded by nature: see the README's REST API section.
            assert path in {
                "/api/v1/webhooks/events",
                "/api/v1/sessions/{session_id}/events",
                "/api/v1/sessions/{session_id}/recordings",
                "/api/v1/exams/{exam_id}/lobby",
            }, f"{path} is a list without pages"
        for wanted in LIST_FILTERS.get(path, set()) if method == "get" else set():
            assert wanted in names, f"{path} cannot filter by {wanted}"
    assert len(paged) == 16
