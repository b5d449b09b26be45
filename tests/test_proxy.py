"""deploy/nginx/openproctor.conf run for real: Debian's nginx, with TLS, in front of two web nodes
sharing PostgreSQL and Redis, carries the candidate's pages, uploads and socket and the
proctor's socket, and hands on each client's own address, so the login lock-out locks one
client and not everyone behind the proxy."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect

from openproctor.domains.recordings.service import MAX_CHUNK_BYTES
from openproctor.domains.users.models import LoginAttempt, Role, StaffSession
from openproctor.domains.users.service import IP_FAILURE_FACTOR
from openproctor.settings import Settings
from tests.conftest import PASSWORD, Factory, serving
from tests.live.clients import running_session
from tests.servers import free_port, nginx_server, redis_server

pytestmark = pytest.mark.parametrize("database_kind", ["postgresql"])  # as scale-out runs

NGINX_SITE = Path(__file__).parent.parent / "deploy" / "nginx" / "openproctor.conf"
# nginx reaches the nodes from this address, the only proxy they trust (not the default).
PROXY_ADDRESS = "127.0.0.9"
# Two clients on two addresses of this machine, as two candidates' or staff members' homes.
GUESSER, COLLEAGUE = "127.0.0.2", "127.0.0.3"


@dataclass
class Proxy:
    url: str  # https://127.0.0.1:port
    redirect_url: str  # the plain-HTTP port, which only redirects
    tls: ssl.SSLContext  # trusts the test's self-signed certificate
    log_dir: Path
    settings: Settings
    nodes: list[str]  # host:port of the two web nodes

    @contextmanager
    def browser(self, source: str) -> Iterator[httpx2.Client]:
        """A client connecting from `source`, holding cookies and the CSRF token like a page."""
        transport = httpx2.HTTPTransport(verify=self.tls, local_address=source)
        # Signing in hashes with argon2, slow on a loaded machine: more than httpx's 5 s.
        with httpx2.Client(base_url=self.url, transport=transport, timeout=30) as client:
            csrf = client.get("/api/v1/auth/csrf").json()["csrf_token"]
            client.headers["X-CSRF-Token"] = csrf
            yield client

    def socket(self, path: str, source: str, cookies: str = "") -> Any:
        """A browser's WebSocket from `source`: wss://, with the page's Origin."""
        return connect(
            self.url.replace("https://", "wss://") + path,
            ssl=self.tls,
            origin=self.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": cookies} if cookies else None,
            local_addr=(source, 0),
            open_timeout=30,  # the nodes answer slowly on a loaded test machine
        )


def site_for_test(site: str, nodes: list[str], https_port: int, http_port: int) -> str:
    """The shipped site with only its marked lines changed: loopback ports, two nodes, the
    test's certificate. Each marker must be where the test expects, so a reshaped file fails
    here rather than being tested half."""
    replacements = {
        "# web node": ["\n".join(f"    server {node};" for node in nodes)],
        "# redirect": [f"    listen 127.0.0.1:{http_port};", ""],
        "# listen": [f"    listen 127.0.0.1:{https_port} ssl http2;", ""],
        "# certificate": ["    ssl_certificate tls.crt;"],
        "# key": ["    ssl_certificate_key tls.key;"],
    }
    lines = []
    for line in site.splitlines():
        marker = next((m for m in replacements if line.endswith(m)), None)
        lines.append(replacements[marker].pop(0) if marker else line)
    assert all(not left for left in replacements.values()), replacements
    return "\n".join(lines) + "\n"


def self_signed_certificate(directory: Path) -> dict[str, bytes]:
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    output = ["-keyout", str(directory / "tls.key"), "-out", str(directory / "tls.crt")]
    subprocess.run(
        ["openssl", *request, *subject, *output],
        check=True,
        capture_output=True,
    )
    return {name: (directory / name).read_bytes() for name in ("tls.crt", "tls.key")}


@pytest.fixture
def proxy(settings: Settings, tmp_path: Path) -> Iterator[Proxy]:
    tls_files = self_signed_certificate(tmp_path)
    tls = ssl.create_default_context(cadata=tls_files["tls.crt"].decode())
    with redis_server() as redis:
        scaled = settings.model_copy(
            update={"redis_url": redis.url, "trusted_proxies": [PROXY_ADDRESS]}
        )
        with serving(scaled) as node_a, serving(scaled) as node_b:
            https_port, http_port = free_port(), free_port()
            nodes = [url.removeprefix("http://") for url in (node_a, node_b)]
            site = site_for_test(NGINX_SITE.read_text(), nodes, https_port, http_port)
            # Logs which node answered; nginx binds its side of each node connection here.
            http_context = (
                "log_format nodes '$remote_addr $upstream_addr $request';\n"
                "    access_log nodes.log nodes;\n"
                f"    proxy_bind {PROXY_ADDRESS};"
            )
            ports = [https_port, http_port]
            with nginx_server(site, ports, tls_files, http_context) as log_dir:
                yield Proxy(
                    f"https://127.0.0.1:{https_port}",
                    f"http://127.0.0.1:{http_port}",
                    tls,
                    log_dir,
                    scaled,
                    nodes,
                )


def sign_in(client: httpx2.Client, email: str, password: str = PASSWORD) -> httpx2.Response:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def next_event(socket: ClientConnection, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            raw = await socket.recv()
            if isinstance(raw, str) and (event := json.loads(raw))["type"] == kind:
                return dict(event)


def test_the_candidate_flow_uploads_and_both_sockets_pass_through_nginx(
    proxy: Proxy, factory: Factory
) -> None:
    proctor_user = factory.user(Role.PROCTOR)
    exam = factory.exam()
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    take = f"/api/v1/take/{candidate.invite_token}/sessions/{session.id}"
    with proxy.browser(COLLEAGUE) as staff, proxy.browser(GUESSER) as page:
        assert sign_in(staff, proctor_user.email).status_code == 200
        cookies = "; ".join(f"{name}={value}" for name, value in staff.cookies.items())
        opened = page.get(f"/take/{candidate.invite_token}")
        assert opened.status_code == 200
        assert opened.headers["content-type"].startswith("text/html")

        async def scenario() -> None:
            async with proxy.socket(f"/ws/proctor/exams/{exam.id}", COLLEAGUE, cookies) as wall:
                await next_event(wall, "snapshot")
                async with proxy.socket(f"/ws/take/{candidate.invite_token}", GUESSER) as live:
                    assert json.loads(await live.recv())["type"] == "hello"
                    tile = await next_event(wall, "candidate")
                    assert tile["candidate"]["connected"] is True
                    message = {"body": "Through the proxy"}
                    sent = await asyncio.to_thread(page.post, f"{take}/messages", json=message)
                    assert sent.status_code in (200, 201), sent.text
                    heard = await next_event(wall, "conversation")
                    assert heard["message"]["body"] == "Through the proxy"

        asyncio.run(scenario())

        # The largest recording chunk the page sends passes; a body over the server's limit
        # is refused (by nginx, whose limit matches) and nothing of it is kept.
        chunk = os.urandom(MAX_CHUNK_BYTES)
        headers = {
            "Content-Type": "video/webm;codecs=vp8",
            "X-Recording-Part": "0",
            "X-Chunk-SHA256": hashlib.sha256(chunk).hexdigest(),
        }
        uploaded = page.put(f"{take}/recordings/webcam/chunks/0", content=chunk, headers=headers)
        assert uploaded.status_code == 201, uploaded.text
        too_big = os.urandom(proxy.settings.max_body_bytes + 1)
        refused = page.put(f"{take}/recordings/webcam/chunks/1", content=too_big, headers=headers)
        assert refused.status_code == 413
        [stream] = page.get(f"{take}/recordings").json()["streams"]
        assert stream["chunks"] == 1

    # Plain HTTP only redirects to HTTPS.
    with httpx2.Client() as plain:
        redirected = plain.get(f"{proxy.redirect_url}/take/{candidate.invite_token}")
    assert redirected.status_code == 301
    assert redirected.headers["location"] == f"https://127.0.0.1/take/{candidate.invite_token}"
    # Both nodes served (requests and sockets go to either); "-" is what nginx answered itself.
    log = (proxy.log_dir / "nodes.log").read_text().splitlines()
    assert {line.split()[1] for line in log} == {*proxy.nodes, "-"}


def test_one_clients_failed_logins_do_not_lock_another_behind_the_proxy(
    proxy: Proxy, factory: Factory
) -> None:
    admin = factory.user(Role.ADMIN)
    with proxy.browser(GUESSER) as guesser, proxy.browser(COLLEAGUE) as colleague:
        # Different emails each time: only the address's limit can lock the guesser.
        for attempt in range(proxy.settings.login_max_failures * IP_FAILURE_FACTOR):
            failed = sign_in(guesser, f"guess-{attempt}@example.com", "wrong password")
            assert failed.status_code == 401, failed.text
        assert sign_in(guesser, admin.email).status_code == 429
        # An X-Forwarded-For the client writes itself is not believed: nginx replaces it.
        spoofed = guesser.post(
            "/api/v1/auth/login",
            json={"email": admin.email, "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert spoofed.status_code == 429
        assert sign_in(colleague, admin.email).status_code == 200
    seen = factory.db.scalars(select(StaffSession.client_ip)).all()
    assert seen == [COLLEAGUE]
    tried_from = set(factory.db.scalars(select(LoginAttempt.client_ip)))
    assert tried_from == {GUESSER, COLLEAGUE}
