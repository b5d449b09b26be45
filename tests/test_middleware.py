"""Security headers on every answer; pages that work without inline script or style."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openproctor.web.templating import WEB_DIR

EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/login", 200),
        ("GET", "/take/not-a-token", 404),
        ("GET", "/api/v1/exams", 401),
        ("GET", "/static/app.css", 200),
        ("GET", "/healthz", 200),
        ("POST", "/login", 413),  # refused by the body limit, before the application
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, status: int
) -> None:
    too_big = b"x" * (client.app.state.context.settings.max_body_bytes + 1)  # type: ignore[attr-defined]
    response = client.request(method, path, content=too_big if status == 413 else None)
    assert response.status_code == status
    for name, value in EVERY_RESPONSE.items():
        assert response.headers[name] == value
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "camera=(self)" in response.headers["permissions-policy"]
    # Plain http: no HSTS, which would lock a browser out of a test or LAN server.
    assert "strict-transport-security" not in response.headers


def test_hsts_when_the_public_url_is_https(settings_https_client: TestClient) -> None:
    response = settings_https_client.get("/login")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_the_api_docs_allow_exactly_their_own_inline_script(client: TestClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    [script] = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = response.headers["content-security-policy"]
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "https:" not in policy  # nothing from another origin: the bundles are ours


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


@pytest.mark.parametrize(
    "template", sorted((WEB_DIR / "templates").rglob("*.html")), ids=lambda p: p.name
)
def test_templates_have_no_inline_script_handler_or_style(template: Path) -> None:
    """The policy forbids them: a page that used one would break (see tests/web)."""
    html = template.read_text()
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert not INLINE_STYLE.search(html)
    assert "javascript:" not in html
