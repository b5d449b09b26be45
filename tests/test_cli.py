"""The openproctor command, run as a user would: a real process with OPENPROCTOR_* set."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from websockets.asyncio.client import connect

from openproctor.app import create_app
from openproctor.db import make_engine
from openproctor.domains.exams.policy import ViolationKind
from openproctor.domains.objects.models import ObjectPurpose, StoredObject
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role, StaffSession
from openproctor.domains.violations.models import Violation
from openproctor.settings import Settings, load_settings
from openproctor.storage import open_store
from openproctor.tools.loadtest.server import local_server
from tests.conftest import PASSWORD, Factory, login_with, logout
from tests.domains.test_recordings import split, webm
from tests.live.clients import ONE_FACE, running_session, staff_cookie, stream, ws_url
from tests.servers import free_port, wait_for_port


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
        logout(client)
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


def test_serve_refuses_the_old_proxy_variable_rather_than_ignore_it(tmp_path: Path) -> None:
    env = {"OPENPROCTOR_DATA_DIR": str(tmp_path), "FORWARDED_ALLOW_IPS": "10.0.0.5"}
    result = run(["serve", "--port", str(free_port())], env)
    assert result.returncode == 1
    assert "replaced by OPENPROCTOR_TRUSTED_PROXIES: set that instead" in result.stderr


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
        serve = ["serve", "--port", str(port)]
        with (tmp_path / "serve.log").open("a") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "openproctor.cli", *serve],
                env={**os.environ, **env, "OPENPROCTOR_TRUSTED_PROXIES": proxies},
                stdout=log,
                stderr=log,
            )
        try:
            proxied = {"X-Forwarded-For": "203.0.113.7"}  # what a proxy adds
            base_url = f"http://127.0.0.1:{port}"
            # Signing in hashes with argon2: slow on a loaded machine, beyond httpx's 5 s.
            with httpx.Client(base_url=base_url, headers=proxied, timeout=30) as http:
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


class Server:
    """`openproctor serve` as an operator runs it: its own process group, so that what it
    leaves behind after a kill -9 (its analysis workers) can be ended at the end."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "openproctor.cli", "serve", "--port", str(port)],
                env={**os.environ, **env},
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        wait_for_port(port, timeout_s=120)
        with httpx2.Client(base_url=self.base_url) as http:
            deadline = time.monotonic() + 120
            while http.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)

    def kill_9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def end(self) -> None:
        """Stops the server and anything left of its process group."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.mark.analysis
@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_kill_9_mid_exam_keeps_answers_violations_evidence_and_chunks(
    settings: Settings, factory: Factory, tmp_path: Path
) -> None:
    """A candidate with saved answers, an open violation with its evidence and uploaded
    recording chunks; the server gets kill -9 and is started again: all of it is there and
    the candidate carries on and finishes."""
    exam = factory.exam(
        questions=[
            {"prompt": "1 + 1?", "choices": ["1", "2"], "answer": 1},
            {"prompt": "2 + 2?", "choices": ["4", "5"], "answer": 0},
        ]
    )
    proctor_user = factory.user(Role.PROCTOR)
    candidate = factory.candidate(exam, proctor_user)
    session = running_session(factory, candidate)
    token = candidate.invite_token
    port = free_port()
    env = {
        "OPENPROCTOR_ENV": "test",
        "OPENPROCTOR_DATA_DIR": str(settings.data_dir),
        "OPENPROCTOR_DATABASE_URL": settings.resolved_database_url,
        "OPENPROCTOR_ANALYSIS_WORKERS": "1",
        "OPENPROCTOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    store = open_store(settings.resolved_storage_url)
    chunks = split(webm(4.0), 4)
    take = f"/api/v1/take/{token}/sessions/{session.id}"

    def upload(http: httpx2.Client, csrf: str, index: int) -> None:
        response = http.put(
            f"{take}/recordings/webcam/chunks/{index}",
            content=chunks[index],
            headers={
                "Content-Type": "video/webm;codecs=vp8",
                "X-Chunk-SHA256": hashlib.sha256(chunks[index]).hexdigest(),
                "X-CSRF-Token": csrf,
            },
        )
        assert response.status_code == 201, response.text

    def violation_with_evidence() -> tuple[Violation, StoredObject] | None:
        factory.db.expire_all()
        row = factory.db.execute(
            select(Violation, StoredObject)
            .join(StoredObject, StoredObject.violation_id == Violation.id)
            .where(
                Violation.kind == ViolationKind.TAB_SWITCH,
                StoredObject.purpose == ObjectPurpose.EVIDENCE,
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def before_the_crash(server: Server) -> None:
        url = ws_url(server.base_url, f"/ws/take/{token}")
        async with connect(url) as socket:
            assert json.loads(await socket.recv())["type"] == "hello"
            seq = await stream(socket, ONE_FACE, 2.0, 0)  # a frame analysed: evidence to keep
            await socket.send(json.dumps({"type": "signal", "name": "tab_hidden"}))
            deadline = time.monotonic() + 30
            while violation_with_evidence() is None:
                assert time.monotonic() < deadline, "no tab_switch violation with evidence"
                seq = await stream(socket, ONE_FACE, 0.5, seq)
            server.kill_9()  # with the socket open and the violation open

    first = Server(env, port, tmp_path / "serve.log")
    try:
        with httpx2.Client(base_url=first.base_url) as http:
            csrf = http.get("/api/v1/auth/csrf").json()["csrf_token"]
            saved = http.put(
                f"{take}/answers", json={"answers": {"0": 1}}, headers={"X-CSRF-Token": csrf}
            )
            assert saved.status_code == 200, saved.text
            for index in range(3):
                upload(http, csrf, index)
        asyncio.run(before_the_crash(first))
    finally:
        first.end()

    # What the crash left: the answers, the open violation, its evidence and three chunks.
    kept = violation_with_evidence()
    assert kept is not None
    violation, evidence = kept
    assert violation.ended_at is None
    assert hashlib.sha256(store.get(evidence.storage_key)).hexdigest() == evidence.sha256
    stored_chunks = factory.db.scalars(
        select(StoredObject)
        .where(StoredObject.purpose == ObjectPurpose.RECORDING_CHUNK)
        .order_by(StoredObject.chunk_index)
    ).all()
    assert [store.get(c.storage_key) for c in stored_chunks] == chunks[:3]
    factory.db.expire_all()
    crashed = factory.db.get(ExamSession, session.id)
    assert crashed is not None
    assert (crashed.state, crashed.answers) == (SessionState.RUNNING, {"0": 1})

    second = Server(env, port, tmp_path / "serve.log")
    try:
        with httpx2.Client(base_url=second.base_url) as http:
            csrf = http.get("/api/v1/auth/csrf").json()["csrf_token"]
            view = http.get(f"/api/v1/take/{token}").json()
            assert (view["session"]["state"], view["answers"]) == ("running", {"0": 1})
            status = http.get(f"{take}/recordings").json()["streams"][0]
            assert status["received"] == [0, 1, 2], status
            upload(http, csrf, 3)

            async def reconnect() -> None:
                async with connect(ws_url(second.base_url, f"/ws/take/{token}")) as socket:
                    assert json.loads(await socket.recv())["state"] == "running"

            asyncio.run(reconnect())
            submitted = http.post(
                f"{take}/submit", json={"answers": {"1": 0}}, headers={"X-CSRF-Token": csrf}
            )
            assert submitted.status_code == 200, submitted.text
            done = http.post(
                f"{take}/recordings/webcam/complete",
                json={"chunks": 4, "recorded_s": 4.0},
                headers={"X-CSRF-Token": csrf},
            )
            assert done.status_code == 200, done.text
            http.cookies.update(staff_cookie(second.base_url, proctor_user)[0])
            image = http.get(f"/api/v1/evidence/{evidence.id}")
            assert image.status_code == 200
            assert image.content == store.get(evidence.storage_key)
            deadline = time.monotonic() + 60
            recordings = f"/api/v1/sessions/{session.id}/recordings"
            while not (recording := http.get(recordings).json()[0])["ready"]:
                assert time.monotonic() < deadline, recording
                time.sleep(0.5)
            assert (recording["missing_chunks"], recording["error"]) == ([], None), recording
    finally:
        second.end()
    factory.db.expire_all()
    finished = factory.db.get(ExamSession, session.id)
    assert finished is not None
    assert (finished.state, finished.answers) == (SessionState.SUBMITTED, {"0": 1, "1": 0})
    assert finished.score == 2
