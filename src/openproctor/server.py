"""How `openproctor serve` runs uvicorn: read timeouts, keep-alive, a concurrency limit and
credential-free logs, all from settings.

uvicorn has no timeout for a request's headers or body: a client that opens a connection and
sends a request line a byte at a time (slowloris) holds the connection for ever. The protocol
below closes it, with 408, when the headers (or the body) take longer than the setting.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from openproctor.logs import log_config
from openproctor.public_url import reach_warnings
from openproctor.settings import Settings

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 24\r\nconnection: close\r\n\r\nrequest read timed out.\n"
)


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for the headers (from the connection or
    from the next request's first byte) and one for the body (from the end of the headers)."""

    header_timeout_s = 10.0
    body_timeout_s = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_body = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        headers = dict(self.headers)
        has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or (
            b"transfer-encoding" in headers
        )
        if has_body and not (self.parser.should_upgrade() and self._should_upgrade()):
            self._arm(self.body_timeout_s)
            self._reading_body = True

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        self._reading_body = False
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        answering = self._reading_body and self.cycle.response_started
        self._deadline = None
        self._reading_body = False
        if self.transport.is_closing():
            return
        # A request whose answer has begun is cut short; otherwise the client is told why.
        if not answering:
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


def uvicorn_config(
    app: Any,
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str = "info",
) -> uvicorn.Config:
    """The server `openproctor serve` runs (tests start the same one)."""
    protocol = type(
        "TimedHttpProtocol",
        (TimedHttpProtocol,),
        {
            "header_timeout_s": settings.header_timeout_s,
            "body_timeout_s": settings.body_timeout_s,
        },
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        timeout_keep_alive=settings.keepalive_timeout_s,
        limit_concurrency=settings.max_connections,
        log_config=log_config(log_level),
        log_level=log_level,
        proxy_headers=True,
        # Only these may say who the client is (X-Forwarded-For): request.client.host, which
        # the login limits and logs read, is then the client's address, not the proxy's.
        forwarded_allow_ips=settings.trusted_proxies,
        # Frames are JPEG: deflating them again costs both sides CPU and saves nothing.
        ws_per_message_deflate=False,
    )


def warn_unreachable_links(settings: Settings, *, host: str, port: int) -> list[str]:
    """Logs (to the console too) each reason the links the server hands out would not reach it;
    call after uvicorn_config, which sets up logging. Trusted proxies set by the operator mean a
    proxy answers for the public URL."""
    behind_proxy = "trusted_proxies" in settings.model_fields_set
    problems = reach_warnings(settings.public_url, host=host, port=port, behind_proxy=behind_proxy)
    for problem in problems:
        log.warning("candidates may not be able to open the links: %s", problem)
    return problems
