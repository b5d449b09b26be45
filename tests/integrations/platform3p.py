"""A learning platform played by a third-party LTI 1.3 implementation (lti1p3platform, MIT),
so that our reading of the specifications is checked against someone else's: its
registration signs the id_tokens, its OIDC login builds the login initiation, its message
launch checks our authentication request and builds the launch (deep linking included), and
its own code validates what the tool sends back (deep linking responses, access token
requests).

    platform = ThirdPartyPlatform.make(client, public_url)
    platform.register(admin_client)           # through our API, as an admin would
    response = platform.launch(user_id="u1", roles=[LEARNER], resource_link_id="l1")

Other tests use `platform.conf` directly (e.g. `conf.get_access_token(form)` for AGS/NRPS).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from httpx2 import Response
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
AUTH_URL = "https://lms.example.org/auth"
DEEP_LINK_RETURN_URL = "https://lms.example.org/deep-link-return"


class PlatformConf(LTI1P3PlatformConfAbstract):
    """lti1p3platform's platform configuration, holding one registration (our tool)."""

    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _AuthRequest(Request):
    """The tool's OIDC authentication request, as lti1p3platform reads a request."""

    def build_metadata(self, request: Any) -> TRequest:
        return {"method": "GET", "get_data": request, "form_data": {}, "path": "/auth"}


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return launch_data


def _pem(key: rsa.RSAPrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class ThirdPartyPlatform:
    client: TestClient | None  # None: a browser plays the user (tests/web)
    public_url: str
    conf: PlatformConf
    registration: Registration
    public_key_pem: str
    name: str = "Third-party LMS"
    # The platform's OIDC authentication endpoint (a browser test serves it on the tool's
    # origin: over plain http the state cookie only comes with a same-site launch).
    auth_url: str = AUTH_URL

    @classmethod
    def make(
        cls,
        client: TestClient | None,
        public_url: str,
        *,
        issuer: str = "https://lms.example.org",
        client_id: str | None = None,
        deployment_id: str = "1",
        key: rsa.RSAPrivateKey | None = None,
        auth_url: str = AUTH_URL,
    ) -> ThirdPartyPlatform:
        private, public = _pem(
            key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        registration = (
            Registration()
            .set_iss(issuer)
            .set_client_id(client_id or f"tool-{uuid.uuid4().hex[:8]}")
            .set_deployment_id(deployment_id)
            .set_oidc_login_url(f"{public_url}/lti/login")
            .set_launch_url(f"{public_url}/lti/launch")
            .set_deeplink_launch_url(f"{public_url}/lti/launch")
            .set_platform_private_key(private)
            .set_platform_public_key(public)
        )
        conf = PlatformConf(registration=registration)
        return cls(client, public_url, conf, registration, public, auth_url=auth_url)

    def registration_document(self, **fields: Any) -> dict[str, Any]:
        """What an admin enters on /admin/lti for this platform."""
        return {
            "name": self.name,
            "issuer": self.registration.get_iss(),
            "client_id": self.registration.get_client_id(),
            "auth_login_url": self.auth_url,
            "public_key": self.public_key_pem,
            "deployment_ids": [self.registration.get_deployment_id()],
            **fields,
        }

    def register(self, admin: TestClient, **fields: Any) -> str:
        """Registers the platform through our API with a signed-in admin's client; its id."""
        response = admin.post("/api/v1/lti/platforms", json=self.registration_document(**fields))
        assert response.status_code == 201, response.text
        # The tool's public keys, as the platform keeps them to check what the tool signs.
        self.registration.set_tool_key_set(admin.get("/lti/jwks").json())
        platform_id: str = response.json()["id"]
        return platform_id

    def _http(self) -> TestClient:
        assert self.client is not None, "a browser plays this platform's user"
        return self.client

    def _path(self, url: str) -> str:
        assert url.startswith(self.public_url), url
        return url.removeprefix(self.public_url)

    def initiation_url(self, user_id: str, *, deep_linking: bool) -> str:
        """lti1p3platform's login initiation URL (our /lti/login with its parameters)."""
        login = _Login(None, self.conf)
        login.set_lti_message_hint(hint="deep-link" if deep_linking else "resource-link")
        if deep_linking:
            login.set_deeplinking_launch_url()
        url: str = login.initiate_login(user_id)
        return url

    def launch_form(
        self,
        auth_request: dict[str, str],
        *,
        user_id: str,
        roles: list[str],
        resource_link_id: str | None = None,
        custom: dict[str, str] | None = None,
        deep_link_data: object = None,
        name: str = "Grace Hopper",
        email: str | None = None,
    ) -> dict[str, str]:
        """lti1p3platform's answer to our authentication request (it checks the request):
        the launch form's fields and where it posts them (id_token, state, launch_url). A
        deep linking request when resource_link_id is None."""
        message = _Launch(_AuthRequest(auth_request), self.conf)
        message.set_user_data(user_id, roles, full_name=name, email_address=email)
        message.set_launch_context_claim("course-1", context_title="Chemistry 101")
        if custom:
            message.set_custom_parameters_claim(custom)
        if resource_link_id is None:
            # Its signature says a dict; the specification allows any opaque value.
            message.set_dl(
                DEEP_LINK_RETURN_URL, accept_types={"ltiResourceLink"}, extra_data=deep_link_data
            )
        else:
            message.set_resource_link_claim(resource_link_id, title="Final exam")
        form: dict[str, str] = message.lti_launch()
        return form

    def launch(
        self,
        *,
        user_id: str,
        roles: list[str],
        resource_link_id: str | None = None,
        tamper: Callable[[str], str] | None = None,
        **claims: Any,
    ) -> Response:
        """Login initiation, our redirect to the platform's authentication endpoint, and the
        launch it posts back (launch_form's `claims`); `tamper` changes the signed id_token
        on its way. Returns our answer to the launch."""
        initiation = self.initiation_url(user_id, deep_linking=resource_link_id is None)
        redirect = self._http().get(self._path(initiation))
        assert redirect.status_code == 302, redirect.text
        location = urlsplit(redirect.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.auth_url
        auth_request = dict(parse_qsl(location.query))
        assert auth_request["login_hint"] == user_id
        form = self.launch_form(
            auth_request,
            user_id=user_id,
            roles=roles,
            resource_link_id=resource_link_id,
            **claims,
        )
        id_token = tamper(form["id_token"]) if tamper else form["id_token"]
        return self._http().post(
            self._path(form["launch_url"]), data={"id_token": id_token, "state": form["state"]}
        )

    def deep_link_items(self, response_jwt: str) -> list[dict[str, Any]]:
        """lti1p3platform's own validation of a deep linking response: the content items."""
        return self.conf.validate_deeplinking_resp({"JWT": response_jwt})
