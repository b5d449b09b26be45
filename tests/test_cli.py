"""The openproctor command, run as a user would: a real process with OPENPROCTOR_* set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.app import create_app
from openproctor.db import make_engine
from openproctor.domains.users.models import StaffSession
from openproctor.loadtest import local_server
from openproctor.settings import load_settings
from tests.conftest import PASSWORD, login_with
from tests.servers import free_port


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openproctor.cli", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_is_idempotent_and_its_credentials_work(database_url: str, tmp_path: Path) -> None:
    env = {"OPENPROCTOR_DATA_DIR": str(tmp_path), "OPENPROCTOR_DATABASE_URL": database_url}
    first = run(["demo", "--json"], env)
    assert first.returncode == 0, first.stderr
    second = run(["demo", "--json"], env)
    assert second.returncode == 0, second.stderr
    info, again = json.loads(first.stdout), json.loads(second.stdout)
    assert info == again
    for key in (
        "base_url",
        "exam_id",
        "candidate_url",
        "proctor_url",
        "proctor_email",
        "proctor_password",
        "admin_email",
        "admin_password",
    ):
        assert info[key], key
    assert info["candidate_url"].startswith(info["base_url"] + "/take/")

    settings = load_settings(data_dir=tmp_path, database_url=database_url, analysis_workers=0)
    app = create_app(settings)
    with TestClient(app) as client:
        login_with(client, info["proctor_email"], info["proctor_password"])
        sessions = client.get(f"/api/v1/exams/{info['exam_id']}/candidates").json()
        assert [c["email"] for c in sessions] == ["candidate@demo.example.com"]
        assert client.get(info["proctor_url"].removeprefix(info["base_url"])).status_code == 200
        client.post("/api/v1/auth/logout")
        login_with(client, info["admin_email"], info["admin_password"])
        assert client.get(f"/admin/exams/{info['exam_id']}").status_code == 200
        candidate = client.get(info["candidate_url"].removeprefix(info["base_url"]))
        assert candidate.status_code == 200
        assert 'data-testid="consent"' in candidate.text
    app.state.context.engine.dispose()


def test_user_create_and_its_errors(database_url: str, tmp_path: Path) -> None:
    env = {"OPENPROCTOR_DATA_DIR": str(tmp_path), "OPENPROCTOR_DATABASE_URL": database_url}
    args = ["user", "create", "--email", "Rita@Example.com", "--name", "Rita", "--role", "reviewer"]
    created = run([*args, "--password", "a long password"], env)
    assert created.returncode == 0, created.stderr
    assert "created reviewer rita@example.com" in created.stdout
    again = run([*args, "--password", "a long password"], env)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    weak = run(
        [
            "user",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "admin",
            "--password",
            "short",
        ],
        env,
    )
    assert weak.returncode == 1
    assert "password" in weak.stderr
    prompted = run(
        ["user", "create", "--email", "p@example.com", "--name", "P", "--role", "proctor"],
        env,
        stdin="prompted password\nprompted password\n",
    )
    assert prompted.returncode == 0, prompted.stderr


def test_invalid_settings_stop_the_command_with_one_message(tmp_path: Path) -> None:
    result = run(
        ["migrate"],
        {"OPENPROCTOR_DATA_DIR": str(tmp_path), "OPENPROCTOR_DATABASE_URL": "mysql://x"},
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: invalid settings: OPENPROCTOR_DATABASE_URL: Value error, must start with "
        "sqlite:// or postgresql://"
    ]


def test_migrate_creates_the_sqlite_database(tmp_path: Path) -> None:
    result = run(["migrate"], {"OPENPROCTOR_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "openproctor.db").exists()


def test_serve_takes_client_addresses_only_from_the_listed_proxies(tmp_path: Path) -> None:
    env = {"OPENPROCTOR_DATA_DIR": str(tmp_path), "OPENPROCTOR_ANALYSIS_WORKERS": "0"}
    assert run(["migrate"], env).returncode == 0
    args = ["user", "create", "--email", "a@example.com", "--name", "A", "--role", "admin"]
    assert run([*args, "--password", PASSWORD], env).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'openproctor.db'}")
    # 127.0.0.1 (this test) is uvicorn's default proxy: listing only another host must stop
    # trusting it, and a proxy that is listed hands on the client's address.
    for proxies, seen_as in (("10.9.9.9", "127.0.0.1"), ("127.0.0.1,10.9.9.9", "203.0.113.7")):
        port = free_port()
        serve = ["serve", "--port", str(port), "--forwarded-allow-ips", proxies]
        with (tmp_path / "serve.log").open("a") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "openproctor.cli", *serve],
                env={**os.environ, **env},
                stdout=log,
                stderr=log,
            )
        try:
            proxied = {"X-Forwarded-For": "203.0.113.7"}  # what a proxy adds
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=proxied) as http:
                _wait_until_up(http, server)
                csrf = http.get("/api/v1/auth/csrf").json()["csrf_token"]
                body = {"email": "a@example.com", "password": PASSWORD}
                signed_in = http.post(
                    "/api/v1/auth/login", json=body, headers={"X-CSRF-Token": csrf}
                )
                assert signed_in.status_code == 200, signed_in.text
        finally:
            server.terminate()
            server.wait(30)
        with engine.connect() as db:
            latest = select(StaffSession.client_ip).order_by(StaffSession.created_at.desc())
            assert db.scalars(latest).first() == seen_as, proxies
    engine.dispose()


def _wait_until_up(http: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "openproctor serve stopped; see serve.log"
        with contextlib.suppress(httpx.TransportError):
            if http.get("/healthz").status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError("openproctor serve did not answer within 60 s")


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    queue = list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.add(child)
        queue += children.get(child, [])
    return found


def _running(pid: int) -> bool:
    """A zombie has ended; it only waits for its new parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.analysis
def test_kill_9_of_the_server_leaves_no_worker_or_tracker_behind(model_dir: Path) -> None:
    children: set[int] = set()

    async def scenario() -> None:
        async with local_server(model_dir, workers=2) as server:
            assert server.process is not None
            children.update(_descendants(server.process.pid))
            commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children]
            assert sum(b"resource_tracker" in command for command in commands) == 1
            assert sum(b"spawn_main" in command for command in commands) == 2
            server.process.kill()
            server.process.wait()
            deadline = time.monotonic() + 5
            while any(map(_running, children)) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)

    try:
        asyncio.run(scenario())
        survivors = {
            pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children if _running(pid)
        }
        assert not survivors, f"still running 5 s after the server was killed: {survivors}"
    finally:
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
