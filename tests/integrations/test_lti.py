"""LTI 1.3: a simulated platform signs real id_tokens with its own RSA key (served as a JWKS
by a real local HTTP server, or registered as a PEM), runs login initiation and launches."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from httpx2 import Response
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.app import create_app
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import service as lti
from openproctor.domains.lti.models import LtiPlatform, PlatformWrite
from openproctor.domains.users.models import Role, User
from openproctor.settings import Settings
from tests.conftest import Factory, login
from tests.integrations.receiver import (
    NON_PUBLIC_URLS,
    RECEIVER_NETWORK,
    Receiver,
    public_only,
    receiver,
)

# The platform's key set is served on loopback: allowed as a deployment allows an internal LMS.
pytestmark = pytest.mark.outbound_allow(RECEIVER_NETWORK)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_server() -> Iterator[Receiver]:
    with receiver() as server:
        yield server


@dataclass
class Platform:
    """A simulated LMS: registers itself, starts logins and signs launches."""

    client: TestClient
    key: rsa.RSAPrivateKey
    server: Receiver
    public_url: str
    issuer: str = "https://lms.example.edu"
    client_id: str = "openproctor-tool"
    deployment_id: str = "deployment-1"
    kid: str = field(default_factory=lambda: uuid.uuid4().hex)
    jwks_path: str = field(default_factory=lambda: f"/jwks/{uuid.uuid4().hex}.json")
    id: str = ""

    @property
    def auth_url(self) -> str:
        return f"{self.server.url}/auth"

    def serve_jwks(self) -> None:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        document = {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}
        self.server.documents[self.jwks_path] = (
            200,
            "application/json",
            json.dumps(document).encode(),
        )

    def registration(self, **fields: Any) -> dict[str, Any]:
        return {
            "name": "Moodle",
            "issuer": self.issuer,
            "client_id": self.client_id,
            "auth_login_url": self.auth_url,
            "key_set_url": self.server.url + self.jwks_path,
            "deployment_ids": [self.deployment_id],
            **fields,
        }

    def initiate(self, method: str = "GET", **params: str) -> Response:
        query = {
            "iss": self.issuer,
            "login_hint": "user-hint-42",
            "target_link_uri": f"{self.public_url}/lti/launch",
            "lti_message_hint": "message-hint-7",
            "client_id": self.client_id,
            **params,
        }
        if method == "POST":
            return self.client.post("/lti/login", data=query)
        return self.client.get("/lti/login", params=query)

    def login(self) -> dict[str, str]:
        """Login initiation; returns the authentication request's parameters."""
        response = self.initiate()
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.auth_url
        return dict(parse_qsl(location.query))

    def id_token(
        self,
        nonce: str,
        *,
        sub: str = "learner-1",
        roles: list[str] | None = None,
        key: rsa.RSAPrivateKey | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Ada Lovelace",
            "email": "ada@uni.example.edu",
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": f"{self.public_url}/lti/launch",
            CLAIM + "resource_link": {"id": "link-1", "title": "Midterm"},
            CLAIM + "roles": roles if roles is not None else [LEARNER],
            CLAIM + "context": {"id": "course-1", "title": "Algebra I"},
        }
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(
            body, key or self.key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )

    def launch(self, id_token: str, state: str) -> Response:
        return self.client.post("/lti/launch", data={"id_token": id_token, "state": state})

    def login_and_launch(self, **token: Any) -> Response:
        """A login and a launch; `nonce` in `token` replaces the one the login made."""
        auth = self.login()
        nonce = token.pop("nonce", auth["nonce"])
        return self.launch(self.id_token(nonce, **token), auth["state"])


@pytest.fixture
def registered(
    client: TestClient,
    factory: Factory,
    platform_key: rsa.RSAPrivateKey,
    jwks_server: Receiver,
    settings: Settings,
) -> tuple[Platform, Exam]:
    """A platform registered by an admin through the API, with a default exam."""
    exam = factory.exam()
    platform = Platform(client, platform_key, jwks_server, settings.public_url)
    platform.serve_jwks()
    login(client, factory.user(Role.ADMIN))
    response = client.post(
        "/api/v1/lti/platforms", json=platform.registration(default_exam_id=str(exam.id))
    )
    assert response.status_code == 201, response.text
    platform.id = response.json()["id"]
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token")
    return platform, exam


