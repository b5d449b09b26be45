"""`openproctor serve`'s limits on a real server: connections that never finish their headers
or their body are closed on time (slowloris), idle keep-alive connections too, and past the
concurrency limit new requests get 503, while a normal request still succeeds."""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from contextlib import ExitStack

import httpx2

from openproctor.settings import Settings
from tests.conftest import serving

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 2.0
KEEPALIVE_TIMEOUT_S = 1
SLACK_S = 1.0
PARTIAL_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
SLOW_BODY = (
    b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n"
    b"Content-Type: application/json\r\n\r\n"
)
FULL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
TIMED_OUT = b"HTTP/1.1 408 "


def limited(settings: Settings, **limits: object) -> Settings:
    return settings.model_copy(
        update={
            "header_timeout_s": HEADER_TIMEOUT_S,
            "body_timeout_s": BODY_TIMEOUT_S,
            "keepalive_timeout_s": KEEPALIVE_TIMEOUT_S,
            **limits,
        }
    )


def connections(base_url: str, stack: ExitStack, count: int, send: bytes) -> list[socket.socket]:
    port = int(base_url.rsplit(":", 1)[1])
    opened = []
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
        sock.sendall(send)
        opened.append(sock)
    return opened


def answered(sock: socket.socket) -> bytes:
    """The whole answer to FULL_REQUEST (its body is one JSON object)."""
    answer = b""
    while not answer.endswith(b"}"):
        answer += sock.recv(4096)
    return answer


class Watch:
    """Reads every socket until the server closes it, sending one more body byte a second on
    the trickling ones meanwhile (a body slower than the timeout)."""

    def __init__(
        self, groups: dict[str, list[socket.socket]], trickling: str | None = None
    ) -> None:
        self.selector = selectors.DefaultSelector()
        self.received: dict[socket.socket, bytes] = {}
        self.groups = groups
        self.trickling = trickling
        for name, opened in groups.items():
            for sock in opened:
                self.selector.register(sock, selectors.EVENT_READ, name)
                self.received[sock] = b""
        self.started = time.monotonic()
        # group -> (seconds until closed, what the server sent) per socket
        self.closed: dict[str, list[tuple[float, bytes]]] = {name: [] for name in groups}

    def run(self, within_s: float) -> None:
        next_byte = self.started + 0.5
        while self.selector.get_map() and time.monotonic() - self.started < within_s:
            for key, _ in self.selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(4096)
                except ConnectionResetError:
                    data = b""
                self.received[sock] += data
                if not data:
                    self.selector.unregister(sock)
                    elapsed = time.monotonic() - self.started
                    self.closed[key.data].append((elapsed, self.received[sock]))
            if time.monotonic() >= next_byte:
                next_byte += 1.0
                for sock in self.groups.get(self.trickling or "", []):
                    if sock in self.received and not self.received[sock]:
                        # Closed by the server: the reader sees that.
                        with contextlib.suppress(OSError):
                            sock.send(b"x")
        self.selector.close()


def test_half_sent_requests_are_closed_on_time_while_others_are_served(
    settings: Settings,
) -> None:
    with serving(limited(settings)) as base_url, ExitStack() as stack:
        kept_alive = connections(base_url, stack, 5, FULL_REQUEST)
        for sock in kept_alive:
            assert answered(sock).startswith(b"HTTP/1.1 200 ")
            sock.sendall(b"GET /heal")  # the next request, never finished
        groups = {
            "silent": connections(base_url, stack, 10, b""),
            "headers": connections(base_url, stack, 50, PARTIAL_HEADERS),
            "body": connections(base_url, stack, 20, SLOW_BODY + b"x"),
            "second request": kept_alive,
        }
        watch = Watch(groups, trickling="body")
        with httpx2.Client(base_url=base_url) as http:
            assert http.get("/healthz").status_code == 200  # not held up by 85 stuck sockets
        watch.run(within_s=BODY_TIMEOUT_S + 5)
        for name, deadline in (
            ("silent", HEADER_TIMEOUT_S),
            ("headers", HEADER_TIMEOUT_S),
            ("second request", HEADER_TIMEOUT_S),
            ("body", BODY_TIMEOUT_S),
        ):
            closed = watch.closed[name]
            assert len(closed) == len(groups[name]), f"{name}: some stayed open"
            latest = max(seconds for seconds, _ in closed)
            assert latest < deadline + SLACK_S, f"{name}: closed after {latest:.1f} s"
            assert all(sent.startswith(TIMED_OUT) for _, sent in closed), name
        with httpx2.Client(base_url=base_url) as http:
            assert http.get("/healthz").status_code == 200


def test_an_idle_keep_alive_connection_is_closed_after_the_setting(settings: Settings) -> None:
    with serving(limited(settings)) as base_url, ExitStack() as stack:
        [sock] = connections(base_url, stack, 1, FULL_REQUEST)
        assert answered(sock).startswith(b"HTTP/1.1 200 ")
        watch = Watch({"idle": [sock]})
        watch.run(within_s=10)
        [(seconds, _)] = watch.closed["idle"]
        assert KEEPALIVE_TIMEOUT_S - 0.2 < seconds < KEEPALIVE_TIMEOUT_S + SLACK_S


def test_past_the_concurrency_limit_new_requests_get_503(settings: Settings) -> None:
    with serving(limited(settings, max_connections=3)) as base_url, ExitStack() as stack:
        held = connections(base_url, stack, 3, PARTIAL_HEADERS)
        with httpx2.Client(base_url=base_url) as http:
            assert http.get("/healthz").status_code == 503
            Watch({"held": held}).run(within_s=HEADER_TIMEOUT_S + 3)
            assert http.get("/healthz").status_code == 200
