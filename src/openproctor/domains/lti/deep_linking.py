"""Deep Linking 2.0 (LTI-DL 2.0): the instructor's pending request, carried signed in the
picker's form between the launch and their choice, and the LtiDeepLinkingResponse the tool
posts back to the platform (a JWT signed with the tool's key) with one ltiResourceLink.

Nothing here touches the database or the network.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from openproctor.domains.lti.launch import (
    RESOURCE_LINK_ITEM,
    LaunchError,
    tool_message,
)
from openproctor.domains.lti.links import EXAM_PARAMETER
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey
from openproctor.security import signed, unsigned

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
CONTENT_ITEMS = DL_CLAIM + "content_items"
DATA = DL_CLAIM + "data"
MESSAGE = DL_CLAIM + "msg"
RESPONSE_TYPE = "LtiDeepLinkingResponse"
# How long the instructor has to choose, and how long the platform accepts the answer.
PENDING_LIFETIME = timedelta(hours=1)
RESPONSE_LIFETIME_S = 600
_PURPOSE = "lti-deep-link"
# An origin that can go into a CSP source list as it is (no spaces, quotes or semicolons).
_PLAIN_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")


def return_origin(return_url: str) -> str:
    """The origin of the platform's deep_link_return_url: the one place besides this server
    the answer's page may post a form to. LaunchError for an address that has none."""
    parts = urlsplit(return_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if not _PLAIN_ORIGIN.fullmatch(origin):
        raise LaunchError(f"the course's return address {return_url!r} cannot be used")
    return origin


@dataclass(frozen=True)
class PendingDeepLink:
    """A deep linking request waiting for an instructor's choice."""

    platform_id: uuid.UUID
    user_id: uuid.UUID
    deployment_id: str
    return_url: str
    data: object
    expires_at: datetime

    def seal(self, secret_key: str) -> str:
        """The request as a token for the picker's form: readable, but not changeable."""
        document = {
            "platform_id": str(self.platform_id),
            "user_id": str(self.user_id),
            "deployment_id": self.deployment_id,
            "return_url": self.return_url,
            "data": self.data,
            "expires_at": self.expires_at.isoformat(),
        }
        packed = base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")
        return signed(secret_key, _PURPOSE, packed)

    @classmethod
    def unseal(cls, token: str, *, secret_key: str, now: datetime) -> PendingDeepLink:
        """The request of a sealed token; LaunchError if it was changed or is too old."""
        packed = unsigned(secret_key, _PURPOSE, token)
        if packed is None:
            raise LaunchError("this choice is not one OpenProctor offered; start it again", 403)
        try:
            document: dict[str, Any] = json.loads(
                base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
            )
            pending = cls(
                platform_id=uuid.UUID(document["platform_id"]),
                user_id=uuid.UUID(document["user_id"]),
                deployment_id=str(document["deployment_id"]),
                return_url=str(document["return_url"]),
                data=document.get("data"),
                expires_at=datetime.fromisoformat(document["expires_at"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise LaunchError("this choice cannot be read; start it again", 400) from None
        if pending.expires_at <= now:
            raise LaunchError(
                "this page was open too long: add the activity again from your course", 400
            )
        return pending


def resource_link_item(*, title: str, exam_id: uuid.UUID, launch_url: str) -> dict[str, Any]:
    """The content item for an exam: our launch URL, the exam named in its custom parameter,
    opened in a new window (a framed page loses its cookies in most browsers)."""
    return {
        "type": RESOURCE_LINK_ITEM,
        "title": title,
        "url": launch_url,
        "custom": {EXAM_PARAMETER: str(exam_id)},
        "window": {"targetName": "_blank"},
    }


def response_jwt(
    *,
    platform: LtiPlatform,
    pending: PendingDeepLink,
    items: list[dict[str, Any]],
    message: str,
    signing_key: LtiToolKey,
    now: datetime,
) -> str:
    """The LtiDeepLinkingResponse (LTI-DL 2.0 section 4.5): from the tool (iss = client id) to
    the platform (aud = its issuer), the request's data echoed."""
    claims: dict[str, Any] = {CONTENT_ITEMS: items, MESSAGE: message}
    if pending.data is not None:
        claims[DATA] = pending.data
    return tool_message(
        platform=platform,
        signing_key=signing_key,
        message_type=RESPONSE_TYPE,
        deployment_id=pending.deployment_id,
        issued_at=int(now.timestamp()),
        lifetime_s=RESPONSE_LIFETIME_S,
        claims=claims,
    )
