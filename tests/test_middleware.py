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


def request_metrics(client: TestClient) -> dict[str, float]:
    """The openproctor_http_* samples of /metrics, by their line's name and labels."""
    text = client.get("/metrics").text
    return {
        name: float(value)
        for name, _, value in (line.rpartition(" ") for line in text.splitlines())
        if name.startswith("openproctor_http_")
    }


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_requests_are_timed_and_counted_by_route_template(client: TestClient) -> None:
    session_id = "6f1d9a4e-0000-4000-8000-000000000001"
    for _ in range(2):
        assert client.get(f"/api/v1/sessions/{session_id}").status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    assert client.get(f"/no/such/page/{session_id}").status_code == 404
    too_big = b"x" * (client.app.state.context.settings.max_body_bytes + 1)  # type: ignore[attr-defined]
    assert client.post("/login", content=too_big).status_code == 413

    samples = request_metrics(client)
    session = 'method="GET",route="/api/v1/sessions/{session_id}"'
    assert samples[f'openproctor_http_requests_total{{{session},status="4xx"}}'] == 2
    assert samples[f"openproctor_http_request_duration_seconds_count{{{session}}}"] == 2
    assert samples['openproctor_http_requests_total{method="GET",route="/healthz",status="2xx"}']
    assert samples['openproctor_http_requests_total{method="GET",route="/static",status="2xx"}']
    assert samples['openproctor_http_requests_total{method="GET",route="unrouted",status="4xx"}']
    assert samples['openproctor_http_requests_total{method="POST",route="unrouted",status="4xx"}']
    # The values in paths never become labels.
    assert not any(session_id in name for name in samples)


def test_a_request_that_fails_counts_as_a_server_error() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    from openproctor.metrics import Metrics
    from openproctor.middleware import RequestMetricsMiddleware

    def broken(request: Request) -> None:
        raise RuntimeError("bug")

    metrics = Metrics()
    app = Starlette(routes=[Route("/items/{item_id}", broken)])
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/items/7").status_code == 500
    labels = {"method": "GET", "route": "/items/{item_id}", "status": "5xx"}
    assert metrics.registry.get_sample_value("openproctor_http_requests_total", labels) == 1