def error_of(response: Response) -> str:
    assert 'data-testid="lti-error"' in response.text, response.text
    text = response.text.split('data-testid="lti-error">', 1)[1].split("</p>", 1)[0]
    return text.replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")


def test_admins_register_platforms_through_the_api(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    db: Session,
    platform_key: rsa.RSAPrivateKey,
    jwks_server: Receiver,
    settings: Settings,
) -> None:
    exam = factory.exam()
    platform = Platform(client, platform_key, jwks_server, settings.public_url)
    login_as(factory.user(Role.PROCTOR))
    assert client.get("/api/v1/lti/platforms").status_code == 403
    client.cookies.clear()
    login_as(factory.user(Role.ADMIN))

    tool = client.get("/api/v1/lti/tool").json()
    assert tool["login_url"] == f"{settings.public_url}/lti/login"
    assert tool["launch_url"] == f"{settings.public_url}/lti/launch"
    assert tool["jwks_url"] == f"{settings.public_url}/lti/jwks"

    neither = client.post("/api/v1/lti/platforms", json=platform.registration(key_set_url=None))
    assert neither.status_code == 422
    assert "either key_set_url or public_key" in neither.text
    bad_pem = client.post(
        "/api/v1/lti/platforms",
        json=platform.registration(key_set_url=None, public_key="not a key"),
    )
    assert bad_pem.status_code == 422
    assert "not a PEM public key" in bad_pem.text
    no_deployment = client.post(
        "/api/v1/lti/platforms", json=platform.registration(deployment_ids=[" "])
    )
    assert no_deployment.status_code == 422
    unknown_exam = client.post(
        "/api/v1/lti/platforms", json=platform.registration(default_exam_id=str(uuid.uuid4()))
    )
    assert unknown_exam.status_code == 409

    created = client.post("/api/v1/lti/platforms", json=platform.registration())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["deployment_ids"] == ["deployment-1"]
    assert body["default_exam_id"] is None
    twice = client.post("/api/v1/lti/platforms", json=platform.registration())
    assert twice.status_code == 409
    assert "already registered" in twice.json()["detail"]

    updated = client.put(
        f"/api/v1/lti/platforms/{body['id']}",
        json=platform.registration(
            deployment_ids=["deployment-1", "deployment-2"], default_exam_id=str(exam.id)
        ),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["deployment_ids"] == ["deployment-1", "deployment-2"]
    assert updated.json()["default_exam_id"] == str(exam.id)
    listed = client.get("/api/v1/lti/platforms").json()
    assert [row["id"] for row in listed] == [body["id"]]
    assert client.delete(f"/api/v1/lti/platforms/{body['id']}").status_code == 204
    assert client.get(f"/api/v1/lti/platforms/{body['id']}").status_code == 404

    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.target_id == body["id"])).all()
    assert sorted(actions) == ["lti.platform.create", "lti.platform.delete", "lti.platform.update"]

    token = client.post("/api/v1/tokens", json={"name": "t", "scopes": ["exams:write"]})
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token")
    refused = client.get(
        "/api/v1/lti/platforms", headers={"Authorization": f"Bearer {token.json()['token']}"}
    )
    assert refused.status_code == 403


def test_login_initiation_redirects_to_the_platform_with_state_and_nonce(
    registered: tuple[Platform, Exam], settings: Settings
) -> None:
    platform, _ = registered
    for method in ("GET", "POST"):
        response = platform.initiate(method)
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == platform.auth_url
        params = dict(parse_qsl(location.query))
        assert params["client_id"] == platform.client_id
        assert params["redirect_uri"] == f"{settings.public_url}/lti/launch"
        assert params["login_hint"] == "user-hint-42"
        assert params["lti_message_hint"] == "message-hint-7"
        assert params["scope"] == "openid"
        assert params["response_type"] == "id_token"
        assert params["response_mode"] == "form_post"
        assert params["prompt"] == "none"
        assert len(params["state"]) >= 32
        assert len(params["nonce"]) >= 32
        cookie = next(c for c in response.headers.get_list("set-cookie") if "op_lti_" in c)
        assert params["state"] in cookie
        assert "HttpOnly" in cookie
        assert "Path=/lti/" in cookie

    unknown = platform.initiate(iss="https://other-lms.example.edu")
    assert unknown.status_code == 403
    assert "no LTI platform is registered with issuer" in error_of(unknown)
    wrong_client = platform.initiate(client_id="someone-else")
    assert wrong_client.status_code == 403
    no_hint = platform.initiate(login_hint="")
    assert no_hint.status_code == 400
    assert error_of(no_hint) == "the login initiation has no login_hint"
    elsewhere = platform.initiate(target_link_uri="https://evil.example.com/lti/launch")
    assert elsewhere.status_code == 400
    assert "is not on this server" in error_of(elsewhere)
    deployment = platform.initiate(lti_deployment_id="deployment-9")
    assert deployment.status_code == 403
    assert "deployment 'deployment-9' is not registered" in error_of(deployment)


