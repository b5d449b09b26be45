"""One request to a platform service (line items, scores, memberships) with a bearer token,
through the outbound policy, its answer read up to a limit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from openproctor import outbound
from openproctor.domains.lti.access import PlatformServiceError
from openproctor.domains.lti.keys import read_at_most
from openproctor.outbound import OutboundPolicy, OutboundRefused

ANSWER_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: bytes
    link_header: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self, what: str) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            raise PlatformServiceError(f"the platform's {what} is not JSON") from None


def call(
    client: httpx.Client,
    policy: OutboundPolicy,
    method: str,
    url: str,
    *,
    token: str,
    accept: str,
    what: str,
    content_type: str | None = None,
    body: Any = None,
) -> Answer:
    """Raises PlatformServiceError when the request cannot be made (`what` names the
    service in the message); any HTTP answer is returned."""
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    content = None
    if body is not None and content_type is not None:
        headers["Content-Type"] = content_type
        content = json.dumps(body).encode()
    try:
        with policy.stream(client, method, url, headers=headers, content=content) as response:
            read = read_at_most(response, ANSWER_MAX_BYTES + 1)
            answer = Answer(response.status_code, read, response.headers.get("link", ""))
    except OutboundRefused as refusal:
        raise PlatformServiceError(
            f"the platform's {what} {url} is refused: {refusal.reason}"
        ) from None
    except httpx.HTTPError as error:
        raise PlatformServiceError(
            f"could not reach the platform's {what} {url}: {outbound.describe_failure(error)}"
        ) from None
    if len(answer.content) > ANSWER_MAX_BYTES:
        raise PlatformServiceError(f"the platform's {what} answered more than 4 MiB")
    return answer


def next_page(link_header: str) -> str | None:
    """The rel="next" URL of a Link header (RFC 8288), if any."""
    for part in link_header.split(","):
        target, _, params = part.strip().partition(">")
        if not target.startswith("<"):
            continue
        rels = [p.strip() for p in params.split(";") if p.strip().startswith("rel=")]
        if any("next" in rel.split("=", 1)[1].strip('"').split() for rel in rels):
            return target[1:]
    return None
