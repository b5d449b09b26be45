"""ASGI middleware: request metrics, request body limit, the CSRF cookie and security
headers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.routing import NoMatchFound, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openproctor.metrics import Metrics
from openproctor.security import CSRF_COOKIE, expected_csrf_token, new_token

# The label of requests no route took (404s, bodies refused before routing): one label for all
# of them, so that scanning for paths cannot grow the metrics without bound.
UNROUTED = "unrouted"


class RequestMetricsMiddleware:
    """Times every HTTP request and counts it by route template and status class. The router
    puts the route it chose in the scope, which is the same dict this middleware holds."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = scope.get("root_path", "")
        status = 500  # an exception that escapes becomes a 500 further out

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, status_send)
        finally:
            route = route_template(scope, root_path)
            method = scope["method"]
            self.metrics.request_seconds.labels(method, route).observe(
                time.perf_counter() - started
            )
            self.metrics.requests.labels(method, route, f"{status // 100}xx").inc()


def route_template(scope: Scope, root_path: str) -> str:
    """The path template of the route that took the request, prefixes included; root_path is
    the scope's before routing. A route of an included router knows only its own part
    (`/sessions/{session_id}`), so the prefix is what the path holds before that part."""
    route = scope.get("route")
    if not isinstance(route, Route):
        # A mount (/static) adds its path to the root path; no route at all adds nothing.
        mounted: str = scope.get("root_path", "")
        return mounted.removeprefix(root_path) or UNROUTED
    try:
        own_part = route.url_path_for(route.name, **scope.get("path_params", {}))
    except NoMatchFound:
        return route.path
    path: str = scope["path"]
    prefix = path.removesuffix(own_part) if path.endswith(own_part) else ""
    return prefix + route.path


class BodyTooLarge(HTTPException):
    """Raised while a body without a declared length arrives. An HTTPException, because
    FastAPI's body parsing passes those on and turns any other error into a bare 400."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large(max_bytes))


def _too_large(max_bytes: int) -> str:
    return f"request body larger than {max_bytes} bytes"


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413, by declared length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": _too_large(self.max_bytes)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class CsrfCookieMiddleware:
    """Gives every browser a random op_csrf cookie and puts the CSRF token the pages echo back
    in forms and headers in request.state.csrf_token: for signed-in staff it is bound to their
    session (security.expected_csrf_token), so it changes at every sign-in."""

    def __init__(self, app: ASGIApp, secure: bool, secret_key: str) -> None:
        self.app = app
        self.secure = secure
        self.secret_key = secret_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Starlette's own parser, so that this reads the cookies request.cookies reads.
        cookies = cookie_parser(dict(scope["headers"]).get(b"cookie", b"").decode("latin-1"))
        new_cookie = None if cookies.get(CSRF_COOKIE) else new_token()
        expected = expected_csrf_token(self.secret_key, cookies)
        scope.setdefault("state", {})["csrf_token"] = expected or new_cookie

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and new_cookie is not None:
                headers = MutableHeaders(scope=message)
                secure = "; Secure" if self.secure else ""
                headers.append(
                    "set-cookie",
                    f"{CSRF_COOKIE}={new_cookie}; Path=/; HttpOnly; SameSite=Lax{secure}",
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)


# Pages run only our own ES modules and stylesheet: no inline script, style or handler, so a
# string that slips into a page cannot run. blob: carries the wall's webcam pictures; media
# may come from the object store's presigned links (see media_sources()).
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:{media}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'{forms}; frame-ancestors 'none'"
)
# The API docs pages (web/api_docs.py) load their bundles from this server. Swagger UI starts
# with one inline script, allowed by its hash; both set styles inline (ReDoc writes <style>
# elements), and ReDoc runs its search in a worker made from a blob: URL.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src blob:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# The candidate page needs the camera, microphone, screen and fullscreen; nothing needs more.
PERMISSIONS_POLICY = (
    "camera=(self), microphone=(self), display-capture=(self), fullscreen=(self), "
    "geolocation=(), payment=(), usb=(), accelerometer=(), gyroscope=(), magnetometer=()"
)
HSTS = "max-age=31536000"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_policy(media_origins: str = "", form_origins: str = "") -> str:
    """`form_origins`: where a page's forms may post besides this server (the LTI hand-back
    page posts to the learning platform)."""
    return PAGE_POLICY.format(
        media=f" {media_origins}" if media_origins else "",
        forms=f" {form_origins}" if form_origins else "",
    )


def docs_policy(html: str) -> str:
    """The docs page's policy, allowing exactly the inline scripts of this HTML."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return DOCS_POLICY.format(hashes=hashes)


class SecurityHeadersMiddleware:
    """Adds CSP, nosniff, framing, referrer, permissions (and HSTS behind https) to every
    response; a response that brings its own Content-Security-Policy keeps it."""

    def __init__(self, app: ASGIApp, content_security_policy: str, hsts: bool) -> None:
        self.app = app
        self.headers = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            # Invite tokens are in page URLs: never send them to another site.
            ("Referrer-Policy", "no-referrer"),
            ("Permissions-Policy", PERMISSIONS_POLICY),
        ]
        if hsts:
            self.headers.append(("Strict-Transport-Security", HSTS))
        self.content_security_policy = content_security_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = self.content_security_policy
            await send(message)

        await self.app(scope, receive, send_with_headers)