def test_a_learner_launch_lands_on_the_take_page_of_the_mapped_exam(
    registered: tuple[Platform, Exam], factory: Factory, db: Session
) -> None:
    platform, exam = registered
    response = platform.login_and_launch(sub="learner-1")
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/take/")
    candidate = db.scalar(select(Candidate).where(Candidate.exam_id == exam.id))
    assert candidate is not None
    assert location == f"/take/{candidate.invite_token}"
    assert candidate.external_id == f"lti:{platform.issuer}:learner-1"
    assert (candidate.name, candidate.email) == ("Ada Lovelace", "ada@uni.example.edu")
    assert any("op_lti_" in c and "Max-Age=0" in c for c in response.headers.get_list("set-cookie"))
    assert platform.client.get(location).status_code == 200

    # The same learner again: the same candidate. A learner without name or email gets
    # stand-ins. A custom parameter exam_id picks another exam for another activity.
    again = platform.login_and_launch(sub="learner-1")
    assert again.headers["location"] == location
    other_exam = factory.exam(title="Geometry final")
    nameless = platform.login_and_launch(
        sub="learner-2",
        name=None,
        email=None,
        **{
            CLAIM + "custom": {"exam_id": str(other_exam.id)},
            CLAIM + "resource_link": {"id": "link-2"},
        },
    )
    assert nameless.status_code == 303, nameless.text
    db.expire_all()
    second = db.scalar(select(Candidate).where(Candidate.exam_id == other_exam.id))
    assert second is not None
    assert nameless.headers["location"] == f"/take/{second.invite_token}"
    assert second.name == "Learner learner-2"
    assert second.email.endswith("@users.lti.example")
    assert len(db.scalars(select(Candidate).where(Candidate.exam_id == exam.id)).all()) == 1
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "lti.launch")).all()
    assert len(entries) == 3
    assert entries[0].details["role"] == "Learner"

    missing = platform.login_and_launch(
        sub="learner-3", **{CLAIM + "custom": {"exam_id": str(uuid.uuid4())}}
    )
    assert missing.status_code == 404
    assert "does not name an exam" in error_of(missing)


