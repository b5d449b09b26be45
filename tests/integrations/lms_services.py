"""A learning platform's LTI Advantage services on a real local HTTP server (FastAPI on
uvicorn, in a thread): the OAuth 2 token endpoint, Assignment and Grade Services (line items
and scores) and Names and Role Provisioning Services (a paged membership list).

The platform side is the third-party `lti1p3platform` (its token issuing, which checks our
client assertion against our JWKS, its bearer-token checks and its AGS/NRPS handlers), so
our reading of the specifications is checked against someone else's. Around it, this
module checks what that library leaves out (the assertion's aud/iss/sub/jti, the Score
document) and serves the answers as the specifications want them on the wire (a line item
container as a JSON array, the next membership page in a Link header).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lti1p3platform.exceptions import LtiException
from lti1p3platform.lineitem import TLineItem
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as LibraryRequest
from lti1p3platform.request import TRequest
from lti1p3platform.response import Response as LibraryResponse
from lti1p3platform.score import TScore, UpdateScoreStatus
from lti1p3platform.service_connector import (
    AssignmentsGradesService,
    NamesRoleProvisioningService,
    TPage,
)

from tests.servers import free_port

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
# AGS: "ISO 8601 with a sub-second precision", and an offset.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z)$")
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]


@dataclass
class LmsServices:
    """What the platform was asked and holds; tests set `down`, `members`, `tool_jwks`."""

    url: str
    issuer: str = "https://lms.example.edu"
    client_id: str = "openproctor-tool"
    context_id: str = "course-1"
    tool_jwks: dict[str, Any] = field(default_factory=dict)
    down: bool = False
    members: list[dict[str, Any]] = field(default_factory=list)
    lineitems: dict[str, TLineItem] = field(default_factory=dict)
    scores: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Tokens issued, with the scopes asked for; the assertions' claims; refusals and why.
    tokens: list[str] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def lineitems_url(self) -> str:
        return f"{self.url}/{self.context_id}/lineitems"

    @property
    def memberships_url(self) -> str:
        return f"{self.url}/{self.context_id}/memberships?limit=2"

    def reset(self) -> None:
        with self.lock:
            self.down = False
            self.members.clear()
            self.lineitems.clear()
            self.scores.clear()
            self.tokens.clear()
            self.assertions.clear()
            self.refusals.clear()
            self.requests.clear()
            self.tool_jwks = {}

    def registration(self) -> Registration:
        private = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        return (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(self.client_id)
            .set_platform_private_key(private)
            .set_platform_public_key(public)
            .set_tool_key_set(self.tool_jwks)  # type: ignore[arg-type]
        )

    def launch_claims(self, *, lineitem: str | None = None) -> dict[str, Any]:
        """The AGS endpoint and NRPS claims a launch of the resource link carries."""
        ags: dict[str, Any] = {"scope": AGS_SCOPES, "lineitems": self.lineitems_url}
        if lineitem:
            ags["lineitem"] = lineitem
        return {
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": ags,
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": self.memberships_url,
                "service_versions": ["2.0"],
            },
        }


class _Conf(LTI1P3PlatformConfAbstract):  # type: ignore[misc]
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class _Request(LibraryRequest):  # type: ignore[misc]
    def build_metadata(self, request: TRequest) -> TRequest:
        return request


class _Grades(AssignmentsGradesService):  # type: ignore[misc]
    def __init__(self, request: _Request, conf: _Conf, services: LmsServices) -> None:
        super().__init__(request, conf, services.lineitems_url)
        self.services = services

    def find_lineitems(
        self,
        page: int = 1,
        limit: int | None = None,
        line_item_id: str | None = None,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> TPage:
        found = [
            item
            for item in self.services.lineitems.values()
            if resource_link_id in (None, item.get("resourceLinkId"))
            and tag in (None, item.get("tag"))
        ]
        return {"content": found, "has_next": False}

    def find_lineitem(self, line_item_id: str) -> TLineItem:
        return self.services.lineitems[line_item_id]

    def create_lineitem(self, creation_data: TLineItem) -> TLineItem:
        item: TLineItem = {**creation_data}
        item["id"] = f"{self.services.lineitems_url}/{len(self.services.lineitems) + 1}"
        self.services.lineitems[item["id"]] = item
        return item

    def update_lineitem(self, update_data: TLineItem) -> TLineItem:
        raise NotImplementedError

    def delete_lineitem(self, line_item_id: str) -> None:
        raise NotImplementedError

    def update_score(self, line_item_id: str, score: TScore) -> UpdateScoreStatus:
        self.services.scores.append((line_item_id, dict(score)))
        return UpdateScoreStatus.SUCCESS

    def get_results(
        self, line_item_id: str, page: int = 1, limit: int | None = None, user_id: str | None = None
    ) -> TPage:
        raise NotImplementedError


class _Roster(NamesRoleProvisioningService):  # type: ignore[misc]
    def __init__(self, request: _Request, conf: _Conf, services: LmsServices) -> None:
        super().__init__(request, conf, services.memberships_url.split("?")[0])
        self.services = services

    def get_member_data_page(
        self, page: int = 1, limit: int | None = None, role: str | None = None, since: Any = None
    ) -> TPage:
        size = limit or len(self.services.members) or 1
        start = (page - 1) * size
        return {
            "content": [dict(m) for m in self.services.members[start : start + size]],
            "has_next": start + size < len(self.services.members),
        }

    def get_context_by_id(self) -> Context:
        return Context(id=self.services.context_id, label="ALG1", title="Algebra I")


def score_problem(content_type: str, score: Any) -> str | None:
    """What is wrong with a Score request by AGS 2.0 (the library does not check it)."""
    if content_type.split(";")[0].strip() != SCORE_TYPE:
        return f"content type {content_type!r}"
    if not isinstance(score, dict):
        return "not an object"
    if not isinstance(score.get("userId"), str) or not score["userId"]:
        return "no userId"
    if score.get("activityProgress") not in ACTIVITY:
        return f"activityProgress {score.get('activityProgress')!r}"
    if score.get("gradingProgress") not in GRADING:
        return f"gradingProgress {score.get('gradingProgress')!r}"
    stamp = score.get("timestamp")
    if not isinstance(stamp, str) or not TIMESTAMP.match(stamp):
        return f"timestamp {stamp!r}"
    datetime.fromisoformat(stamp)
    if "scoreGiven" in score and not (
        isinstance(score.get("scoreMaximum"), int | float)
        and 0 <= score["scoreGiven"] <= score["scoreMaximum"]
    ):
        return "scoreGiven without a scoreMaximum that bounds it"
    return None


def _app(services: LmsServices) -> FastAPI:
    app = FastAPI()

    async def library_request(request: Request) -> _Request:
        body = await request.body()
        query: dict[str, Any] = dict(request.query_params)
        for number in ("page", "limit"):
            if number in query:
                query[number] = int(query[number])
        return _Request(
            {
                "method": request.method,
                "form_data": {},
                "get_data": query,
                "headers": request.headers,
                "content_type": request.headers.get("content-type"),
                "path": request.url.path,
                "json": await request.json() if body[:1] == b"{" else None,
            }
        )

    def answer(result: LibraryResponse, *, array: bool = False) -> Response:
        if result.code >= 400 or result.result is None:
            if result.code >= 400:
                services.refusals.append(f"{result.code} {result.message}")
            return Response(status_code=result.code, content=result.message)
        document = result.result
        headers = {}
        if isinstance(document, dict) and document.get("next"):
            headers["Link"] = f'<{document["next"]}>; rel="next"'
        if array:
            document = document["content"]
        return JSONResponse(
            document, status_code=result.code, media_type=result.media_type, headers=headers
        )

    def served(service: Any, handler: Any, *, array: bool = False, **kwargs: Any) -> Response:
        """The library's handler; a bearer token it cannot verify is a 401."""
        try:
            return answer(service.handle_resp(handler, **kwargs), array=array)
        except (LtiException, jwt.InvalidTokenError) as error:
            services.refusals.append(f"401 {error}")
            return Response(status_code=401, content="invalid token")

    def conf() -> _Conf:
        return _Conf(registration=services.registration())

    @app.middleware("http")
    async def outage(request: Request, call_next: Any) -> Response:
        services.requests.append(f"{request.method} {request.url.path}")
        if services.down:
            return Response(status_code=503, content="down for maintenance")
        response: Response = await call_next(request)
        return response

    @app.post("/token")
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            claims = jwt.decode(
                form.get("client_assertion", ""),
                options={"verify_signature": False},
            )
            problems = [
                f"{name} is {claims.get(name)!r}"
                for name, wanted in (
                    ("aud", services.token_url),
                    ("iss", services.client_id),
                    ("sub", services.client_id),
                )
                if claims.get(name) != wanted
            ]
            if not claims.get("jti") or any(
                claims["jti"] == seen.get("jti") for seen in services.assertions
            ):
                problems.append("jti missing or used before")
            if form.get("client_assertion_type") != (
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            ):
                problems.append("client_assertion_type")
            if problems:
                raise LtiException("; ".join(problems))
            # The library checks the signature against the tool's JWKS and issues the token.
            issued = conf().get_access_token(form)
        except (LtiException, jwt.InvalidTokenError, KeyError, AssertionError) as error:
            services.refusals.append(f"token: {error}")
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        services.assertions.append(claims)
        services.tokens.append(issued["scope"])
        return JSONResponse(dict(issued))

    def grades(request: _Request) -> _Grades:
        return _Grades(request, conf(), services)

    @app.get("/{context}/lineitems")
    async def get_lineitems(request: Request) -> Response:
        service = grades(await library_request(request))
        return served(service, service.handle_get_lineitems, array=True)

    @app.post("/{context}/lineitems")
    async def post_lineitem(request: Request) -> Response:
        service = grades(await library_request(request))
        return served(service, service.handle_create_lineitem)

    @app.post("/{context}/lineitems/{number}/scores")
    async def post_score(request: Request, number: str) -> Response:
        library = await library_request(request)
        problem = score_problem(library.content_type or "", library.json)
        if problem is not None:
            services.refusals.append(f"score: {problem}")
            return Response(status_code=400, content=problem)
        item = f"{services.lineitems_url}/{number}"
        service = grades(library)
        return served(service, service.handle_update_score, line_item_id=item)

    @app.get("/{context}/memberships")
    async def memberships(request: Request) -> Response:
        service = _Roster(await library_request(request), conf(), services)
        return served(service, service.handle_get_members)

    return app


@contextmanager
def lms_services() -> Iterator[LmsServices]:
    port = free_port()
    services = LmsServices(url=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(_app(services), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the LMS services did not start")
        thread.join(0.02)
    try:
        yield services
    finally:
        server.should_exit = True
        thread.join(10)


def member(subject: str, name: str, email: str, **fields: Any) -> dict[str, Any]:
    """A course member as NRPS lists one (a learner unless `roles` says otherwise)."""
    return {
        "user_id": subject,
        "name": name,
        "email": email,
        "roles": [LEARNER],
        "status": "Active",
        **fields,
    }
