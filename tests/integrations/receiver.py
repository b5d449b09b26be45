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

RECEIVER_NETWORK = "127.0.0.1/32"


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
    statuses: list[int] | None = None, path_statuses: dict[str, list[int]] | None = None
) -> Iterator[Receiver]:
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