def test_an_instructor_launch_signs_in_on_the_proctor_wall(
    registered: tuple[Platform, Exam], db: Session
) -> None:
    platform, exam = registered
    assert platform.login_and_launch(sub="learner-1").status_code == 303

    response = platform.login_and_launch(
        sub="teacher-1", roles=[INSTRUCTOR], name="Grace Hopper", email="grace@uni.example.edu"
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/proctor/exams/{exam.id}"
    session_cookie = next(c for c in response.headers.get_list("set-cookie") if "op_session=" in c)
    assert "HttpOnly" in session_cookie
    wall = platform.client.get(response.headers["location"])
    assert wall.status_code == 200, wall.text
    me = platform.client.get("/api/v1/auth/me").json()
    assert (me["email"], me["name"], me["role"]) == (
        "grace@uni.example.edu",
        "Grace Hopper",
        "proctor",
    )
    # The learner who came before and the one who comes after are the instructor's.
    assert (
        platform.login_and_launch(sub="learner-2", email="bob@uni.example.edu").status_code == 303
    )
    db.expire_all()
    proctors = {c.external_id: c.proctor_id for c in db.scalars(select(Candidate))}
    assert proctors == {
        f"lti:{platform.issuer}:learner-1": uuid.UUID(me["id"]),
        f"lti:{platform.issuer}:learner-2": uuid.UUID(me["id"]),
    }
    # A second launch signs the same account in; it has no password to sign in with.
    platform.client.cookies.clear()
    again = platform.login_and_launch(sub="teacher-1", roles=[INSTRUCTOR], name="Grace Hopper")
    assert again.status_code == 303
    assert platform.client.get("/api/v1/auth/me").json()["id"] == me["id"]
    user = db.get(User, uuid.UUID(me["id"]))
    assert user is not None
    assert user.password_hash == ""
    bad_password = platform.client.post(
        "/api/v1/auth/login", json={"email": me["email"], "password": ""}
    )
    assert bad_password.status_code in (401, 403, 422)


def test_an_instructor_of_an_exam_without_learners_yet_is_told_so(
    registered: tuple[Platform, Exam],
) -> None:
    platform, exam = registered
    response = platform.login_and_launch(sub="teacher-1", roles=[INSTRUCTOR], email=None)
    assert response.status_code == 200, response.text
    assert 'data-testid="lti-instructor"' in response.text
    assert f"/proctor/exams/{exam.id}" in response.text
    me = platform.client.get("/api/v1/auth/me").json()
    assert me["role"] == "proctor"
    assert me["email"].endswith("@users.lti.example")


def test_tampered_or_replayed_launches_are_refused(
    registered: tuple[Platform, Exam], other_key: rsa.RSAPrivateKey, db: Session
) -> None:
    platform, _ = registered

    def refused(expected: str, **token: Any) -> None:
        status_code = token.pop("status_code", 400)
        response = platform.login_and_launch(**token)
        assert response.status_code == status_code, response.text
        assert expected in error_of(response)

    now = int(time.time())
    refused("signature does not verify with the platform's key", key=other_key)
    refused("not meant for this tool", aud="another-tool", azp=None)
    refused("azp 'another-tool' is not this tool's client id", azp="another-tool")
    refused("has expired", iat=now - 900, exp=now - 600)
    refused("issued in the future", iat=now + 900, exp=now + 1200)
    refused("nonce does not match this login", nonce="a-nonce-of-another-login")
    refused("issuer is not 'https://lms.example.edu'", iss="https://other-lms.example.edu")
    refused(
        "deployment 'deployment-9' is not registered",
        status_code=403,
        **{CLAIM + "deployment_id": "deployment-9"},
    )
    refused("LTI version is '1.1'", **{CLAIM + "version": "1.1"})
    refused("message type 'LtiSubmissionReview'", **{CLAIM + "message_type": "LtiSubmissionReview"})
    refused("no deep_linking_settings claim", **{CLAIM + "message_type": "LtiDeepLinkingRequest"})
    refused("has no sub claim", sub=None)
    refused("gives you no access", status_code=403, roles=[MENTOR])
    refused("has no key id 'unknown-kid'", headers={"kid": "unknown-kid"})

    # Missing state, a state this server never issued, and a browser without the cookie.
    auth = platform.login()
    token = platform.id_token(auth["nonce"])
    no_state = platform.client.post("/lti/launch", data={"id_token": token})
    assert no_state.status_code == 400
    assert "the launch has no state" in error_of(no_state)
    forged = platform.client.post(
        "/lti/launch", data={"id_token": token, "state": "state-never-issued"}
    )
    assert "state cookie is missing" in error_of(forged)
    platform.client.cookies.clear()
    no_cookie = platform.launch(token, auth["state"])
    assert no_cookie.status_code == 400
    assert "state cookie is missing" in error_of(no_cookie)

    # A good launch works once; replayed (even with the cookie put back) it is refused.
    auth = platform.login()
    cookies = dict(platform.client.cookies)
    token = platform.id_token(auth["nonce"])
    assert platform.launch(token, auth["state"]).status_code == 303
    for name, value in cookies.items():
        platform.client.cookies.set(name, value, path="/lti/")
    replayed = platform.launch(token, auth["state"])
    assert replayed.status_code == 400
    assert "already used" in error_of(replayed)

    # An alg other than RS256 never reaches key lookup.
    auth = platform.login()
    forged_hs = jwt.encode({"sub": "x", "nonce": auth["nonce"]}, "secret" * 6, algorithm="HS256")
    hs = platform.launch(forged_hs, auth["state"])
    assert "LTI needs RS256" in error_of(hs)
    assert db.scalars(select(Candidate)).all() != []


def test_a_platform_registered_with_a_public_key_and_the_tool_jwks(
    client: TestClient,
    factory: Factory,
    platform_key: rsa.RSAPrivateKey,
    jwks_server: Receiver,
    settings: Settings,
    db: Session,
) -> None:
    exam = factory.exam()
    platform = Platform(client, platform_key, jwks_server, settings.public_url)
    pem = platform_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    login(client, factory.user(Role.ADMIN))
    response = client.post(
        "/api/v1/lti/platforms",
        json=platform.registration(
            key_set_url=None, public_key=pem.decode(), default_exam_id=str(exam.id)
        ),
    )
    assert response.status_code == 201, response.text
    client.cookies.clear()
    launched = platform.login_and_launch()
    assert launched.status_code == 303, launched.text
    assert launched.headers["location"].startswith("/take/")

    first = client.get("/lti/jwks")
    assert first.status_code == 200
    keys = first.json()["keys"]
    assert len(keys) == 1
    assert (keys[0]["kty"], keys[0]["alg"], keys[0]["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in keys[0]
    assert client.get("/lti/jwks").json() == first.json()
    assert RSAAlgorithm.from_jwk(keys[0]).key_size == 2048


def test_the_admin_page_registers_edits_and_removes_platforms(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    platform_key: rsa.RSAPrivateKey,
    jwks_server: Receiver,
    settings: Settings,
) -> None:
    exam = factory.exam(title="Physics")
    login_as(factory.user(Role.ADMIN))
    csrf = client.headers["X-CSRF-Token"]
    page = client.get("/admin/lti")
    assert page.status_code == 200
    assert f"{settings.public_url}/lti/login" in page.text
    assert f"{settings.public_url}/lti/jwks" in page.text
    assert "Physics" in page.text

    platform = Platform(client, platform_key, jwks_server, settings.public_url)
    form = {
        "csrf_token": csrf,
        "name": "Canvas",
        "issuer": "https://canvas.example.edu",
        "client_id": "10000000000001",
        "auth_login_url": "https://canvas.example.edu/api/lti/authorize_redirect",
        "key_set_url": jwks_server.url + platform.jwks_path,
        "deployment_ids": "1:abc, 2:def",
        "default_exam_id": str(exam.id),
    }
    invalid = client.post("/admin/lti", data={**form, "auth_login_url": "not a url"})
    assert invalid.status_code == 422
    assert "auth_login_url" in invalid.text
    created = client.post("/admin/lti", data=form)
    assert created.status_code == 303, created.text
    listed = client.get("/api/v1/lti/platforms").json()
    assert [(p["name"], p["deployment_ids"]) for p in listed] == [("Canvas", ["1:abc", "2:def"])]
    platform_id = listed[0]["id"]
    assert "Canvas" in client.get("/admin/lti").text
    assert client.get(f"/admin/lti/{platform_id}").status_code == 200
    saved = client.post(f"/admin/lti/{platform_id}", data={**form, "name": "Canvas (prod)"})
    assert saved.status_code == 200
    assert client.get(f"/api/v1/lti/platforms/{platform_id}").json()["name"] == "Canvas (prod)"
    removed = client.post(f"/admin/lti/{platform_id}/delete", data={"csrf_token": csrf})
    assert removed.status_code == 303
    assert client.get("/api/v1/lti/platforms").json() == []


def test_over_https_the_login_cookie_comes_with_a_cross_site_launch(
    settings: Settings,
    factory: Factory,
    db: Session,
    platform_key: rsa.RSAPrivateKey,
    jwks_server: Receiver,
) -> None:
    """The launch is a form POST from the platform's site: only a SameSite=None; Secure
    cookie comes with it."""
    https = settings.model_copy(update={"public_url": "https://exams.example.com"})
    app = create_app(https)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        platform = Platform(client, platform_key, jwks_server, https.public_url)
        platform.serve_jwks()
        lti.create(
            db=db,
            platform_in=PlatformWrite.model_validate(
                platform.registration(default_exam_id=str(factory.exam().id))
            ),
            outbound_policy=https.outbound_policy,
        )
        db.commit()
        response = platform.initiate()
        assert response.status_code == 302, response.text
        params = dict(parse_qsl(urlsplit(response.headers["location"]).query))
        assert params["redirect_uri"] == "https://exams.example.com/lti/launch"
        cookie = next(c for c in response.headers.get_list("set-cookie") if "op_lti_" in c)
        assert "SameSite=none" in cookie
        assert "Secure" in cookie
        launched = platform.launch(platform.id_token(params["nonce"]), params["state"])
        assert launched.status_code == 303, launched.text
    app.state.context.engine.dispose()


@public_only
def test_key_set_urls_that_are_not_public_are_refused_when_saved(
    client: TestClient,
    factory: Factory,
    login_as: Callable[[User], TestClient],
    platform_key: rsa.RSAPrivateKey,
    jwks_server: Receiver,
    settings: Settings,
) -> None:
    login_as(factory.user(Role.ADMIN))
    platform = Platform(client, platform_key, jwks_server, settings.public_url)
    accepted = {}
    for url, reason in NON_PUBLIC_URLS:
        response = client.post("/api/v1/lti/platforms", json=platform.registration(key_set_url=url))
        if response.status_code != 422 or reason not in response.text:
            accepted[url] = f"{response.status_code} {response.text[:120]}"
    assert accepted == {}
    assert response.json()["detail"][0]["loc"] == ["body", "key_set_url"]
    assert client.get("/api/v1/lti/platforms").json() == []

    pem = platform_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with_pem = platform.registration(key_set_url=None, public_key=pem.decode())
    platform_id = client.post("/api/v1/lti/platforms", json=with_pem).json()["id"]
    metadata = {**with_pem, "public_key": None, "key_set_url": "http://[::1]/jwks"}
    edited = client.put(f"/api/v1/lti/platforms/{platform_id}", json=metadata)
    assert edited.status_code == 422
    assert "refused: loopback address" in edited.text
    form = {
        "name": "Canvas",
        "issuer": "https://canvas.example.edu",
        "client_id": "10000000000001",
        "auth_login_url": "https://canvas.example.edu/api/lti/authorize_redirect",
        "key_set_url": "http://169.254.169.254/latest/meta-data/",
        "deployment_ids": "1:abc",
    }
    page = client.post("/admin/lti", data=form)
    assert page.status_code == 422
    assert "key_set_url: refused: link-local address" in page.text
    page = client.post(
        f"/admin/lti/{platform_id}", data={**form, "key_set_url": "http://10.0.0.5/"}
    )
    assert page.status_code == 422
    assert "key_set_url: refused: private address" in page.text
    listed = client.get("/api/v1/lti/platforms").json()
    assert [(p["issuer"], p["key_set_url"]) for p in listed] == [(platform.issuer, None)]


@public_only
def test_a_stored_loopback_key_set_url_is_refused_at_launch_and_never_fetched(
    client: TestClient,
    factory: Factory,
    db: Session,
    platform_key: rsa.RSAPrivateKey,
    jwks_server: Receiver,
    settings: Settings,
) -> None:
    """The row is written past the save-time check (as DNS rebinding would get past it)."""
    platform = Platform(client, platform_key, jwks_server, settings.public_url)
    platform.serve_jwks()
    row = LtiPlatform(
        name="Moodle",
        issuer=platform.issuer,
        client_id=platform.client_id,
        auth_login_url=platform.auth_url,
        key_set_url=jwks_server.url + platform.jwks_path,
        deployment_ids=[platform.deployment_id],
        default_exam_id=factory.exam().id,
    )
    db.add(row)
    db.commit()
    launched = platform.login_and_launch()
    assert launched.status_code == 400, launched.text
    assert "is refused: loopback address" in error_of(launched)
    assert jwks_server.requests == []


def test_a_key_set_that_redirects_is_not_followed(
    client: TestClient,
    factory: Factory,
    platform_key: rsa.RSAPrivateKey,
    jwks_server: Receiver,
    settings: Settings,
) -> None:
    platform = Platform(client, platform_key, jwks_server, settings.public_url)
    platform.serve_jwks()
    jwks_server.redirects["/moved"] = jwks_server.url + platform.jwks_path
    login(client, factory.user(Role.ADMIN))
    registered = client.post(
        "/api/v1/lti/platforms",
        json=platform.registration(
            key_set_url=jwks_server.url + "/moved", default_exam_id=str(factory.exam().id)
        ),
    )
    assert registered.status_code == 201, registered.text
    client.cookies.clear()
    launched = platform.login_and_launch()
    assert launched.status_code == 400, launched.text
    assert "/moved answered HTTP 302" in error_of(launched)
    assert [request.path for request in jwks_server.requests] == ["/moved"]
