"""A real HTTP receiver on a free loopback port, in a thread: records what it gets and
answers with the status codes it is given (then 200).

The server sends to loopback only where the deployment allows it: tests that deliver here
are marked `outbound_allow(RECEIVER_NETWORK)`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

RECEIVER_NETWORK = "127.0.0.1/32"
# The default (no internal receiver allowed), for a test in a module that allows loopback.
public_only = pytest.mark.outbound_allow("")

# One URL per kind of address the server must not send to, and the reason it gives. Each is
# refused before any connection is made: nothing here is ever dialled.
NON_PUBLIC_URLS = [
    ("http://127.0.0.1:9/hook", "loopback address"),
    ("http://localhost:9/hook", "loopback address"),
    ("http://[::1]:9/hook", "loopback address"),
    ("http://2130706433/hook", "loopback address"),  # 127.0.0.1 as one number
    ("http://169.254.169.254/latest/meta-data/", "link-local address"),
    ("http://[fe80::1]/hook", "link-local address"),
    ("http://10.0.0.5/hook", "private address"),
    ("http://172.16.3.4/hook", "private address"),
    ("http://192.168.1.10/hook", "private address"),
    ("http://[fd12:3456::1]/hook", "unique-local address"),
    ("http://100.64.0.1/hook", "shared (CGNAT) address"),
    ("http://0.0.0.0/hook", "unspecified address"),
    ("http://[::]/hook", "unspecified address"),
    ("http://224.0.0.1/hook", "multicast address"),
    ("http://240.0.0.1/hook", "reserved address"),
    ("http://[::ffff:169.254.169.254]/hook", "link-local address"),  # IPv4-mapped
    ("http://[2002:a9fe:a9fe::1]/hook", "link-local address"),  # 6to4
    ("http://[64:ff9b::a9fe:a9fe]/hook", "link-local address"),  # NAT64
    ("http://[64:ff9b::7f00:1]/hook", "loopback address"),  # NAT64
    ("http://user:secret@example.com/hook", "credentials in the URL are not allowed"),
]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)
    # Per path, before the shared list: path -> status codes to answer in turn.
    path_statuses: dict[str, list[int]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    # Extra routes: path -> (status, content type, body), e.g. a JWKS document.
    documents: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    # Paths answered (GET or POST) with a 302 to another URL.
    redirects: dict[str, str] = field(default_factory=dict)
    # What a POST is answered with.
    reply: bytes = b"ok"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")


@contextmanager
def receiver(
    statuses: list[int] | None = None,
    path_statuses: dict[str, list[int]] | None = None,
    port: int = 0,
) -> Iterator[Receiver]:
    """port: a given one (e.g. a receiver's that was closed, to come back where it was)."""
    state = Receiver(url="", statuses=list(statuses or []), path_statuses=path_statuses or {})

    class Handler(BaseHTTPRequestHandler):
        def _received(self, body: bytes) -> None:
            with state.lock:
                state.requests.append(
                    Received(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )

        def _redirect(self) -> bool:
            location = state.redirects.get(self.path)
            if location is not None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            return location is not None

        def do_GET(self) -> None:
            self._received(b"")
            if self._redirect():
                return
            status, content_type, body = state.documents.get(
                self.path, (404, "text/plain", b"not found")
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._received(self.rfile.read(length))
            if self._redirect():
                return
            with state.lock:
                queued = state.path_statuses.get(self.path) or state.statuses
                status = queued.pop(0) if queued else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(state.reply)))
            self.end_headers()
            self.wfile.write(state.reply)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
