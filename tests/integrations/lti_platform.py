"""A local LTI platform's proctoring services, a FastAPI app served by uvicorn on a free
loopback port: the OAuth 2 token endpoint (client_credentials with the tool's signed client
assertion), the start_assessment_url that checks the tool's LtiStartAssessment against the
tool's JWKS and the session_data it issued, and the Assessment Control endpoint. It records
every call; tests set what the control endpoint answers."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jwt.algorithms import RSAAlgorithm

from tests.servers import free_port

AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
CONTROL_SCOPE = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class ControlCall:
    body: dict[str, Any]
    authorization: str
    content_type: str


@dataclass
class PlatformServices:
    """What the platform knows (its issuer, the tool's client id and public keys, the
    session_data it issued) and what it received."""

    url: str
    issuer: str
    client_id: str
    deployment_id: str
    tool_jwks: dict[str, Any] = field(default_factory=dict)
    session_data: dict[tuple[str, int], str] = field(default_factory=dict)  # (sub, attempt)
    tokens: dict[str, str] = field(default_factory=dict)  # issued token -> scope
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    assessments_started: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    control_calls: list[ControlCall] = field(default_factory=list)
    # Per action, the status the control endpoint answers; and HTTP failures to answer first.
    answers: dict[str, str] = field(default_factory=dict)
    control_failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tool_claims(self, token: str, audience: str) -> dict[str, Any]:
        """A JWT the tool signed, verified against its JWKS (raises jwt errors)."""
        kid = jwt.get_unverified_header(token).get("kid")
        entry = next(key for key in self.tool_jwks["keys"] if key["kid"] == kid)
        claims: dict[str, Any] = jwt.decode(
            token,
            RSAAlgorithm.from_jwk(entry),  # type: ignore[arg-type]
            algorithms=["RS256"],
            audience=audience,
            issuer=self.client_id,
        )
        return claims

    def wait_for_control(self, count: int, timeout_s: float = 15.0) -> list[ControlCall]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.control_calls) >= count:
                    return list(self.control_calls)
            time.sleep(0.02)
        raise AssertionError(f"{count} control calls expected, got {self.control_calls}")


def services_app(services: PlatformServices) -> FastAPI:
    app = FastAPI()

    @app.post("/token")
    def token(
        grant_type: str = Form(),
        client_assertion_type: str = Form(),
        client_assertion: str = Form(),
        scope: str = Form(),
    ) -> Response:
        services.token_requests.append({"grant_type": grant_type, "scope": scope})
        if grant_type != "client_credentials" or client_assertion_type != ASSERTION_TYPE:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        try:
            claims = services.tool_claims(client_assertion, services.url + "/token")
        except (jwt.InvalidTokenError, StopIteration, KeyError) as error:
            services.refused.append(f"token: {error}")
            return JSONResponse({"error": "invalid_client"}, 401)
        if claims["sub"] != services.client_id or not claims.get("jti"):
            return JSONResponse({"error": "invalid_client"}, 401)
        issued = secrets.token_urlsafe(16)
        services.tokens[issued] = scope
        return JSONResponse(
            {"access_token": issued, "token_type": "Bearer", "expires_in": 3600, "scope": scope}
        )

    @app.post("/start-assessment")
    def start_assessment(JWT: str = Form()) -> Response:  # the spec's field name
        try:
            claims = services.tool_claims(JWT, services.issuer)
        except (jwt.InvalidTokenError, StopIteration, KeyError) as error:
            services.refused.append(f"start assessment: {error}")
            return HTMLResponse("refused", 401)
        attempt = claims.get(AP + "attempt_number")
        link = claims.get(LTI + "resource_link", {})
        problems = [
            name
            for name, ok in (
                ("message_type", claims.get(LTI + "message_type") == "LtiStartAssessment"),
                ("version", claims.get(LTI + "version") == "1.3.0"),
                ("deployment_id", claims.get(LTI + "deployment_id") == services.deployment_id),
                ("nonce", bool(claims.get("nonce"))),
                ("resource_link", isinstance(link, dict) and bool(link.get("id"))),
            )
            if not ok
        ]
        issued = [
            data for (sub, number), data in services.session_data.items() if number == attempt
        ]
        if claims.get(AP + "session_data") not in issued:
            problems.append("session_data")
        if problems:
            services.refused.append(f"start assessment: {problems}")
            return HTMLResponse(f"refused: {problems}", 400)
        services.assessments_started.append(claims)
        return HTMLResponse("<h1>Midterm: question 1</h1>")

    @app.post("/acs")
    async def control(request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ")
        if services.tokens.get(token) != CONTROL_SCOPE:
            return JSONResponse({"error": "invalid_token"}, 401)
        body = await request.json()
        with services.lock:
            services.control_calls.append(
                ControlCall(body, authorization, request.headers.get("content-type", ""))
            )
            failure = services.control_failures.pop(0) if services.control_failures else None
        if failure is not None:
            return JSONResponse({"error": "try later"}, failure)
        answer: dict[str, Any] = {"status": services.answers.get(body["action"], "running")}
        if body["action"] == "update":
            answer["extra_time"] = body.get("extra_time")
        return JSONResponse(answer, media_type="application/vnd.ims.lti-ap.v1.control.result+json")

    return app


@contextmanager
def platform_services(
    issuer: str, client_id: str, deployment_id: str
) -> Iterator[PlatformServices]:
    port = free_port()
    services = PlatformServices(f"http://127.0.0.1:{port}", issuer, client_id, deployment_id)
    config = uvicorn.Config(
        services_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="lti-platform", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the local LTI platform did not start")
        time.sleep(0.01)
    try:
        yield services
    finally:
        server.should_exit = True
        thread.join(10)
