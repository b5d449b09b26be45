"""Real servers for tests: PostgreSQL from Debian's packages, started in a temp directory."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _postgres_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if not candidates:
        raise RuntimeError(
            "PostgreSQL is not installed: run `make test`, which installs Debian's postgresql"
        )
    return Path(candidates[0])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root, so root runs it as the postgres system user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a URL of a fresh, trusted-local PostgreSQL server; stops and deletes it after."""
    bin_dir = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="openproctor-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def wait_for_port(port: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout_s} s")


class RedisServer:
    """A throwaway redis-server on a free loopback port, without persistence; restartable."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make test`, which installs it")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process = subprocess.Popen(
            [self.binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port)
        return process

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def restart(self) -> None:
        """Stops and starts again on the same port, with everything it held gone."""
        self.stop()
        self.process = self._start()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def turn_server(secret: str) -> Iterator[str]:
    """coturn's turnserver on loopback, checking TURN REST API credentials made with `secret`
    (as OPENPROCTOR_TURN_SECRET makes them), relaying between loopback peers, without TLS;
    yields its turn: URL."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError("coturn is not installed: run `make test`, which installs it")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "-n",  # no configuration file: only these options
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            "--realm=openproctor.test",
            "--allow-loopback-peers",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--fingerprint",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"turn:127.0.0.1:{port}?transport=udp"
    finally:
        process.terminate()
        process.wait(10)


# nginx's own user in Debian: root starts the test's nginx as this user, as a real one runs.
NGINX_USER = "www-data"


@contextmanager
def nginx_server(
    site: str, ports: list[int], files: Mapping[str, bytes], http_context: str = ""
) -> Iterator[Path]:
    """Debian's nginx, not as root, serving `site` (a file for conf.d, read inside http {})
    with `http_context` added before it. `files` are written beside it (relative paths in
    the site name them) and every file nginx writes stays there, in a temp directory that it
    yields (its error.log says why a test's request failed)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed: run `make test`, which installs nginx-light")
    root = Path(tempfile.mkdtemp(prefix="openproctor-nginx-"))
    (root / "site.conf").write_text(site)
    for name, content in files.items():
        (root / name).write_bytes(content)
    temp_paths = "\n".join(
        f"    {kind}_temp_path {root}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    (root / "nginx.conf").write_text(
        f"""daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log info;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log {root}/access.log;
{temp_paths}
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    {http_context}
    include {root}/site.conf;
}}
"""
    )
    command = [binary, "-p", str(root), "-e", str(root / "error.log"), "-c", "nginx.conf"]
    if os.geteuid() == 0:
        shutil.chown(root, NGINX_USER, NGINX_USER)
        command = ["runuser", "-u", NGINX_USER, "--", *command]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx refused its configuration:\n{checked.stderr}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for port in ports:
            wait_for_port(port)
        yield root
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
